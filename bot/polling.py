"""Long polling that confirms an update to Telegram only after the bot has processed it.

Telegram forgets an update once a getUpdates call carries a higher offset. python-telegram-bot's own
poller sends that call as soon as it has queued an update, before any handler ran, so a crash in
between lost the tap. Here each batch is processed (every handler done, its decision written) before
the next getUpdates confirms it; after a crash Telegram delivers the unconfirmed updates again and
the compare-and-set decisions make the repeat harmless. Handlers only record and queue (replies and
exchange work run elsewhere), so processing never waits on them.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Update
from telegram.error import Conflict, NetworkError, TimedOut

log = logging.getLogger("bot.polling")
NETWORK_PAUSE = (1.0, 30.0)  # first and longest pause after a failed getUpdates


async def poll_updates(app, stop: asyncio.Event, timeout: int = 10) -> None:
    """Fetch, process and then confirm updates until `stop` is set; confirm the processed ones on
    the way out."""
    offset, pause = 0, NETWORK_PAUSE[0]
    while not stop.is_set():
        try:
            updates = await _until_stopped(
                app.bot.get_updates(
                    offset=offset, timeout=timeout, allowed_updates=Update.ALL_TYPES
                ),
                stop,
            )
        except TimedOut:
            continue
        except (
            NetworkError,
            Conflict,
        ) as exc:  # a wrong token (InvalidToken) is not caught: it is fatal
            log.warning("getUpdates failed (%s); retrying in %.0f s", exc, pause)
            await _until_stopped(asyncio.sleep(pause), stop)
            pause = min(pause * 2, NETWORK_PAUSE[1])
            continue
        pause = NETWORK_PAUSE[0]
        for update in updates or []:
            await process(app, update)
            offset = update.update_id + 1
    await confirm(app, offset)


async def process(app, update: Update) -> None:
    """Run every handler on one update (handler errors go to the error handler; nothing escapes)."""
    try:
        await app.process_update(update)
    except Exception:
        log.exception("update %s could not be processed", update.update_id)


async def confirm(app, offset: int) -> None:
    """Tell Telegram that every update below `offset` was processed (a getUpdates that waits for
    nothing)."""
    if not offset:
        return
    try:
        await app.bot.get_updates(offset=offset, timeout=0, allowed_updates=Update.ALL_TYPES)
    except Exception as exc:  # they come again at the next start and are refused as already decided
        log.warning("could not confirm processed updates below %s: %s", offset, exc)


async def _until_stopped(awaitable, stop: asyncio.Event):
    """Await `awaitable` unless `stop` is set first (then cancel it and return None)."""
    work = asyncio.ensure_future(awaitable)
    stopping = asyncio.ensure_future(stop.wait())
    done, _ = await asyncio.wait({work, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if work in done:
        stopping.cancel()
        return work.result()
    work.cancel()
    try:
        await work
    except (asyncio.CancelledError, Exception):
        pass
    return None


async def poll_once(app, offset: int) -> int:
    """Fetch what is waiting (no long poll), process it, confirm it; return the next offset
    (lock-step replays)."""
    updates = await app.bot.get_updates(offset=offset, timeout=0, allowed_updates=Update.ALL_TYPES)
    for update in updates:
        await process(app, update)
        offset = update.update_id + 1
    await confirm(app, offset)
    return offset
