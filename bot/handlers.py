"""Command and button handlers: decide, modify, stop/resume, status, positions, pending, report, help, errors."""

from __future__ import annotations

import logging
import re
from datetime import date

from telegram import Update
from telegram.error import BadRequest, NetworkError

from bot.desk import Desk, desk_of, on_desk, on_fresh_connection
from bot.jobs import send_daily_report
from bot.send import refresh_announcement, send_text
from bot.views import (
    StatusView,
    help_text,
    pending_text,
    positions_text,
    refusal_text,
    status_text,
    verdict_footer,
)
from signaldesk import signals
from signaldesk.approvals import ModificationError, decide, modify, parse_modification
from signaldesk.audit import record
from signaldesk.execution import emergency_stop, execute_signal
from signaldesk.report import last_ok_cycle, open_trades, previous_day
from signaldesk.risk import protection_lines, risk_snapshot
from signaldesk.state import halt, last_beat, resume, trading_state

log = logging.getLogger("bot.handlers")
# /approve_12, /reject_12@this_bot, /modify_12 size=0.001 … ; the id part is checked by hand to answer bad ids.
DECISION_COMMAND = re.compile(
    r"^/(approve|reject|modify)(?:_([^\s@]*))?(?:@(\w+))?(?:\s+(.*))?$", re.S | re.I
)
BUTTON = re.compile(r"^(approve|reject):(\d+)$")
VERDICT_OF = {"approve": signals.APPROVED, "reject": signals.REJECTED}
HALT_NOTICES = (
    "Trading halted;",
    "Trading was already halted.",
)  # emergency_stop's own words on the halt
MODIFY_EXAMPLE = "/modify_12 size=0.002 entry=9900000 stop=9800000 tp1=10000000 tp2=10100000"


def actor(update: Update) -> str:
    """Return the audit actor of an update: the user's numeric id."""
    return str(update.effective_user.id)


async def reply(update: Update, context, text: str) -> None:
    """Answer in the chat the update came from."""
    await send_text(context.bot, update.effective_chat.id, text)


async def settle(
    context, desk: Desk, verdict: str, signal_id: int, by: str, on_changed=None
) -> str:
    """Approve or reject by compare-and-set, execute an approval if possible, re-render; return the answer text."""
    now = desk.clock()
    decision = await on_desk(desk, decide, signal_id, verdict, by, now)
    if not decision.changed:
        return refusal_text(signal_id, decision.signal, now)
    if on_changed is not None:
        await on_changed(decision.signal)
    signal, detail = decision.signal, ""
    if verdict == signals.APPROVED:
        signal, detail = await execute(desk, signal)
    footer = verdict_footer(signal, detail)
    await refresh_announcement(context.bot, desk, signal, footer)
    return footer


async def execute(desk: Desk, signal):
    """Turn an approved signal into an order; return the reloaded signal and what happened."""
    try:
        outcome = await on_desk(
            desk, execute_signal, desk.exchange, desk.settings, signal.id, desk.clock()
        )
    except Exception as exc:  # the approval stands; the person must hear that the order step broke
        log.exception("execute_signal(%s) raised", signal.id)
        return (
            signal,
            f"execution raised {type(exc).__name__}; the signal stays APPROVED — see the bot log",
        )
    signal = await on_desk(desk, signals.load, signal.id)
    parts = [f"{outcome.status}" + (f" trade #{outcome.trade_id}" if outcome.trade_id else "")]
    parts += [p for p in (outcome.reason, *outcome.notices) if p]
    return signal, "\n".join(parts)


async def on_button(update: Update, context) -> None:
    """Handle an Approve / Reject tap: decide, answer the tap at once, then execute and re-render."""
    query = update.callback_query
    action, signal_id = context.matches[0].group(1), int(context.matches[0].group(2))
    desk = desk_of(context)
    answered = False

    async def answer_now(signal) -> None:
        nonlocal answered
        answered = True
        await query.answer(f"Signal #{signal.id} {VERDICT_OF[action].lower()}")

    text = await settle(context, desk, VERDICT_OF[action], signal_id, actor(update), answer_now)
    if not answered:
        await query.answer(_plain(text)[:200], show_alert=True)


def _plain(text: str) -> str:
    return (
        re.sub(r"<[^>]+>", "", text).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    )


async def on_unknown_button(update: Update, context) -> None:
    """Answer a tap whose data this bot does not know (clients can send anything)."""
    await update.callback_query.answer("Unknown button; nothing changed.", show_alert=True)


async def on_decision_command(update: Update, context) -> None:
    """Handle /approve_<id>, /reject_<id> and /modify_<id> typed as new messages."""
    action, raw_id, to, rest = context.matches[0].groups()
    if to and to.lower() != (context.bot.username or "").lower():
        return  # addressed to another bot in a group
    action = action.lower()
    if not raw_id or not raw_id.isdigit():
        await reply(
            update,
            context,
            f"/{action}_… needs a numeric signal id, like /{action}_12. Nothing changed.",
        )
        return
    desk = desk_of(context)
    if action == "modify":
        await reply(
            update,
            context,
            await modify_signal(context, desk, int(raw_id), rest or "", actor(update)),
        )
        return
    await reply(
        update, context, await settle(context, desk, VERDICT_OF[action], int(raw_id), actor(update))
    )


async def modify_signal(context, desk: Desk, signal_id: int, text: str, by: str) -> str:
    """Apply /modify_<id> changes within the risk rules and re-render the still-pending message; return the answer."""
    now = desk.clock()
    try:
        changes = parse_modification(text)
        decision = await on_desk(desk, modify, signal_id, changes, by, now)
    except ModificationError as exc:
        return f"/modify_{signal_id}: {exc}. Nothing changed. Example: {MODIFY_EXAMPLE}"
    if not decision.changed:
        return refusal_text(signal_id, decision.signal, now)
    s = decision.signal
    await refresh_announcement(context.bot, desk, s)
    return (
        f"Signal #{s.id} modified: entry {s.entry_price} · stop {s.stop_loss} · TP {s.take_profit_1}/"
        f"{s.take_profit_2} · size {s.size} · risk ¥{s.risk_jpy}. Still pending: /approve_{s.id} /reject_{s.id}"
    )


async def on_stop(update: Update, context) -> None:
    """Emergency stop: halt at once, cancel resting entry orders, flatten if asked, and say what was done."""
    args = [a.lower() for a in context.args]
    if args not in ([], ["flatten"]):
        await reply(
            update,
            context,
            "Usage: /stop (halt, keep positions) or /stop flatten (halt and close them). "
            "Nothing changed.",
        )
        return
    desk, by, flatten = desk_of(context), actor(update), bool(args)
    halted_now = await on_fresh_connection(desk, halt, f"/stop by {by}", desk.clock(), by)
    report = await on_desk(
        desk, emergency_stop, desk.exchange, desk.settings, desk.clock(), by, flatten
    )
    lines = [
        "⛔ Trading halted."
        if halted_now or report.halted_now
        else "⛔ Trading was already halted."
    ]
    lines += stop_lines(report, flatten)
    detail = {
        "flatten": flatten,
        "halted_now": halted_now,
        "cancelled_orders": list(report.cancelled_orders),
        "flattened_trades": list(report.flattened_trades),
    }
    await on_desk(desk, record, "stop_command", by, detail, desk.clock())
    lines.append("/resume lifts the halt.")
    await reply(update, context, "\n".join(lines))


def stop_lines(report, flatten: bool) -> list[str]:
    """Return what /stop did to orders and positions (the halt itself is said on the first line)."""
    lines = [f"Cancelled orders: {', '.join(f'#{i}' for i in report.cancelled_orders) or 'none'}."]
    if flatten:
        lines.append(
            f"Flattened trades: {', '.join(f'#{i}' for i in report.flattened_trades) or 'none'}."
        )
    else:
        lines.append("Positions kept (use /stop flatten to close them).")
    return lines + [n for n in report.notices if not n.startswith(HALT_NOTICES)]


async def on_resume(update: Update, context) -> None:
    """Lift a halt."""
    desk = desk_of(context)
    changed = await on_desk(desk, resume, desk.clock(), actor(update))
    await reply(
        update,
        context,
        "▶️ Trading resumed." if changed else "Trading was not halted; nothing changed.",
    )


def gather_status(db, desk: Desk, now) -> StatusView:
    """Collect what /status shows (runs in a worker thread)."""
    state, cycle, listener = trading_state(db), last_ok_cycle(db), last_beat(db, "listener")
    common = dict(
        mode=desk.settings.mode,
        halted=state.halted,
        halt_reason=state.reason,
        last_cycle_at=cycle,
        listener_beat_at=listener,
        now=now,
    )
    s = risk_snapshot(db, desk.exchange, desk.settings, now)
    return StatusView(
        **common,
        equity_jpy=s.equity_jpy,
        open_positions=len(s.open_positions),
        unrealised_jpy=s.unrealised_jpy,
        pnl_day_jpy=s.pnl_day_jpy,
        trades_today=s.trades_today,
        budget_day_left_jpy=s.budget_day_left_jpy,
        budget_week_left_jpy=s.budget_week_left_jpy,
        budget_month_left_jpy=s.budget_month_left_jpy,
        note="\n".join(protection_lines(s, desk.settings.risk)),
    )


async def on_status(update: Update, context) -> None:
    """Show mode, halt, equity, P/L, risk budget, last cycle and listener health."""
    desk = desk_of(context)
    view = await on_desk(desk, gather_status, desk, desk.clock())
    await reply(update, context, status_text(view))


async def on_positions(update: Update, context) -> None:
    """List open trades."""
    desk = desk_of(context)
    await reply(update, context, positions_text(await on_desk(desk, open_trades)))


async def on_pending(update: Update, context) -> None:
    """List signals waiting for a decision."""
    desk = desk_of(context)
    now = desk.clock()
    await reply(update, context, pending_text(await on_desk(desk, signals.pending, now), now))


async def on_report(update: Update, context) -> None:
    """Send the report of the previous JST day, or of the day given as YYYY-MM-DD (a finished day)."""
    desk = desk_of(context)
    tz = desk.settings.report.tz
    latest = previous_day(desk.clock(), tz)
    try:
        day = date.fromisoformat(context.args[0]) if context.args else latest
    except ValueError:
        day = None
    if len(context.args) > 1 or day is None or day > latest:
        await reply(
            update,
            context,
            f"Usage: /report or /report YYYY-MM-DD (a finished day, {latest} or earlier).",
        )
        return
    await send_daily_report(context.bot, desk, day)


async def on_help(update: Update, context) -> None:
    """List the commands."""
    await reply(update, context, help_text())


async def on_unknown_command(update: Update, context) -> None:
    """Point an unknown command at /help (commands addressed to another bot are not ours to answer)."""
    command = update.effective_message.text.split()[0]
    if "@" in command and command.split("@", 1)[1].lower() != (context.bot.username or "").lower():
        return
    await reply(update, context, "I do not know that command; /help lists what I understand.")


async def on_error(update: object, context) -> None:
    """Log the error first, then tell the operator briefly (not for network errors: the message would fail too)."""
    log.error("error while handling %s", type(update).__name__, exc_info=context.error)
    network = isinstance(context.error, NetworkError) and not isinstance(context.error, BadRequest)
    if network or not isinstance(update, Update):
        return
    desk = desk_of(context)
    try:
        await context.bot.send_message(
            desk.settings.telegram_chat_id,
            f"⚠️ Something went wrong ({type(context.error).__name__}); "
            "details are in the bot log. Check /status.",
        )
    except Exception:  # the error handler must not raise
        log.exception("could not tell the operator about the error")
