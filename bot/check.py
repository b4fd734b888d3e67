"""Telegram reachability for `signaldesk doctor`: getMe and getChat through python-telegram-bot
(owned by bot/)."""

from __future__ import annotations

from signaldesk import doctor


async def probe_telegram(settings, timeout: float) -> doctor.TelegramProbe:
    """Ask Telegram getMe (is the token valid?) and getChat (can the bot reach the chat?) with short
    timeouts."""
    from telegram import Bot
    from telegram.request import HTTPXRequest

    def request() -> HTTPXRequest:
        return HTTPXRequest(
            connect_timeout=timeout,
            read_timeout=timeout,
            write_timeout=timeout,
            pool_timeout=timeout,
        )

    bot = Bot(
        settings.telegram_bot_token.reveal(),
        base_url=f"{settings.urls.telegram_api}/bot",
        request=request(),
        get_updates_request=request(),
    )
    try:
        return await _ask_telegram(bot, settings.telegram_chat_id)
    finally:
        await bot.shutdown()


async def _ask_telegram(bot, chat_id: int | None) -> doctor.TelegramProbe:
    """Call getMe (via initialize) and then getChat; return what each answered as plain text."""
    from telegram.error import InvalidToken, TelegramError

    try:
        await bot.initialize()  # calls getMe
    except InvalidToken:  # its message repeats the token: never shown
        return doctor.TelegramProbe(
            bot_error="Telegram rejected the token (HTTP 401/404)", token_rejected=True
        )
    except TelegramError as exc:
        return doctor.TelegramProbe(bot_error=f"{type(exc).__name__}: {exc}")
    me = f"@{bot.bot.username} (id {bot.bot.id})"
    if chat_id is None:
        return doctor.TelegramProbe(bot=me)
    try:
        chat = await bot.get_chat(chat_id)
    except TelegramError as exc:
        return doctor.TelegramProbe(bot=me, chat_error=f"{type(exc).__name__}: {exc}")
    name = (
        chat.title
        or " ".join(p for p in (chat.first_name, chat.last_name) if p)
        or chat.username
        or "?"
    )
    return doctor.TelegramProbe(bot=me, chat=f"{chat.type} chat {name!r}")
