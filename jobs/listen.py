"""`signaldesk listen`: the long-running Bybit liquidation listener that feeds spike flags to the
cycle."""

from __future__ import annotations

import asyncio
import logging
import signal

from jobs.cli import EXIT_FAILED, EXIT_OK
from signaldesk.storage import open_current_db

log = logging.getLogger("signaldesk.listen")


def add_arguments(parser) -> None:
    """Add the options of `listen` (none: everything comes from settings, [listener] and
    BYBIT_WS_URL)."""
    parser.epilog = (
        "Runs until SIGTERM/SIGINT, then writes the current minute and exits 0. "
        "Exits 1 when Bybit refuses every configured topic, 3 on pending migrations."
    )


def run(args, settings) -> int:
    """Listen until stopped; refuse a database with pending migrations."""
    from signaldesk.listener import StreamConfig, StreamRefused

    db = open_current_db(settings.db_path)
    config = StreamConfig.from_settings(settings)
    log.info(
        "listener starting: %s, contracts %s",
        config.url,
        ", ".join(c for c, _ in config.symbol_map),
    )
    try:
        asyncio.run(_listen_until_signalled(db, config))
    except StreamRefused as exc:
        log.error("listener: %s", exc)
        print(f"signaldesk listen: {exc}")
        return EXIT_FAILED
    finally:
        db.close()
    return EXIT_OK


async def _listen_until_signalled(db, config) -> None:
    """Run the listener, turning SIGTERM and SIGINT into a clean stop."""
    from signaldesk.listener import listen

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await listen(db, config, stop)
