"""Talking to Telegram: split HTML text, signal cards with or without buttons, and telling a
decision's outcome.

A decided signal owes the trader an answer until `signals.told_status` says it was given: `tell`
edits the card and sends the outcome notice, then records it, so after a crash at any point the
answer is given again.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.desk import Desk, on_desk
from bot.views import (
    SignalContext,
    entry_line,
    last_note,
    outcome_notice,
    signal_text,
    split_message,
    verdict_footer,
)
from signaldesk import signals
from signaldesk.execution.records import load_trade_for_signal, trade_orders

log = logging.getLogger("bot.send")


def decision_keyboard(signal_id: int) -> InlineKeyboardMarkup:
    """Return the Approve / Reject buttons of one signal."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Approve", callback_data=f"approve:{signal_id}"),
                InlineKeyboardButton("Reject", callback_data=f"reject:{signal_id}"),
            ]
        ]
    )


def signal_context(desk: Desk, signal) -> SignalContext:
    """Return what rendering a signal needs besides the signal itself."""
    strategy = desk.settings.strategy
    return SignalContext(
        now=desk.clock(),
        label_move=strategy.label_move,
        horizon=timedelta(minutes=15 * strategy.label_horizon_bars),
        model_trained_at=desk.model_trained_at(signal.model_version),
        price_note=desk.settings.price_note,
    )


async def send_text(bot, chat_id: int, text: str, reply_markup=None, **kwargs):
    """Send HTML text split under Telegram's limit; buttons go on the last part; return the last Message."""
    parts = split_message(text)
    message = None
    for index, part in enumerate(parts):
        markup = reply_markup if index == len(parts) - 1 else None
        message = await bot.send_message(chat_id, part, reply_markup=markup, **kwargs)
    return message


async def announce(bot, desk: Desk, signal):
    """Post a signal with its buttons; return the Message."""
    return await send_text(
        bot,
        desk.settings.telegram_chat_id,
        signal_text(signal, signal_context(desk, signal)),
        reply_markup=decision_keyboard(signal.id),
    )


async def refresh_announcement(bot, desk: Desk, signal, footer: str | None = None) -> bool:
    """Re-render a signal's card in place: with buttons while pending, without once decided.

    Return True when the card shows it (or can never be edited: deleted, too old); False when worth
    retrying.
    """
    if not signal.telegram_message_id or not signal.telegram_chat_id:
        return True
    text = split_message(signal_text(signal, signal_context(desk, signal), footer))[0]
    markup = decision_keyboard(signal.id) if footer is None else None
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


OUTCOMES = (
    signals.EXECUTED,
    signals.BLOCKED,
    signals.FAILED,
)  # the answers that also get a message


def recorded_detail(db, signal) -> str:
    """Return what the rows say about a decided signal's outcome: its entry order, else its last
    note."""
    trade = load_trade_for_signal(db, signal.id)
    if signal.status != signals.EXECUTED or trade is None:
        return last_note(signal)
    entries = [o for o in trade_orders(db, trade.id) if o.purpose == "entry"]
    return entry_line(trade.id, entries[-1] if entries else None)


async def tell(
    bot, desk: Desk, signal_id: int, detail: str = "", status: str | None = None
) -> bool:
    """Give the trader a decided signal's answer if still owed: edit its card, send the outcome
    notice, record it.

    With `status`, only while the signal still has it (a later step tells what came after, with its
    details). Return True when nothing is owed any more; False when Telegram did not take it (the
    watch job retries).
    """
    signal = await on_desk(desk, signals.load, signal_id)
    if signal is None or not signal.owes_answer or status not in (None, signal.status):
        return True
    if signal.status in OUTCOMES and not detail:  # told from the rows alone (after a restart)
        detail = await on_desk(desk, recorded_detail, signal)
    if not await refresh_announcement(bot, desk, signal, verdict_footer(signal, detail)):
        return False
    if signal.status in OUTCOMES:
        try:
            await send_text(bot, desk.settings.telegram_chat_id, outcome_notice(signal, detail))
        except (BadRequest, Forbidden) as exc:
            log.error("the outcome of signal #%s was refused by Telegram: %s", signal.id, exc)
        except TelegramError as exc:
            log.warning("could not send the outcome of signal #%s (will retry): %s", signal.id, exc)
            return False
    await on_desk(desk, signals.mark_told, signal.id, signal.status)
    return True
