"""Command and button handlers: decide, modify, stop/resume, close, status, positions, pending,
report, help.

Handlers record what changed and queue the rest: exchange work on the desk's lane, messages on its
reply queue. Every tap is answered in a `finally`; every bad input gets a specific answer and
changes nothing.
"""

from __future__ import annotations

import logging
import re
from datetime import date
from decimal import Decimal
from functools import partial
from html import escape

from telegram import Update
from telegram.error import BadRequest, NetworkError

from bot.confirm import BUTTON as CONFIRM_BUTTON
from bot.confirm import Confirmations, confirm_keyboard
from bot.decisions import VERDICT_OF, BadInput, Settled, TapAnswer, follow_up, parse_id, settle
from bot.desk import Desk, desk_of, on_desk, on_exchange, on_fresh_connection
from bot.jobs import send_daily_report
from bot.recovery import finish_pending_stop, forgive_stop, owe_stop, report_stop
from bot.send import refresh_announcement, send_text
from bot.views import (
    CONFIRM_WORDS,
    NOT_HALTED,
    RESUMED,
    STOP_USAGE,
    UNKNOWN_COMMAND,
    StatusView,
    bad_button_text,
    close_failed,
    close_prompt,
    close_title,
    error_text,
    exchange_line,
    flatten_prompt,
    halted_text,
    help_text,
    modified_text,
    modify_refusal,
    not_open_text,
    notices_text,
    pending_text,
    positions_text,
    refusal_text,
    report_usage,
    status_text,
)
from signaldesk import signals
from signaldesk.approvals import ModificationError, modify, parse_modification
from signaldesk.audit import record
from signaldesk.clock import jst_day_start
from signaldesk.execution import close_trade
from signaldesk.execution.records import active_trades, load_trade
from signaldesk.model.registry import status_line
from signaldesk.report import open_trades, previous_day
from signaldesk.risk import pnl_events, protection_lines, risk_snapshot, trades_since
from signaldesk.runs import last_success
from signaldesk.state import halt, last_beat, resume, trading_state

log = logging.getLogger("bot.handlers")
# /approve_12, /reject_12@this_bot, /modify_12 size=0.001, /close_7 … ; ids are checked by hand to
# say what is wrong.
ID_COMMAND = re.compile(
    r"^/(approve|reject|modify|close)(?:_([^\s@]*))?(?:@(\w+))?(?:\s+(.*))?$", re.S | re.I
)
BUTTON = re.compile(r"^(approve|reject):(.*)$", re.S)
STATUS_EXCHANGE_WAIT = (
    1.0  # seconds /status waits for fresh exchange figures before showing what it knows
)


def actor(update: Update) -> str:
    """Return the audit actor of an update: the user's numeric id."""
    return str(update.effective_user.id)


def reply(update: Update, context, text: str, **kwargs) -> None:
    """Queue an answer in the chat the update came from."""
    desk = desk_of(context)
    desk.replies.put(partial(send_text, context.bot, update.effective_chat.id, text, **kwargs))


def confirmations(context) -> Confirmations:
    """Return the bot's open confirm requests."""
    return context.application.bot_data["confirmations"]


# ---- decisions -----------------------------------------------------------------------------------


async def on_button(update: Update, context) -> None:
    """Handle an Approve / Reject tap: decide, answer the tap at once; the card and the order
    follow."""
    query, desk = update.callback_query, desk_of(context)
    answer, settled = TapAnswer(query, desk, context.bot), Settled(bad_button_text(query.data))
    try:
        # Matched again here: PTB hands a tap without data to the first pattern handler
        # (matches=[True]).
        match = BUTTON.match(query.data or "")
        if match is None:
            return
        action, raw = match.groups()
        settled = await settle(
            desk, VERDICT_OF[action], parse_id(action, raw), actor(update), card=query.message
        )
    except BadInput as exc:
        settled = Settled(str(exc))
    finally:
        answer.give(settled.text, alert=settled.changed is None)
    follow_up(context.bot, desk, settled)


async def on_unknown_button(update: Update, context) -> None:
    """Answer a tap whose data this bot does not know or that carries none (clients can send
    anything)."""
    query = update.callback_query
    answer = TapAnswer(query, desk_of(context), context.bot)
    answer.give(bad_button_text(query.data), alert=True)


async def on_id_command(update: Update, context) -> None:
    """Handle /approve_<id>, /reject_<id>, /modify_<id> and /close_<id> typed as new messages."""
    action, raw_id, to, rest = context.matches[0].groups()
    if to and to.lower() != (context.bot.username or "").lower():
        return  # addressed to another bot in a group
    action = action.lower()
    try:
        item_id = parse_id(action, raw_id)
    except BadInput as exc:
        reply(update, context, str(exc))
        return
    desk = desk_of(context)
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
    now = desk.clock()
    try:
        changes = parse_modification(text)
        decision = await on_desk(desk, modify, signal_id, changes, by, now)
    except ModificationError as exc:
        return modify_refusal(signal_id, str(exc))
    if not decision.changed:
        return refusal_text(signal_id, decision.signal, now)
    desk.replies.put(partial(refresh_announcement, context.bot, desk, decision.signal))
    return modified_text(decision.signal)


# ---- stop, resume, close -------------------------------------------------------------------------


async def on_stop(update: Update, context) -> None:
    """Emergency stop: halt at once, then cancel resting entries on the lane; /stop flatten asks to
    confirm closing."""
    args = [a.lower() for a in context.args]
    if args not in ([], ["flatten"]):
        reply(update, context, STOP_USAGE)
        return
    desk, by, flatten = desk_of(context), actor(update), bool(args)
    now = desk.clock()
    reason = f"/stop by {by}" + (" (flatten)" if flatten else "")
    halted_now = await on_fresh_connection(desk, halt, reason, now, by)
    await on_desk(desk, owe_stop, False, by, now)
    await on_desk(
        desk, record, "stop_command", by, {"flatten": flatten, "halted_now": halted_now}, now
    )
    reply(update, context, halted_text(halted_now, flatten))
    queue_stop(context.application)
    if flatten:
        trades = await on_desk(desk, active_trades, desk.settings.mode)
        await ask(
            update,
            context,
            "flatten",
            flatten_prompt(len(trades), desk.settings.bot.confirm_seconds),
        )


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
        reply(update, context, not_open_text(trade_id))
        return
    await ask(
        update, context, "close", close_prompt(trade, desk.settings.bot.confirm_seconds), trade_id
    )


async def ask(update: Update, context, action: str, text: str, trade_id: int | None = None) -> None:
    """Open a confirm request and post its Confirm / Cancel buttons (sent at once: the buttons need
    the id)."""
    request = confirmations(context).ask(action, actor(update), trade_id)
    message = await send_text(
        context.bot, update.effective_chat.id, text, reply_markup=confirm_keyboard(request)
    )
    request.message_id = message.message_id


async def on_confirm_button(update: Update, context) -> None:
    """Handle Confirm / Cancel: act once, only from its own message and in time; answer the tap in
    any case."""
    query, desk = update.callback_query, desk_of(context)
    answer, text, request = TapAnswer(query, desk, context.bot), CONFIRM_WORDS["expired"], None
    # (the answer is given in the finally below, also when the data turns out to be no confirm
    # button)
    try:
        match = CONFIRM_BUTTON.match(query.data or "")
        if match is None:  # see on_button: a tap without data reaches pattern handlers too
            text = bad_button_text(query.data)
            return
        message_id = query.message.message_id if query.message else None
        outcome, request = confirmations(context).take(match.group(2), match.group(1), message_id)
        text = CONFIRM_WORDS[outcome]
        if request is not None:
            await carry_out(update, context, desk, request, outcome)
    finally:
        answer.give(text, alert=request is None)


async def carry_out(update: Update, context, desk: Desk, request, outcome: str) -> None:
    """Close the confirm message's buttons and, when confirmed, put the close on the lane."""
    message = update.callback_query.message
    chat = update.effective_chat.id
    desk.replies.put(
        partial(context.bot.edit_message_reply_markup, chat, message.message_id, reply_markup=None)
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
    desk.lane.submit(
        close_trade, desk.settings, request.trade_id, now, by,
        then=partial(report_close, context.bot, desk, request.trade_id),
    )  # fmt: skip


async def report_close(bot, desk: Desk, trade_id: int, notices, error) -> None:
    """Tell the trader what closing a trade did (or that the exchange did not take it)."""
    if error is not None:
        notices = [close_failed(trade_id, f"{type(error).__name__}: {error}")]
    text = notices_text(close_title(trade_id), notices)
    desk.replies.put(partial(send_text, bot, desk.settings.telegram_chat_id, text))


async def on_resume(update: Update, context) -> None:
    """Lift a halt."""
    desk = desk_of(context)
    await on_desk(desk, forgive_stop, desk.clock(), actor(update))
    changed = await on_desk(desk, resume, desk.clock(), actor(update))
    reply(update, context, RESUMED if changed else NOT_HALTED)


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
        model_line=status_line(db, desk.settings, now),
        open_positions=len(active_trades(db, mode)),
        pnl_day_jpy=sum((e.amount for e in today), Decimal(0)),
        trades_today=trades_since(db, mode, jst_day_start(now)),
    )


async def gather_status(desk: Desk, now) -> StatusView:
    """Collect /status: the database at once, the exchange's figures if the lane answers within a
    second."""
    known = await on_desk(desk, status_records, desk, now)
    unknown = dict(equity_jpy=None, unrealised_jpy=None, budget_day_left_jpy=None,
                   budget_week_left_jpy=None, budget_month_left_jpy=None)  # fmt: skip
    lines: list[str] = []  # the protections' state needs the exchange's equity
    try:
        if desk.lane.busy_since is not None:  # an order in flight: do not wait behind it
            raise TimeoutError("the exchange lane is busy")
        s = await on_exchange(desk, risk_snapshot, desk.settings, now, timeout=STATUS_EXCHANGE_WAIT)
    except Exception as exc:  # busy lane, maintenance, unreadable answer: show what the desk knows
        log.info("/status without exchange figures: %s", type(exc).__name__)
    else:
        known.update(open_positions=len(s.open_positions), pnl_day_jpy=s.pnl_day_jpy,
                     trades_today=s.trades_today)  # fmt: skip
        unknown = dict(equity_jpy=s.equity_jpy, unrealised_jpy=s.unrealised_jpy,
                       budget_day_left_jpy=s.budget_day_left_jpy,
                       budget_week_left_jpy=s.budget_week_left_jpy,
                       budget_month_left_jpy=s.budget_month_left_jpy)  # fmt: skip
        lines = [escape(line) for line in protection_lines(s, desk.settings.risk)]
    lines.append(exchange_line(desk.view, desk.lane.busy_since, now))
    return StatusView(**known, **unknown, note="\n".join(lines))


async def on_status(update: Update, context) -> None:
    """Show mode, halt, equity, P/L, risk budget, last cycle, listener health and whether the
    exchange answers."""
    desk = desk_of(context)
    reply(update, context, status_text(await gather_status(desk, desk.clock())))


async def on_positions(update: Update, context) -> None:
    """List open trades."""
    desk = desk_of(context)
    reply(update, context, positions_text(await on_desk(desk, open_trades)))


async def on_pending(update: Update, context) -> None:
    """List signals waiting for a decision."""
    desk = desk_of(context)
    now = desk.clock()
    reply(update, context, pending_text(await on_desk(desk, signals.pending, now), now))


async def on_report(update: Update, context) -> None:
    """Send the report of the previous JST day, or of the day given as YYYY-MM-DD (a finished day)."""
    desk = desk_of(context)
    latest = previous_day(desk.clock(), desk.settings.report.tz)
    try:
        day = date.fromisoformat(context.args[0]) if context.args else latest
    except ValueError:
        day = None
    if len(context.args) > 1 or day is None or day > latest:
        reply(update, context, report_usage(latest))
        return
    desk.replies.put(partial(send_daily_report, context.bot, desk, day))


async def on_help(update: Update, context) -> None:
    """List the commands."""
    reply(update, context, help_text())


async def on_unknown_command(update: Update, context) -> None:
    """Point an unknown command at /help (commands addressed to another bot are not ours to answer)."""
    command = update.effective_message.text.split()[0]
    if "@" in command and command.split("@", 1)[1].lower() != (context.bot.username or "").lower():
        return
    reply(update, context, UNKNOWN_COMMAND)


async def on_error(update: object, context) -> None:
    """Log the error first, then tell the operator briefly (not for network errors: the message would fail too)."""
    log.error("error while handling %s", type(update).__name__, exc_info=context.error)
    network = isinstance(context.error, NetworkError) and not isinstance(context.error, BadRequest)
    if network or not isinstance(update, Update):
        return
    desk = desk_of(context)
    try:
        await context.bot.send_message(
            desk.settings.telegram_chat_id, error_text(type(context.error).__name__)
        )
    except Exception:  # the error handler must not raise
        log.exception("could not tell the operator about the error")
