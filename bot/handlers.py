"""Command and button handlers: decide, modify, stop/resume, close, status, positions, pending,
report, settings, logs, version, configuration, help.

Handlers record what changed and queue the rest: exchange work on the desk's lane, messages on its
reply queue. Every tap is answered in a `finally`; every bad input gets a specific answer and
changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import date, datetime
from decimal import Decimal
from functools import partial

from telegram import CallbackQuery, Chat, Update, User
from telegram.error import BadRequest, NetworkError

from bot.confirm import BUTTON as CONFIRM_BUTTON
from bot.confirm import Confirmation, Confirmations, confirm_keyboard
from bot.decisions import (
    VERDICT_OF,
    BadInput,
    Settled,
    TapAnswer,
    follow_up,
    parse_id,
    remember_person,
    settle,
)
from bot.desk import Desk, desk_of, on_desk, on_exchange, on_fresh_connection
from bot.jobs import send_daily_report
from bot.recovery import finish_pending_stop, forgive_stop, owe_stop, report_stop
from bot.report_view import protection_lines
from bot.send import refresh_announcement, send_text
from bot.settings_view import config_text, logs_text, settings_text, version_text
from bot.trade_thread import show_notices, show_trade
from bot.views import (
    CONFIRM_WORDS,
    LOGS_USAGE,
    NOT_HALTED,
    RESUMED,
    STOP_USAGE,
    UNKNOWN_COMMAND,
    StatusView,
    bad_button_text,
    close_failed,
    close_prompt,
    error_text,
    exchange_line,
    flatten_prompt,
    halted_text,
    help_text,
    model_line,
    modified_text,
    modify_refusal,
    not_open_text,
    pending_text,
    positions_text,
    refusal_text,
    report_usage,
    status_text,
)
from signaldesk import people, signals
from signaldesk.approvals import ModificationError, modify, parse_modification
from signaldesk.audit import record
from signaldesk.clock import jst_day_start
from signaldesk.execution import close_trade
from signaldesk.execution.records import active_trades, load_trade
from signaldesk.i18n import Html
from signaldesk.logs import recent_problems
from signaldesk.model.registry import active_folder, active_name, describe
from signaldesk.report import open_trades, previous_day
from signaldesk.risk import RiskSnapshot, pnl_events, risk_snapshot, trades_since
from signaldesk.runs import last_success
from signaldesk.state import halt, last_beat, resume, trading_state

log = logging.getLogger("bot.handlers")
# /approve_12, /reject_12@this_bot, /modify_12 size=0.001, /close_7 … ; ids are checked by hand to
# say what is wrong.
ID_COMMAND = re.compile(
    r"^/(approve|reject|modify|close)(?:_([^\s@]*))?(?:@(\w+))?(?:\s+(.*))?$", re.S | re.I
)
BUTTON = re.compile(r"^(approve|reject):(.*)$", re.S)
CLOSE_BUTTON = re.compile(r"^close:(.*)$", re.S)
LOG_PROCESSES = ("bot", "cycle", "listener")
STATUS_EXCHANGE_WAIT = (
    1.0  # seconds /status waits for fresh exchange figures before showing what it knows
)


def sender(update: Update) -> User:
    """Return the person an update came from (the gate lets no update without one through)."""
    user = update.effective_user
    if user is None:
        raise ValueError(
            f"update {update.update_id} has no sender: the gate should have dropped it"
        )
    return user


def chat_of(update: Update) -> Chat:
    """Return the chat an update came from (the gate lets no update without one through)."""
    chat = update.effective_chat
    if chat is None:
        raise ValueError(f"update {update.update_id} has no chat: the gate should have dropped it")
    return chat


def tap_of(update: Update) -> CallbackQuery:
    """Return the button tap of an update (PTB routes only callback queries to button
    handlers)."""
    query = update.callback_query
    if query is None:
        raise ValueError(f"update {update.update_id} is no button tap")
    return query


def actor(update: Update) -> str:
    """Return the audit actor of an update: the user's numeric id."""
    return str(sender(update).id)


def reply(update: Update, context, text: str, **kwargs) -> None:
    """Queue an answer in the chat the update came from."""
    desk = desk_of(context)
    desk.replies.put(partial(send_text, context.bot, chat_of(update).id, text, **kwargs))


def confirmations(context) -> Confirmations:
    """Return the bot's open confirm requests."""
    return context.application.bot_data["confirmations"]


# ---- decisions -----------------------------------------------------------------------------------


async def on_button(update: Update, context) -> None:
    """Handle an Approve / Reject tap: decide, answer the tap at once; the card and the order
    follow."""
    query, desk = tap_of(update), desk_of(context)
    w = desk.words
    answer, settled = TapAnswer(query, desk, context.bot), Settled(bad_button_text(w, query.data))
    try:
        # Matched again here: PTB hands a tap without data to the first pattern handler
        # (matches=[True]).
        match = BUTTON.match(query.data or "")
        if match is None:
            return
        action, raw = match.groups()
        await remember_person(desk, update.effective_user)
        settled = await settle(
            desk, VERDICT_OF[action], parse_id(w, action, raw), actor(update), card=query.message
        )
    except BadInput as exc:
        settled = Settled(str(exc))
    finally:
        answer.give(settled.text, alert=settled.changed is None)
    follow_up(context.bot, desk, settled)


async def on_unknown_button(update: Update, context) -> None:
    """Answer a tap whose data this bot does not know or that carries none (clients can send
    anything)."""
    query, desk = tap_of(update), desk_of(context)
    answer = TapAnswer(query, desk, context.bot)
    answer.give(bad_button_text(desk.words, query.data), alert=True)


async def on_id_command(update: Update, context) -> None:
    """Handle /approve_<id>, /reject_<id>, /modify_<id> and /close_<id> typed as new messages."""
    action, raw_id, to, rest = context.matches[0].groups()
    if to and to.lower() != (context.bot.username or "").lower():
        return  # addressed to another bot in a group
    action, desk = action.lower(), desk_of(context)
    try:
        item_id = parse_id(desk.words, action, raw_id)
    except BadInput as exc:
        reply(update, context, str(exc))
        return
    await remember_person(desk, update.effective_user)
    if action == "modify":
        reply(
            update, context, await modify_signal(context, desk, item_id, rest or "", actor(update))
        )
    elif action == "close":
        await ask_close(update, context, desk, item_id)
    else:
        settled = await settle(desk, VERDICT_OF[action], item_id, actor(update))
        reply(update, context, settled.text)
        follow_up(context.bot, desk, settled)


async def modify_signal(context, desk: Desk, signal_id: int, text: str, by: str) -> str:
    """Apply /modify_<id> changes within the risk rules and re-render the still-pending card; return
    the answer."""
    now, w = desk.clock(), desk.words
    try:
        changes = parse_modification(text)
        decision = await on_desk(desk, modify, signal_id, changes, by, now)
    except ModificationError as exc:
        return modify_refusal(w, signal_id, str(exc))
    if not decision.changed:
        signal = decision.signal
        name = await on_desk(desk, people.name_of, signal.approved_by if signal else None)
        return refusal_text(w, signal_id, signal, name)
    desk.replies.put(partial(refresh_announcement, context.bot, desk, decision.signal))
    return modified_text(w, decision.signal)


# ---- stop, resume, close -------------------------------------------------------------------------


async def on_stop(update: Update, context) -> None:
    """Emergency stop: halt at once, then cancel resting entries on the lane; /stop flatten asks to
    confirm closing."""
    args, desk = [a.lower() for a in context.args], desk_of(context)
    if args not in ([], ["flatten"]):
        reply(update, context, desk.words.t(STOP_USAGE))
        return
    by, flatten, w = actor(update), bool(args), desk.words
    now = desk.clock()
    reason = f"/stop by {by}" + (" (flatten)" if flatten else "")
    halted_now = await on_fresh_connection(desk, halt, reason, now, by)
    await on_desk(desk, owe_stop, False, by, now)
    await on_desk(
        desk, record, "stop_command", by, {"flatten": flatten, "halted_now": halted_now}, now
    )
    reply(update, context, halted_text(w, halted_now, flatten))
    queue_stop(context.application)
    if flatten:
        trades = await on_desk(desk, active_trades, desk.settings.mode)
        prompt = flatten_prompt(w, len(trades), desk.settings.bot.confirm_seconds)
        await ask(update, context, "flatten", prompt)


def queue_stop(app) -> None:
    """Put /stop's exchange part (cancel resting entries, flatten if confirmed) on the lane."""
    desk: Desk = app.bot_data["desk"]
    desk.lane.submit(
        finish_pending_stop, desk.settings, desk.clock(), then=partial(report_stop, app)
    )


async def ask_close(update: Update, context, desk: Desk, trade_id: int) -> None:
    """Ask to confirm closing one open trade at market."""
    trade = await on_desk(desk, load_trade, trade_id)
    if trade is None or not trade.is_active:
        reply(update, context, not_open_text(desk.words, trade_id))
        return
    prompt = close_prompt(desk.words, trade, desk.settings.bot.confirm_seconds)
    await ask(update, context, "close", prompt, trade_id)


async def ask(update: Update, context, action: str, text: str, trade_id: int | None = None) -> None:
    """Open a confirm request and post its Confirm / Cancel buttons (sent at once: the buttons need
    the id)."""
    request = confirmations(context).ask(action, actor(update), trade_id)
    keyboard = confirm_keyboard(request, desk_of(context).words)
    message = await send_text(context.bot, chat_of(update).id, text, reply_markup=keyboard)
    request.message_id = message.message_id


async def on_confirm_button(update: Update, context) -> None:
    """Handle Confirm / Cancel: act once, only from its own message and in time; answer the tap in
    any case."""
    query, desk = tap_of(update), desk_of(context)
    w = desk.words
    answer, text, request = TapAnswer(query, desk, context.bot), w.t(CONFIRM_WORDS["expired"]), None
    # (the answer is given in the finally below, also when the data turns out to be no confirm
    # button)
    try:
        match = CONFIRM_BUTTON.match(query.data or "")
        if match is None:  # see on_button: a tap without data reaches pattern handlers too
            text = bad_button_text(w, query.data)
            return
        message_id = query.message.message_id if query.message else None
        outcome, request = confirmations(context).take(match.group(2), match.group(1), message_id)
        text = w.t(CONFIRM_WORDS[outcome])
        if request is not None:
            await carry_out(update, context, desk, request, outcome)
    finally:
        answer.give(text, alert=request is None)


async def carry_out(
    update: Update, context, desk: Desk, request: Confirmation, outcome: str
) -> None:
    """Close the confirm message's buttons and, when confirmed, put the close on the lane."""
    message_id = request.message_id  # the tapped message: `take` matched the two
    assert message_id is not None, "take() returns only a request whose message id matched the tap"
    chat = chat_of(update).id
    desk.replies.put(
        partial(context.bot.edit_message_reply_markup, chat, message_id, reply_markup=None)
    )
    if outcome != "confirmed":
        return
    now, by = desk.clock(), actor(update)
    await on_desk(
        desk, record, f"confirm_{request.action}", by, {"trade_id": request.trade_id}, now
    )
    if request.action == "flatten":
        await on_desk(desk, owe_stop, True, by, now)
        queue_stop(context.application)
        return
    submit_close(context, desk, request, now, by)


def submit_close(context, desk: Desk, request: Confirmation, now: datetime, by: str) -> None:
    """Put a confirmed close on the lane; what it did is told in the trade's thread."""
    trade_id = request.trade_id
    if trade_id is None:
        raise ValueError(f"confirm request {request.key} ({request.action}) names no trade")
    desk.lane.submit(
        close_trade, desk.settings, trade_id, now, by,
        then=partial(report_close, context.bot, desk, trade_id),
    )  # fmt: skip


async def report_close(bot, desk: Desk, trade_id: int, notices, error) -> None:
    """Tell the trader what closing a trade did in its thread (or that the exchange did not take
    it)."""
    if error is not None:
        text = close_failed(desk.words, trade_id, f"{type(error).__name__}: {error}")
        desk.replies.put(partial(send_text, bot, desk.chat_id, text))
        return
    desk.replies.put(partial(show_trade, bot, desk, trade_id, ("exit",)))
    await show_notices(bot, desk, [n for n in notices if getattr(n, "event", None) == "warning"])


async def on_close_button(update: Update, context) -> None:
    """Handle the Close button of a trade's status message: ask to confirm, like /close_<id>."""
    query, desk = tap_of(update), desk_of(context)
    answer = TapAnswer(query, desk, context.bot)
    text: str = bad_button_text(desk.words, query.data)
    try:
        match = CLOSE_BUTTON.match(query.data or "")
        if match is None:
            return
        trade_id = parse_id(desk.words, "close", match.group(1))
        await ask_close(update, context, desk, trade_id)
        text = desk.words.t("Confirm below to close trade #{id}.", id=trade_id)
    except BadInput as exc:
        text = str(exc)
    finally:
        answer.give(text)


async def on_resume(update: Update, context) -> None:
    """Lift a halt."""
    desk = desk_of(context)
    await on_desk(desk, forgive_stop, desk.clock(), actor(update))
    changed = await on_desk(desk, resume, desk.clock(), actor(update))
    reply(update, context, desk.words.t(RESUMED if changed else NOT_HALTED))


# ---- reading -------------------------------------------------------------------------------------


def status_records(db, desk: Desk, now) -> dict:
    """Collect what /status shows from the database alone (runs in a worker thread)."""
    state = trading_state(db)
    mode = desk.settings.mode
    today = pnl_events(db, mode, jst_day_start(now))
    return dict(
        mode=mode,
        halted=state.halted,
        halt_reason=state.reason,
        last_cycle_at=last_success(db, "cycle"),
        listener_beat_at=last_beat(db, "listener"),
        now=now,
        model_line=model_status(db, desk, now),
        open_positions=len(active_trades(db, mode)),
        pnl_day_jpy=sum((e.amount for e in today), Decimal(0)),
        trades_today=trades_since(db, mode, jst_day_start(now)),
    )


def model_status(db, desk: Desk, now) -> str:
    """Return the active model's line for /status and /version."""
    folder = active_folder(db, desk.settings)
    info = describe(folder)
    name = active_name(db, desk.settings)
    return model_line(desk.words, info, name, desk.settings.model_pinned, now)


async def gather_status(desk: Desk, now) -> StatusView:
    """Collect /status: the database at once, the exchange's figures if the lane answers within a
    second."""
    known = await on_desk(desk, status_records, desk, now)
    s: RiskSnapshot | None = None
    lines: list[Html] = []  # the protections' state needs the exchange's equity
    try:
        if desk.lane.busy_since is not None:  # an order in flight: do not wait behind it
            raise TimeoutError("the exchange lane is busy")
        s = await on_exchange(desk, risk_snapshot, desk.settings, now, timeout=STATUS_EXCHANGE_WAIT)
    except Exception as exc:  # busy lane, maintenance, unreadable answer: show what the desk knows
        log.info("/status without exchange figures: %s", type(exc).__name__)
    else:
        known.update(open_positions=len(s.open_positions), pnl_day_jpy=s.pnl_day_jpy,
                     trades_today=s.trades_today)  # fmt: skip
        lines = protection_lines(desk.words, s, desk.settings.risk)
    lines.append(exchange_line(desk.words, desk.view, desk.lane.busy_since, now))
    return StatusView(
        **known,
        equity_jpy=None if s is None else s.equity_jpy,
        unrealised_jpy=None if s is None else s.unrealised_jpy,
        budget_day_left_jpy=None if s is None else s.budget_day_left_jpy,
        budget_week_left_jpy=None if s is None else s.budget_week_left_jpy,
        budget_month_left_jpy=None if s is None else s.budget_month_left_jpy,
        note=Html("\n".join(lines)),
    )


async def on_status(update: Update, context) -> None:
    """Show mode, halt, equity, P/L, risk budget, last cycle, listener health and whether the
    exchange answers."""
    desk = desk_of(context)
    reply(update, context, status_text(desk.words, await gather_status(desk, desk.clock())))


async def on_positions(update: Update, context) -> None:
    """List open trades."""
    desk = desk_of(context)
    trades = await on_desk(desk, open_trades)
    reply(update, context, positions_text(desk.words, trades, desk.clock()))


async def on_pending(update: Update, context) -> None:
    """List signals waiting for a decision."""
    desk = desk_of(context)
    now = desk.clock()
    reply(update, context, pending_text(desk.words, await on_desk(desk, signals.pending, now), now))


async def on_report(update: Update, context) -> None:
    """Send the report of the previous JST day, or of the day given as YYYY-MM-DD (a finished
    day)."""
    desk = desk_of(context)
    latest = previous_day(desk.clock(), desk.settings.report.tz)
    try:
        day = date.fromisoformat(context.args[0]) if context.args else latest
    except ValueError:
        day = None
    if len(context.args) > 1 or day is None or day > latest:
        reply(update, context, report_usage(desk.words, latest))
        return
    desk.replies.put(partial(send_daily_report, context.bot, desk, day))


async def on_help(update: Update, context) -> None:
    """List the commands."""
    reply(update, context, help_text(desk_of(context).words))


async def on_settings(update: Update, context) -> None:
    """Show the language, the active and quiet hours and how each kind of message arrives."""
    desk = desk_of(context)
    reply(update, context, settings_text(desk.words, desk.settings))


async def on_show_config(update: Update, context) -> None:
    """Show the configuration in force (secrets only as set / not set)."""
    desk = desk_of(context)
    name = await on_desk(desk, active_name, desk.settings)
    reply(update, context, config_text(desk.words, desk.settings, name))


async def on_version(update: Update, context) -> None:
    """Show the desk's version, the libraries that talk to Telegram, the mode and the model."""
    desk = desk_of(context)
    line = await on_desk(desk, model_status, desk, desk.clock())
    reply(update, context, version_text(desk.words, versions(), desk.settings.mode, line))


def versions() -> dict:
    """Return the versions /version shows (the commit when the desk runs from a git checkout)."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    from signaldesk.settings import PROJECT_ROOT

    found = {"python": platform.python_version(), "commit": git_commit(PROJECT_ROOT)}
    for key, package in (("signaldesk", "signaldesk"), ("telegram", "python-telegram-bot")):
        try:
            found[key] = version(package)
        except PackageNotFoundError:
            found[key] = "?"
    return found


def git_commit(root) -> str:
    """Return the short commit of a git checkout, read from .git (no git process), or '?'."""
    git = root / ".git"
    try:
        if git.is_file():  # a worktree: "gitdir: <path>"
            git = root / git.read_text().split(":", 1)[1].strip()
        head = (git / "HEAD").read_text().strip()
        if head.startswith("ref: "):
            ref = head[5:]
            common = git / "commondir"
            base = (git / common.read_text().strip()).resolve() if common.is_file() else git
            for place in (git / ref, base / ref):
                if place.is_file():
                    return place.read_text().strip()[:10]
            packed = (base / "packed-refs").read_text().splitlines()
            return next(line[:10] for line in packed if line.endswith(" " + ref))
        return head[:10]
    except (OSError, IndexError, StopIteration):
        return "?"


async def on_logs(update: Update, context) -> None:
    """Show the last warnings and errors (/logs [n], 1-50; default 10)."""
    desk = desk_of(context)
    args = context.args
    if len(args) > 1 or (args and not (args[0].isascii() and args[0].isdigit()
                                       and 1 <= int(args[0]) <= 50)):  # fmt: skip
        reply(update, context, desk.words.t(LOGS_USAGE))
        return
    n = int(args[0]) if args else 10
    settings = desk.settings
    lines = await asyncio.to_thread(
        recent_problems, settings.log_dir, LOG_PROCESSES, n, settings.secrets()
    )
    reply(update, context, logs_text(desk.words, lines, desk.clock()))


async def on_unknown_command(update: Update, context) -> None:
    """Point an unknown command at /help (commands addressed to another bot are not ours to
    answer)."""
    message = update.effective_message
    text = message.text if message is not None else None
    if not text:  # PTB routes only new messages with a command here
        raise ValueError(f"update {update.update_id} carries no command text")
    command = text.split()[0]
    if "@" in command and command.split("@", 1)[1].lower() != (context.bot.username or "").lower():
        return
    reply(update, context, desk_of(context).words.t(UNKNOWN_COMMAND))


async def on_error(update: object, context) -> None:
    """Log the error first, then tell the operator briefly (not for network errors: the message
    would fail too)."""
    log.error("error while handling %s", type(update).__name__, exc_info=context.error)
    network = isinstance(context.error, NetworkError) and not isinstance(context.error, BadRequest)
    if network or not isinstance(update, Update):
        return
    desk = desk_of(context)
    try:
        await context.bot.send_message(
            desk.chat_id, error_text(desk.words, type(context.error).__name__)
        )
    except Exception:  # the error handler must not raise
        log.exception("could not tell the operator about the error")
