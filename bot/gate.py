"""The one access gate in front of every handler: the configured user(s) in the configured chat,
nobody else.

A stranger's update is dropped without a word back (not even a tap answer) and counted in an hourly
tally, so a flood of them costs one small row per stranger and hour (audited with its count when the
hour closes).
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from bot.desk import desk_of, on_desk
from signaldesk.audit import count_stranger

log = logging.getLogger("bot.gate")
KINDS = ("message", "edited_message", "callback_query", "my_chat_member", "chat_member")


def is_allowed(update: Update, user_ids: tuple[int, ...], chat_id: int | None) -> bool:
    """Return True only for an update from an allowed user in the allowed chat."""
    user, chat = update.effective_user, update.effective_chat
    return bool(
        user and chat and chat_id is not None and user.id in user_ids and chat.id == chat_id
    )


def stranger_detail(update: object) -> tuple[int | None, int | None, str, str | None]:
    """Return (user id, chat id, kind, a short sample) of a refused update."""
    if not isinstance(update, Update):
        return None, None, "other", type(update).__name__
    user, chat, message = update.effective_user, update.effective_chat, update.effective_message
    kind = next((k for k in KINDS if getattr(update, k, None) is not None), "other")
    query = update.callback_query
    sample = query.data if query else getattr(message, "text", None)
    return (user.id if user else None), (chat.id if chat else None), kind, sample


async def gate(update: object, context) -> None:
    """Let allowed updates through; drop everything else silently, counted in the strangers'
    tally."""
    desk = desk_of(context)
    settings = desk.settings
    if isinstance(update, Update) and is_allowed(
        update, settings.telegram_user_ids, settings.telegram_chat_id
    ):
        return
    user_id, chat_id, kind, sample = stranger_detail(update)
    first = await on_desk(
        desk, count_stranger, user_id, chat_id, kind, sample, desk.clock(),
        settings.bot.strangers_per_hour,
    )  # fmt: skip
    if first:  # one log line per stranger and hour, however many updates they send
        log.warning("dropping updates from user %s in chat %s (tallied)", user_id, chat_id)
    raise ApplicationHandlerStop
