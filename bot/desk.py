"""The desk the bot works on: settings, the database, the exchange and the execution entry points, injected."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from signaldesk.clock import utc_now
from signaldesk.settings import Settings
from signaldesk.storage import open_db

if TYPE_CHECKING:
    from signaldesk.exchange.base import Exchange
    from signaldesk.storage import Database


@dataclass(frozen=True)
class Desk:
    """Collaborators of every handler and job: settings, the database, the exchange (live or paper), the clock."""

    settings: Settings
    db: Database
    exchange: Exchange
    clock: Callable[[], datetime] = utc_now
    model_trained_at: Callable[[str], datetime | None] = lambda version: None
    # One thread at a time uses the connection (and the exchange built on it); the event loop never does.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def desk_of(context) -> Desk:
    """Return the desk stored in the application's bot_data."""
    return context.application.bot_data["desk"]


async def on_desk(desk: Desk, fn: Callable, *args):
    """Run fn(db, *args) in a worker thread, one at a time, so the event loop never blocks on SQLite or HTTP."""
    async with desk.lock:
        return await asyncio.to_thread(fn, desk.db, *args)


async def on_fresh_connection(desk: Desk, fn: Callable, *args):
    """Run fn(db, *args) in a worker thread on a connection of its own, without waiting for the desk lock."""

    def call():
        db = open_db(desk.settings.db_path)
        try:
            return fn(db, *args)
        finally:
            db.close()

    return await asyncio.to_thread(call)
