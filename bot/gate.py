"""The one access gate in front of every handler: the configured user(s) in the configured chat, nobody else."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from bot.desk import desk_of, on_desk
from signaldesk.audit import record

log = logging.getLogger("bot.gate")


def is_allowed(update: Update, user_ids: tuple[int, ...], chat_id: int | None) -> bool:
    """Return True only for an update from an allowed user in the allowed chat."""
    user, chat = update.effective_user, update.effective_chat
    return bool(
        user and chat and chat_id is not None and user.id in user_ids and chat.id == chat_id
    )


def stranger_detail(update: Update) -> dict:
    """Return what the audit log keeps about a refused update: ids, kind and a short text."""
    user, chat, message = update.effective_user, update.effective_chat, update.effective_message
    query = update.callback_query
    return {
        "user_id": user.id if user else None,
        "username": user.username if user else None,
        "chat_id": chat.id if chat else None,
        "update_id": update.update_id,
        "text": (message.text or "")[:100] if message and getattr(message, "text", None) else None,
        "callback_data": query.data if query else None,
    }


async def gate(update: object, context) -> None:
    """Let allowed updates through; drop everything else silently, audited with the sender's ids."""
    desk = desk_of(context)
    settings = desk.settings
    if isinstance(update, Update) and is_allowed(
        update, settings.telegram_user_ids, settings.telegram_chat_id
    ):
        return
    detail = (
        stranger_detail(update) if isinstance(update, Update) else {"update": type(update).__name__}
    )
    actor = detail.get("user_id") or "unknown"
    log.warning("dropped an update from user %s in chat %s", actor, detail.get("chat_id"))
    await on_desk(desk, record, "unauthorized", actor, detail, desk.clock())
    raise ApplicationHandlerStop
