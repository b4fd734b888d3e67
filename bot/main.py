"""The Telegram desk's wiring: compose the desk, every handler and job in one place (run by `jobs/bot.py`)."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import handlers
from bot.desk import Desk, on_desk
from bot.gate import gate
from bot.jobs import JobTimes, schedule_jobs, start_protection
from bot.views import BOT_COMMANDS
from signaldesk.execution import reconcile
from signaldesk.outbox import queue_alert
from signaldesk.state import beat

log = logging.getLogger("bot.main")
RATE_LIMIT_RETRIES = 3
COMMAND_HANDLERS = {
    "status": handlers.on_status,
    "pending": handlers.on_pending,
    "positions": handlers.on_positions,
    "report": handlers.on_report,
    "stop": handlers.on_stop,
    "resume": handlers.on_resume,
    "help": handlers.on_help,
}


def missing_settings(settings) -> list[str]:
    """Return the Telegram settings that must be filled before the bot may start (deny by default)."""
    missing = []
    if not settings.telegram_bot_token:
        missing.append("TELEGRAM_BOT_TOKEN (the token from BotFather)")
    if not settings.telegram_user_ids:
        missing.append(
            "TELEGRAM_USER_IDS (comma-separated numeric ids of the people allowed to decide)"
        )
    if settings.telegram_chat_id is None:
        missing.append("TELEGRAM_CHAT_ID (the numeric id of the one chat the bot works in)")
    return missing


def build_application(settings, desk: Desk, times: JobTimes | None = None) -> Application:
    """Build the PTB application: gate first, then buttons, commands, decisions, the error handler and the jobs."""
    app = (
        Application.builder()
        .token(settings.telegram_bot_token.reveal())
        .base_url(f"{settings.urls.telegram_api}/bot")
        .base_file_url(f"{settings.urls.telegram_api}/file/bot")
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)
            )
        )
        .rate_limiter(AIORateLimiter(max_retries=RATE_LIMIT_RETRIES))
        .post_init(start_desk)
        .build()
    )
    app.bot_data["desk"] = desk
    app.bot_data["started_at"] = desk.clock()
    new_messages = filters.UpdateType.MESSAGE  # edited messages never decide anything
    app.add_handler(TypeHandler(Update, gate), group=-1)
    app.add_handler(CallbackQueryHandler(handlers.on_button, pattern=handlers.BUTTON))
    app.add_handler(CallbackQueryHandler(handlers.on_unknown_button))
    for name, callback in COMMAND_HANDLERS.items():
        app.add_handler(CommandHandler(name, callback, filters=new_messages))
    app.add_handler(
        MessageHandler(
            filters.Regex(handlers.DECISION_COMMAND) & new_messages, handlers.on_decision_command
        )
    )
    app.add_handler(MessageHandler(filters.COMMAND & new_messages, handlers.on_unknown_command))
    app.add_error_handler(handlers.on_error)
    schedule_jobs(app.job_queue, desk, times or JobTimes())
    return app


async def start_desk(app: Application) -> None:
    """Register the command menu, beat once, and reconcile with the exchange when execution is wired."""
    desk: Desk = app.bot_data["desk"]
    start_protection(
        app
    )  # issue 14: the first management step now, and GMO's private stream (live)
    await app.bot.set_my_commands(list(BOT_COMMANDS))
    await on_desk(desk, beat, "bot", desk.clock())
    result = await on_desk(desk, reconcile, desk.exchange, desk.settings, desk.clock())
    lines = [*map(str, result.differences), *result.notices]
    if lines:
        severity = "warning" if result.differences else "info"
        await on_desk(
            desk,
            queue_alert,
            severity,
            "reconcile",
            "Start-up reconciliation:\n" + "\n".join(lines),
            desk.clock(),
        )


def model_age_reader(models_root: Path):
    """Return a cached lookup of a model version's training time from `<models>/<version>/metadata.json`."""

    @lru_cache(maxsize=16)
    def trained_at(version: str) -> datetime | None:
        path = models_root / version / "metadata.json"
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
            text = meta.get("trained_at") or meta.get("created_at")
            moment = datetime.fromisoformat(text) if isinstance(text, str) else None
        except (OSError, ValueError, AttributeError):
            return None
        return moment if moment and moment.tzinfo else None

    return trained_at


def compose_desk(settings, db, http) -> Desk:
    """Build the desk of the running bot: the exchange of the configured mode on the desk's connection."""
    from signaldesk.exchange.factory import build_exchange

    return Desk(
        settings=settings,
        db=db,
        exchange=build_exchange(settings, db, http=http),
        model_trained_at=model_age_reader(settings.model_dir.parent),
    )


def keep_http_logs_quiet() -> None:
    """Keep httpx/httpcore at WARNING: their INFO lines carry the bot token in the URL."""
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        logger.setLevel(max(logger.level, logging.WARNING))
