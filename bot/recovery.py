"""The signal row is the truth: after a restart, and whenever the exchange answers again, repair
what is owed.

At start-up, before any update is processed and without waiting for the exchange:
- announcement claims whose message id was never stored are released (the card is posted again);
- pending cards are re-rendered with their remaining time; decided signals whose answer never
  reached the trader (`told_status`) get their card edited and their outcome notice (the watch job
  keeps retrying);
- the repair goes on the exchange lane: reconcile orders and positions, execute each APPROVED signal
  that has no order if its window is open (fresh risk check) else mark it FAILED, finish a /stop
  whose cancellations never reached the exchange. If the exchange cannot be seen, the trader is told
  and the repair is retried with back-off while commands, alerts and /stop keep working.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

from bot.desk import Desk, on_desk
from bot.send import refresh_announcement, send_text, tell
from bot.trade_view import notice_text
from bot.views import (
    EXCHANGE_BACK,
    repair_raised_alert,
    stop_report_text,
    stop_unreached_text,
    unseen_alert,
)
from signaldesk import signals
from signaldesk.audit import audit_strangers
from signaldesk.clock import to_db
from signaldesk.exchange.errors import ExchangeError
from signaldesk.execution import emergency_stop, reconcile
from signaldesk.execution.entry import recover_approved
from signaldesk.i18n import plain_text
from signaldesk.outbox import queue_alert
from signaldesk.state import get_value, set_value

if TYPE_CHECKING:
    from signaldesk.execution.reconcile import ReconcileReport

log = logging.getLogger("bot.recovery")
STOP_PENDING = (
    "stop_pending"  # system_state key: "<plain|flatten>:<by>" while /stop's exchange part is owed
)


@dataclass(frozen=True)
class Repair:
    """What one repair found and did: reconciliation, recovered approvals, a finished /stop."""

    reconciled: ReconcileReport
    outcomes: list
    stop: tuple | None


def repair_desk(db, exchange, settings, now: datetime) -> Repair:
    """Reconcile with the exchange, then settle approvals that never got an order and an unfinished
    /stop.

    Raises ExchangeError when the exchange cannot be seen (nothing half-done: each step is
    idempotent).
    """
    reconciled = reconcile(db, exchange, settings, now)
    outcomes = recover_approved(db, exchange, settings, now)
    return Repair(reconciled, outcomes, finish_pending_stop(db, exchange, settings, now))


def finish_pending_stop(db, exchange, settings, now: datetime) -> tuple | None:
    """Run the exchange part of a /stop that is still owed; return (report, flatten) or None."""
    pending = get_value(db, STOP_PENDING) or ""
    if ":" not in pending:
        return None
    kind, by = pending.split(":", 1)
    report = emergency_stop(db, exchange, settings, now, by, kind == "flatten")
    set_value(db, STOP_PENDING, "", now, by)
    return report, kind == "flatten"


def forgive_stop(db, now: datetime, by: str) -> None:
    """Drop an owed /stop: the trader lifted the halt, so its cancellations must not happen
    later."""
    if get_value(db, STOP_PENDING):
        set_value(db, STOP_PENDING, "", now, by)


def owe_stop(db, flatten: bool, by: str, now: datetime) -> None:
    """Record that /stop's exchange part is owed (cleared once the exchange has done it)."""
    current = get_value(db, STOP_PENDING) or ""
    kind = "flatten" if flatten or current.startswith("flatten:") else "plain"
    set_value(db, STOP_PENDING, f"{kind}:{by}", now, by)


async def start_repair(app) -> None:
    """Repair cards and queue the exchange repair (start_desk calls it; nothing here waits for the
    exchange)."""
    desk: Desk = app.bot_data["desk"]
    released = await on_desk(desk, signals.release_unposted_claims)
    if released:
        log.warning("announcements of %s were cut off by a restart; posting them again", released)
    for signal in await on_desk(desk, signals.pending, desk.clock()):
        if signal.telegram_message_id:
            desk.replies.put(partial(refresh_announcement, app.bot, desk, signal))
    await queue_untold(app)
    submit_repair(app)


def submit_repair(app) -> None:
    """Queue one repair on the lane (at most one waits at a time)."""
    desk: Desk = app.bot_data["desk"]
    desk.lane.submit(
        repair_desk, desk.settings, desk.clock(), then=partial(after_repair, app), key="repair"
    )


async def after_repair(app, repair: Repair | None, error: BaseException | None) -> None:
    """Retry a repair the exchange kept from finishing; else report what it found and tell the
    outcomes."""
    desk: Desk = app.bot_data["desk"]
    if error is not None:
        await note_unseen(app, error)
        retry_later(app)
        return
    assert repair is not None, "the lane passes repair_desk's Repair to a job that raised nothing"
    desk.view.recovered()
    app.bot_data["repair_pause"] = desk.settings.bot.exchange_retry_seconds
    report, w = repair.reconciled, desk.words
    # recovered approvals are told as such; trade notices go to their threads
    lines = [
        *map(str, report.differences),
        *(plain_text(notice_text(w, n)) for n in report.notices),
    ]
    if lines:
        severity = "warning" if report.differences else "info"
        text = "\n".join([w.plain("Reconciliation with the exchange:"), *lines])
        await on_desk(desk, queue_alert, severity, "reconcile", text, desk.clock())
    if repair.stop is not None:
        tell_stop(app, *repair.stop)
    await watch_exchange(app, desk)
    await queue_untold(app)


async def note_unseen(app, error: BaseException) -> None:
    """Log why the repair failed; a failure that is not the exchange's is alerted at once."""
    desk: Desk = app.bot_data["desk"]
    if isinstance(error, ExchangeError):
        log.warning("repair waits for the exchange: %s", error)
        return
    log.error("repair raised %s: %s", type(error).__name__, error)
    text = plain_text(repair_raised_alert(desk.words, type(error).__name__, str(error)))
    await on_desk(desk, queue_alert, "critical", "repair", text, desk.clock())


def retry_later(app) -> None:
    """Schedule the next repair after the current pause (doubling up to its maximum), unless one is
    due."""
    if app.bot_data.get("repair_retry") is not None:
        return
    bot = app.bot_data["desk"].settings.bot
    pause = app.bot_data.get("repair_pause", bot.exchange_retry_seconds)
    app.bot_data["repair_pause"] = min(pause * 2, bot.exchange_retry_max_seconds)
    loop = asyncio.get_running_loop()
    app.bot_data["repair_retry"] = loop.call_later(pause, _retry, app)


def _retry(app) -> None:
    """Run a scheduled repair."""
    app.bot_data["repair_retry"] = None
    submit_repair(app)


async def queue_untold(app) -> None:
    """Queue the answer of every decided signal the trader has not been told (once per signal at a
    time)."""
    desk: Desk = app.bot_data["desk"]
    telling: set = app.bot_data.setdefault("telling", set())
    for signal in await on_desk(desk, signals.untold):
        if signal.id not in telling:
            telling.add(signal.id)
            desk.replies.put(partial(_tell_once, app, signal.id))


async def _tell_once(app, signal_id: int) -> None:
    """Tell one owed answer and release it for the next watch round."""
    desk: Desk = app.bot_data["desk"]
    try:
        await tell(app.bot, desk, signal_id)
    finally:
        app.bot_data["telling"].discard(signal_id)


async def watch_job(context) -> None:
    """Deliver owed answers, tell the trader when the exchange cannot be seen or answers again,
    audit strangers."""
    app = context.application
    desk: Desk = app.bot_data["desk"]
    from bot.trade_thread import repair_threads

    await queue_untold(app)
    await repair_threads(app)
    await watch_exchange(app, desk)
    await on_desk(desk, audit_strangers, desk.clock())


async def watch_exchange(app, desk: Desk) -> None:
    """Tell the trader once when the exchange cannot be seen (and keep a repair coming); tell when
    it is back."""
    view, told = desk.view, app.bot_data.get("unseen_told")
    failing_since = view.failing_since  # None exactly while the exchange is visible
    if failing_since is not None:
        retry_later(app)  # only a repair that goes through says the exchange is back
        if told == failing_since:
            return
        app.bot_data["unseen_told"] = failing_since
        key = f"exchange_unseen:{to_db(failing_since)}"
        text = plain_text(unseen_alert(desk.words, view.last_error))
        await on_desk(desk, queue_alert, "critical", "exchange", text, desk.clock(), key)
    elif told is not None:
        app.bot_data["unseen_told"] = None
        text = desk.words.plain(EXCHANGE_BACK)
        await on_desk(desk, queue_alert, "info", "exchange", text, desk.clock())


async def report_stop(app, report, error) -> None:
    """Tell the trader what /stop's exchange part did, or that it waits for the exchange (then
    retry)."""
    desk: Desk = app.bot_data["desk"]
    chat = desk.chat_id
    if error is not None:
        text = stop_unreached_text(desk.words, f"{type(error).__name__}: {error}")
        desk.replies.put(partial(send_text, app.bot, chat, text))
        retry_later(app)
        return
    if report is not None:
        tell_stop(app, *report)


HALT_NOTICES = ("Trading halted;", "Trading was already halted.")  # said by the first answer


def tell_stop(app, stop_report, flatten: bool) -> None:
    """Queue what /stop did to orders and positions, and redraw the threads of the trades it
    touched."""
    from bot.trade_thread import show_trade

    desk: Desk = app.bot_data["desk"]
    w = desk.words
    shown = [n for n in stop_report.notices if not str(n).startswith(HALT_NOTICES)]
    loose = [notice_text(w, n) for n in shown if getattr(n, "trade_id", None) is None]
    text = stop_report_text(w, stop_report, flatten, loose)
    desk.replies.put(partial(send_text, app.bot, desk.chat_id, text))
    for trade_id in sorted({n.trade_id for n in shown if getattr(n, "trade_id", None)}):
        desk.replies.put(partial(show_trade, app.bot, desk, trade_id, ("exit",)))
