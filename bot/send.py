"""Talking to Telegram: send split HTML text, post and re-render signal announcements with or without buttons."""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, TelegramError

from bot.desk import Desk
from bot.views import SignalContext, signal_text, split_message

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
    """Re-render a signal's message in place: with buttons while pending, without once decided. Return True if done."""
    if not signal.telegram_message_id or not signal.telegram_chat_id:
        return False
    text = split_message(signal_text(signal, signal_context(desk, signal), footer))[0]
    markup = decision_keyboard(signal.id) if footer is None else None
    try:
        await bot.edit_message_text(
            text,
            chat_id=signal.telegram_chat_id,
            message_id=signal.telegram_message_id,
            reply_markup=markup,
        )
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            log.warning("could not edit the message of signal #%s: %s", signal.id, exc)
            return False
    except TelegramError as exc:
        log.warning("could not edit the message of signal #%s: %s", signal.id, exc)
        return False
    return True
