"""The Telegram desk's wiring: compose the desk, every handler and job in one place (run by
`jobs/bot.py`)."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
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
from bot.confirm import BUTTON as CONFIRM_BUTTON
from bot.confirm import Confirmations
from bot.desk import Desk, on_desk
from bot.gate import gate
from bot.jobs import JobTimes, schedule_jobs, start_protection, stop_protection
from bot.money import MONEY_COMMANDS
from bot.polling import poll_updates
from bot.recovery import start_repair, watch_job
from bot.views import BOT_COMMANDS
from signaldesk.i18n import words
from signaldesk.settings import LANGUAGES
from signaldesk.state import beat

log = logging.getLogger("bot.main")
RATE_LIMIT_RETRIES = 3
COMMAND_HANDLERS = {
    "status": handlers.on_status,
    "pending": handlers.on_pending,
    "positions": handlers.on_positions,
    "report": handlers.on_report,
    **MONEY_COMMANDS,
    "stop": handlers.on_stop,
    "resume": handlers.on_resume,
    "settings": handlers.on_settings,
    "logs": handlers.on_logs,
    "version": handlers.on_version,
    "show_config": handlers.on_show_config,
    "help": handlers.on_help,
}


def missing_settings(settings) -> list[str]:
    """Return the Telegram settings that must be filled before the bot may start (deny by
    default)."""
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
    """Build the PTB application: gate first, then buttons, commands, decisions, the error handler
    and the jobs."""
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
        .updater(None)  # bot.polling confirms an update only after it was processed
        .build()
    )
    app.bot_data["desk"] = desk
    app.bot_data["started_at"] = desk.clock()
    app.bot_data["confirmations"] = Confirmations(desk.settings.bot.confirm_seconds)
    add_handlers(app)
    times = times or JobTimes()
    jobs = app.job_queue
    if jobs is None:  # python-telegram-bot[job-queue] is a dependency; without it nothing is timed
        raise RuntimeError(
            "python-telegram-bot's job queue is missing (install its job-queue extra)"
        )
    schedule_jobs(jobs, desk, times)
    jobs.run_repeating(watch_job, interval=times.watch, first=times.first, name="watch")
    return app


def add_handlers(app: Application) -> None:
    """Wire the gate, the buttons, the commands and the error handler, in the order they are
    tried."""
    new_messages = filters.UpdateType.MESSAGE  # edited messages never decide anything
    app.add_handler(TypeHandler(Update, gate), group=-1)
    app.add_handler(CallbackQueryHandler(handlers.on_button, pattern=handlers.BUTTON))
    app.add_handler(CallbackQueryHandler(handlers.on_confirm_button, pattern=CONFIRM_BUTTON))
    app.add_handler(CallbackQueryHandler(handlers.on_close_button, pattern=handlers.CLOSE_BUTTON))
    app.add_handler(CallbackQueryHandler(handlers.on_unknown_button))
    for name, callback in COMMAND_HANDLERS.items():
        app.add_handler(CommandHandler(name, callback, filters=new_messages))
    app.add_handler(
        MessageHandler(filters.Regex(handlers.ID_COMMAND) & new_messages, handlers.on_id_command)
    )
    app.add_handler(MessageHandler(filters.COMMAND & new_messages, handlers.on_unknown_command))
    app.add_error_handler(handlers.on_error)


async def start_desk(app: Application) -> None:
    """Start the lane with the first management step on it (and GMO's private stream, live),
    register the command menu, beat once, start the replies, and queue the start-up repair.

    Protection comes first: the first management step is the lane's first job, the repair
    (reconciliation first) runs behind it. Nothing here waits for the exchange: the repair is
    retried in the background while it cannot see the exchange.
    """
    desk: Desk = app.bot_data["desk"]
    desk.lane.start()
    start_protection(app)  # protection first: the first management step, then the repair behind it
    await register_commands(app.bot, desk.settings.telegram.language)
    await on_desk(desk, beat, "bot", desk.clock())
    desk.replies.start()
    await start_repair(app)


def command_menu(lang: str) -> list[tuple[str, str]]:
    """Return the command menu (name, description) in one language."""
    w = words(lang)
    return [(name, w.plain(text)) for name, text in BOT_COMMANDS]


async def register_commands(bot, language: str) -> None:
    """Register the command menu for Japanese and English clients, and the desk's language for
    everyone else."""
    for lang in LANGUAGES:
        await bot.set_my_commands(command_menu(lang), language_code=lang)
    await bot.set_my_commands(command_menu(language))


async def stop_desk(app: Application) -> None:
    """Let the running exchange job finish, send queued replies (briefly), cancel a pending retry,
    close."""
    desk: Desk = app.bot_data["desk"]
    retry = app.bot_data.pop("repair_retry", None)
    if retry is not None:
        retry.cancel()
    await asyncio.to_thread(stop_protection, app)  # the private stream's thread and token
    await desk.lane.stop()
    await desk.replies.stop()
    if desk.tasks:
        await asyncio.wait(list(desk.tasks), timeout=2)
    desk.close()


async def serve(app: Application, stop: asyncio.Event) -> None:
    """Run the desk until `stop` is set: start, poll (confirming only processed updates), stop
    cleanly."""
    desk: Desk = app.bot_data["desk"]
    async with app:  # initialize (getMe) ... shutdown
        await start_desk(app)
        await app.start()  # the job queue
        try:
            await poll_updates(app, stop, desk.settings.bot.poll_timeout_seconds)
        finally:
            await app.stop()
            await stop_desk(app)


def run_bot(app: Application) -> None:
    """Run the desk in this process until SIGINT or SIGTERM (the systemd unit's stop signal)."""
    mark_sniffio_absent()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(number, stop.set)
        await serve(app, stop)

    asyncio.run(main())


def model_age_reader(*models_roots: Path):
    """Return a cached lookup of a model version's training time from
    `<models>/<version>/metadata.json`."""

    @lru_cache(maxsize=16)
    def trained_at(version: str) -> datetime | None:
        found = [root / version for root in models_roots if (root / version).is_dir()]
        path = (found[0] if found else models_roots[0] / version) / "metadata.json"
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
            text = meta.get("trained_at") or meta.get("created_at")
            moment = datetime.fromisoformat(text) if isinstance(text, str) else None
        except (OSError, ValueError, AttributeError):
            return None
        return moment if moment and moment.tzinfo else None

    return trained_at


def compose_desk(settings, db, http) -> Desk:
    """Build the desk of the running bot: the exchange of the configured mode on the desk's
    connection."""
    from signaldesk.exchange.factory import build_exchange
    from signaldesk.model.registry import roots

    return Desk(
        settings=settings,
        db=db,
        exchange=build_exchange(settings, db, http=http),
        model_trained_at=model_age_reader(*roots(settings)),
    )


def mark_sniffio_absent() -> None:
    """Make httpcore's `import sniffio` (tried on every request, never installed) fail at once.

    A failed import is not cached: each one scans sys.path (about 20 stat calls), four per Telegram
    request; a flood of taps spent a fifth of its time there. Only when sniffio really is not
    importable.
    """
    import importlib.util
    import sys

    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]  # None = "import fails"


def keep_http_logs_quiet() -> None:
    """Keep httpx/httpcore at WARNING: their INFO lines carry the bot token in the URL."""
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        logger.setLevel(max(logger.level, logging.WARNING))
