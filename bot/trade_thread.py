"""One thread per trade: a status message under the signal's card, edited as the trade moves, and a
closing message with the result.

A management step tells which events happened (order placed, filled, stop moved, closed); the
loudest one's setting decides how the thread shows it: "on" sends the new state as a new message
with sound, "silent" edits the status message (or sends it without sound the first time), "off"
only edits a status message already there. The closing message follows the `exit` setting. What the
thread showed is recorded (`signaldesk.threads`), and the watch job redraws whatever is behind.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, TelegramError

from bot import notify
from bot.desk import Desk, on_desk
from bot.send import replying_to, send_text
from bot.trade_view import TradeState, close_button, closed_text, notice_text, status_text
from signaldesk import signals, threads
from signaldesk.execution.notices import QUEUED
from signaldesk.execution.records import load_trade, trade_fills, trade_orders
from signaldesk.i18n import Html, plain_text
from signaldesk.ledger import trade_leverage_fees

log = logging.getLogger("bot.trade_thread")


@dataclass(frozen=True)
class Seen:
    """What a trade's thread is drawn from, read in one worker call."""

    state: TradeState
    thread: threads.Thread | None
    card: tuple[int | None, int | None]  # the signal card's (chat, message id)


def read_trade(db, trade_id: int, now) -> Seen | None:
    """Return what the thread of a trade needs, or None for a trade without a signal card."""
    trade = load_trade(db, trade_id)
    if trade is None or trade.signal_id is None:
        return None
    signal = signals.load(db, trade.signal_id)
    state = TradeState(trade, trade_orders(db, trade_id), trade_fills(db, trade_id), now,
                       trade_leverage_fees(db, trade_id))  # fmt: skip
    card = (signal.telegram_chat_id, signal.telegram_message_id) if signal else (None, None)
    return Seen(state, threads.load(db, trade_id), card)


def close_keyboard(desk: Desk, trade) -> InlineKeyboardMarkup | None:
    """Return the Close button of an active trade (None once it is closed or cancelled)."""
    if not trade.is_active:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(close_button(desk.words), callback_data=f"close:{trade.id}")]]
    )


async def show_trade(bot, desk: Desk, trade_id: int, events=()) -> bool:
    """Bring a trade's thread up to date (events: what just happened; none = only repair).

    Return False when Telegram did not take something worth retrying (the watch job retries).
    """
    seen = await on_desk(desk, read_trade, trade_id, desk.clock())
    if seen is None:
        return True
    try:
        await put_status(bot, desk, seen, events)
        await put_closing(bot, desk, seen)
    except (BadRequest, Forbidden) as exc:  # deleted, too old: redrawing cannot help
        log.warning("the thread of trade #%s could not be updated: %s", trade_id, exc)
    except TelegramError as exc:
        log.warning("the thread of trade #%s is behind (will retry): %s", trade_id, exc)
        return False
    return True


async def put_status(bot, desk: Desk, seen: Seen, events) -> None:
    """Send, resend or edit the status message so it shows the trade as the rows say."""
    trade, thread = seen.state.trade, seen.thread
    if thread is None and never_on_exchange(seen.state):
        return  # nothing reached GMO: the card's outcome reply says why; no thread to start
    text = status_text(desk.words, seen.state)
    shown = thread if thread is not None and thread.message_id is not None else None
    # the closing message rings for the exit; the status message only follows the other events
    steps = [event for event in events if event != "exit"]
    level = notify.loudest(desk.settings, steps, desk.clock()) if events else "off"
    if shown is not None and shown.shown == text and level != "on":
        return
    if shown is None and level == "off":
        return  # the trader chose no message for this; a later event starts the thread
    if shown is not None and level != "on":
        await _edit(bot, desk, shown, text, trade)
    else:
        await _send_status(bot, desk, seen, text, quiet=notify.quietly(level))
        if shown is not None:  # the older status message gives its button up
            await _drop_button(bot, shown)
    chat = desk.chat_id
    message_id = (
        shown.message_id if shown is not None and level != "on" else desk.last_status[trade.id]
    )
    await on_desk(desk, threads.record_status, trade.id, chat, message_id, text, desk.clock())


def never_on_exchange(state) -> bool:
    """Return True for a cancelled trade none of whose orders reached the exchange (an entry whose
    POST was lost unsent, concluded never placed by issue 14's resolution)."""
    return state.trade.status == "cancelled" and not any(o.exchange_order_id for o in state.orders)


async def _send_status(bot, desk: Desk, seen: Seen, text: Html, quiet: bool) -> None:
    """Send the status message under the card."""
    trade = seen.state.trade
    message = await send_text(bot, desk.chat_id, text,
                              reply_markup=close_keyboard(desk, trade), disable_notification=quiet,
                              **replying_to(seen.card[1]))  # fmt: skip
    desk.last_status[trade.id] = message.message_id


async def _edit(bot, desk: Desk, thread, text: Html, trade) -> None:
    """Edit the status message in place (an unchanged text is no error)."""
    try:
        await bot.edit_message_text(text, chat_id=thread.chat_id, message_id=thread.message_id,
                                    reply_markup=close_keyboard(desk, trade))  # fmt: skip
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


async def _drop_button(bot, thread) -> None:
    """Remove the Close button of an older status message (best effort)."""
    try:
        await bot.edit_message_reply_markup(thread.chat_id, thread.message_id, reply_markup=None)
    except TelegramError as exc:
        log.info("older status message of trade #%s kept its button: %s", thread.trade_id, exc)


async def put_closing(bot, desk: Desk, seen: Seen) -> None:
    """Send the trade's closing message once (cancelled trades: nothing more to say)."""
    trade, thread = seen.state.trade, seen.thread
    if trade.is_active or (thread is not None and thread.closed_told):
        return
    chat = desk.chat_id
    level = notify.level(desk.settings, "exit", desk.clock())
    if trade.status == "closed" and level != "off":
        text = closed_text(desk.words, trade, desk.clock(), seen.state.leverage_fees)
        await send_text(bot, chat, text,
                        disable_notification=notify.quietly(level),
                        **replying_to(seen.card[1]))  # fmt: skip
    await on_desk(desk, threads.mark_closed_told, trade.id, chat, desk.clock())


async def show_notices(bot, desk: Desk, notices) -> None:
    """Thread a step's notices under their trades; notices about no trade become a warning."""
    by_trade: dict[int, list] = {}
    loose = []
    for notice in notices:
        if getattr(notice, "kind", None) in QUEUED:
            continue  # already in the outbox as an alert (issue 14's protection, halts, adoptions)
        trade_id = getattr(notice, "trade_id", None)
        if trade_id is None:
            loose.append(notice)
        else:
            by_trade.setdefault(trade_id, []).append(notice)
    for trade_id, told in by_trade.items():
        events = {getattr(n, "event", "warning") for n in told}
        desk.replies.put(partial(show_trade, bot, desk, trade_id, tuple(events)))
        warnings = [n for n in told if getattr(n, "event", "warning") == "warning"]
        loose += warnings
    if loose:
        await queue_warning(desk, [plain_text(notice_text(desk.words, n)) for n in loose])


async def queue_warning(desk: Desk, lines: list[str]) -> None:
    """Put notices that need the trader's eye in the outbox (silent by default: [notify]
    warning)."""
    from signaldesk.outbox import queue_alert

    now = desk.clock()
    await on_desk(desk, queue_alert, "warning", "trade", "\n".join(lines), now)


async def repair_threads(app) -> None:
    """Queue a redraw of every thread that may be behind (the watch job; once per trade at a
    time)."""
    desk: Desk = app.bot_data["desk"]
    drawing: set = app.bot_data.setdefault("drawing", set())
    for trade_id in await on_desk(desk, threads.owing, desk.settings.mode):
        if trade_id not in drawing:
            drawing.add(trade_id)
            desk.replies.put(partial(_draw_once, app, trade_id))


async def _draw_once(app, trade_id: int) -> None:
    """Redraw one thread and release it for the next watch round."""
    try:
        await show_trade(app.bot, app.bot_data["desk"], trade_id)
    finally:
        app.bot_data["drawing"].discard(trade_id)
