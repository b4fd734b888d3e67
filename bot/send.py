"""Talking to Telegram: split HTML text, signal cards with or without buttons, and telling a
decision's outcome.

A decided signal owes the trader an answer until `signals.told_status` says it was given: `tell`
edits the card and gives the outcome (an EXECUTED approval starts the trade's thread under the card,
a BLOCKED or FAILED one gets a reply saying why), then records it, so after a crash at any point the
answer is given again.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters
from telegram.error import BadRequest, Forbidden, TelegramError

from bot import notify
from bot.card_view import SignalContext, card_text
from bot.desk import Desk, on_desk, on_exchange
from bot.views import (
    decision_buttons,
    entry_line,
    last_note,
    outcome_text,
    split_message,
    verdict_footer,
)
from signaldesk import people, signals
from signaldesk.execution.records import load_trade_for_signal, trade_orders
from signaldesk.i18n import Html

log = logging.getLogger("bot.send")
MARKET_WAIT = 1.0  # seconds a card waits for the price now (else it shows the candle's close)


def decision_keyboard(desk: Desk, signal_id: int) -> InlineKeyboardMarkup:
    """Return the Approve / Reject buttons of one signal."""
    approve, reject = decision_buttons(desk.words)
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(approve, callback_data=f"approve:{signal_id}"),
        InlineKeyboardButton(reject, callback_data=f"reject:{signal_id}"),
    ]])  # fmt: skip


def signal_context(desk: Desk, signal, by_name: str = "", market=None) -> SignalContext:
    """Return what rendering a card needs besides the signal itself."""
    return SignalContext(
        now=desk.clock(),
        horizon=timedelta(minutes=15 * desk.settings.strategy.label_horizon_bars),
        model_trained_at=desk.model_trained_at(signal.model_version),
        market=market,
        by_name=by_name,
        price_note=desk.settings.price_note,
    )


def replying_to(message_id: int | None) -> dict:
    """Return send arguments that put a message in a thread (under `message_id`), if any."""
    if message_id is None:
        return {}
    return {"reply_parameters": ReplyParameters(message_id, allow_sending_without_reply=True)}


async def send_text(bot, chat_id: int, text: str, reply_markup=None, **kwargs):
    """Send HTML text split under Telegram's limit; buttons go on the last part; return the last
    Message."""
    parts = split_message(text)
    message = None
    for index, part in enumerate(parts):
        markup = reply_markup if index == len(parts) - 1 else None
        message = await bot.send_message(chat_id, part, reply_markup=markup, **kwargs)
    return message


def market_price(db, exchange, symbol: str):
    """Return the mid price of a symbol now (runs on the exchange lane)."""
    book = exchange.order_book(symbol)
    return (book.best_bid + book.best_ask) / 2 if book.asks and book.bids else None


async def price_now(desk: Desk, symbol: str):
    """Return (mid price, when) if the lane answers within a second and is not busy, else None."""
    if desk.lane.busy_since is not None:
        return None
    try:
        price = await on_exchange(desk, market_price, symbol, timeout=MARKET_WAIT)
    except Exception as exc:  # busy, maintenance, unreadable: the card shows the candle's close
        log.info("card without the price now: %s", type(exc).__name__)
        return None
    return (price, desk.clock()) if price is not None else None


async def announce(bot, desk: Desk, signal, quiet: bool, footer: Html | None = None):
    """Post a signal card with its buttons (quietly or with sound); return the Message."""
    market = await price_now(desk, signal.symbol)
    desk.card_prices[signal.id] = market
    text = card_text(desk.words, signal, signal_context(desk, signal, market=market), footer)
    return await send_text(bot, desk.chat_id, text,
                           reply_markup=decision_keyboard(desk, signal.id),
                           disable_notification=quiet)  # fmt: skip


async def refresh_announcement(bot, desk: Desk, signal, footer: Html | None = None) -> bool:
    """Re-render a signal's card in place: with buttons while pending, without once decided.

    Return True when the card shows it (or can never be edited: deleted, too old); False when worth
    retrying.
    """
    if not signal.telegram_message_id or not signal.telegram_chat_id:
        return True
    context = signal_context(desk, signal, market=desk.card_prices.get(signal.id))
    text = split_message(card_text(desk.words, signal, context, footer))[0]
    markup = decision_keyboard(desk, signal.id) if footer is None else None
    try:
        await bot.edit_message_text(
            text,
            chat_id=signal.telegram_chat_id,
            message_id=signal.telegram_message_id,
            reply_markup=markup,
        )
    except (BadRequest, Forbidden) as exc:  # not modified, deleted, too old: retrying cannot help
        if "not modified" not in str(exc).lower():
            log.warning("the card of signal #%s cannot be edited: %s", signal.id, exc)
    except TelegramError as exc:
        log.warning("could not edit the card of signal #%s (will retry): %s", signal.id, exc)
        return False
    return True


def recorded_detail(db, signal, w) -> Html:
    """Return what the rows say about a decided signal's outcome: its entry order, else its last
    note (what execution said)."""
    from html import escape

    trade = load_trade_for_signal(db, signal.id)
    if signal.status != signals.EXECUTED or trade is None:
        return Html(escape(last_note(signal), quote=False))
    entries = [o for o in trade_orders(db, trade.id) if o.purpose == "entry"]
    return entry_line(w, trade.id, entries[-1] if entries else None)


def outcome_of(db, signal_id: int, w):
    """Return (signal, approver's name, what the rows say) in one worker call."""
    signal = signals.load(db, signal_id)
    if signal is None:
        return None, "", Html("")
    return signal, people.name_of(db, signal.approved_by), recorded_detail(db, signal, w)


async def tell(bot, desk: Desk, signal_id: int, status: str | None = None) -> bool:
    """Give the trader a decided signal's answer if still owed: edit its card, give the outcome,
    record it.

    With `status`, only while the signal still has it (a later step tells what came after). Return
    True when nothing is owed any more; False when Telegram did not take it (the watch job retries).
    """
    from bot.trade_thread import show_trade

    signal, name, detail = await on_desk(desk, outcome_of, signal_id, desk.words)
    if signal is None or not signal.owes_answer or status not in (None, signal.status):
        return True
    shown = detail if signal.status in (signals.BLOCKED, signals.FAILED) else ""
    footer = verdict_footer(desk.words, signal, name, shown)
    if not await refresh_announcement(bot, desk, signal, footer):
        return False
    if signal.status == signals.EXECUTED:
        trade = await on_desk(desk, load_trade_for_signal, signal.id)
        if trade is not None and not await show_trade(bot, desk, trade.id, ("entry",)):
            return False
    elif signal.status in (signals.BLOCKED, signals.FAILED):
        if not await tell_not_traded(bot, desk, signal, detail):
            return False
    await on_desk(desk, signals.mark_told, signal.id, signal.status)
    return True


async def tell_not_traded(bot, desk: Desk, signal, detail: Html) -> bool:
    """Reply under the card that an approval was not traded, and why (False: retry later)."""
    lvl = notify.level(desk.settings, "entry", desk.clock())
    if lvl == "off":
        return True  # the card's footer says it
    try:
        await send_text(bot, desk.chat_id,
                        outcome_text(desk.words, signal, detail), disable_notification=True,
                        **replying_to(signal.telegram_message_id))  # fmt: skip
    except (BadRequest, Forbidden) as exc:
        log.error("the outcome of signal #%s was refused by Telegram: %s", signal.id, exc)
    except TelegramError as exc:
        log.warning("could not send the outcome of signal #%s (will retry): %s", signal.id, exc)
        return False
    return True
