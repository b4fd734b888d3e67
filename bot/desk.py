"""The desk the bot works on: settings, the database, the exchange behind its one ordered lane, and
the clock.

Two connections to the one SQLite file keep the trader's taps apart from the exchange: `db` belongs
to the lane (execution, and the paper exchange built on it), `records` to handlers and jobs
(decisions, cards, alerts). So a slow exchange never holds up a tap, a command or a job; SQLite's
own locking orders their writes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING

from bot.lane import ExchangeLane
from bot.replies import ReplyQueue
from signaldesk.clock import utc_now
from signaldesk.exchange.errors import (
    AuthError,
    ExchangeError,
    Maintenance,
    MalformedResponse,
    OrderOutcomeUnknown,
    RateLimited,
    TemporaryError,
)
from signaldesk.i18n import Words, words
from signaldesk.settings import Settings
from signaldesk.storage import open_db

if TYPE_CHECKING:
    from signaldesk.exchange.base import Exchange
    from signaldesk.storage import Database

log = logging.getLogger("bot.desk")
# Errors that mean the desk cannot see the exchange (an answer such as "order rejected" means it
# can).
UNSEEN = (Maintenance, MalformedResponse, OrderOutcomeUnknown, AuthError, TemporaryError)


@dataclass
class ExchangeView:
    """What the bot last saw of the exchange: its last answer, since when it has not answered, and
    why."""

    last_ok_at: datetime | None = None
    failing_since: datetime | None = None
    last_error: str = ""

    @property
    def visible(self) -> bool:
        """Return True unless a call found the exchange unreachable, in maintenance or unreadable
        since the last repair that went through."""
        return self.failing_since is None

    def answered(self, now: datetime) -> None:
        """Note an answer (one answer, say a public price, does not prove the private API is
        back)."""
        self.last_ok_at = now

    def missed(self, now: datetime, error: ExchangeError) -> None:
        """Note a call that could not see the exchange."""
        self.failing_since = self.failing_since or now
        self.last_error = f"{type(error).__name__}: {error}"[:300]

    def recovered(self) -> None:
        """Note that a whole repair (reconciliation reads every private list) went through."""
        self.failing_since, self.last_error = None, ""


class WatchedExchange:
    """The exchange as the lane hands it to execution: every call's outcome is noted in the desk's
    view."""

    def __init__(self, exchange, view: ExchangeView, clock: Callable[[], datetime]):
        self._exchange, self._view, self._clock = exchange, view, clock

    def __getattr__(self, name: str):
        attribute = getattr(self._exchange, name)
        if not callable(attribute):
            return attribute

        def watched(*args, **kwargs):
            try:
                result = attribute(*args, **kwargs)
            except UNSEEN as exc:
                if not isinstance(exc, RateLimited):
                    self._view.missed(self._clock(), exc)
                raise
            except ExchangeError:
                self._view.answered(self._clock())
                raise
            self._view.answered(self._clock())
            return result

        return watched


@dataclass(eq=False)
class Desk:
    """Collaborators of every handler and job: settings, the database, the exchange (live or paper),
    the clock."""

    settings: Settings
    db: Database
    exchange: Exchange
    clock: Callable[[], datetime] = utc_now
    model_trained_at: Callable[[str], datetime | None] = lambda version: None
    # One thread at a time uses the records connection; the event loop never does.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    view: ExchangeView = field(default_factory=ExchangeView)

    @cached_property
    def records(self) -> Database:
        """Return the connection of handlers and jobs (opened on first use; closed by close())."""
        return open_db(self.settings.db_path)

    @property
    def chat_id(self) -> int:
        """Return the trader's chat (the bot refuses to start without one: bot.main)."""
        chat = self.settings.telegram_chat_id
        if chat is None:
            raise RuntimeError("telegram_chat_id is not set: there is no trader to tell")
        return chat

    @cached_property
    def words(self) -> Words:
        """Return the words of the desk's language (settings [telegram] language)."""
        return words(self.settings.telegram.language)

    @cached_property
    def card_prices(self) -> dict:
        """Return the price each card showed when posted (kept while the bot runs)."""
        return {}

    @cached_property
    def last_status(self) -> dict[int, int]:
        """Return the message id of the status message each trade was last sent."""
        return {}

    @cached_property
    def names(self) -> dict[int, tuple]:
        """Return the names of people as last stored (saves a write when nothing changed)."""
        return {}

    @cached_property
    def watched(self) -> WatchedExchange:
        """Return the exchange as the lane uses it (outcomes noted in `view`)."""
        return WatchedExchange(self.exchange, self.view, self.clock)

    @cached_property
    def lane(self) -> ExchangeLane:
        """Return the desk's one ordered lane to the exchange."""
        return ExchangeLane(lambda fn, args: fn(self.db, self.watched, *args))

    @cached_property
    def replies(self) -> ReplyQueue:
        """Return the desk's ordered queue of messages and card edits."""
        return ReplyQueue()

    @cached_property
    def tasks(self) -> set[asyncio.Task]:
        """Return the desk's loose tasks (tap answers) still running."""
        return set()

    def spawn(self, coroutine) -> asyncio.Task:
        """Run a coroutine as a task the desk keeps until it is done (drain() waits for it)."""
        task = asyncio.get_running_loop().create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def drain(self) -> None:
        """Wait until the lane, the replies and loose tasks are idle (lock-step replays and tests
        see outcomes)."""
        await self.lane.drain()
        await self.replies.drain()
        if self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)

    def close(self) -> None:
        """Close the records connection if it was opened."""
        if "records" in self.__dict__:
            self.records.close()


def desk_of(context) -> Desk:
    """Return the desk stored in the application's bot_data."""
    return context.application.bot_data["desk"]


async def on_desk(desk: Desk, fn: Callable, *args):
    """Run fn(records, *args) in a worker thread, one at a time, so the event loop never blocks on
    SQLite."""
    async with desk.lock:
        return await asyncio.to_thread(fn, desk.records, *args)


async def on_exchange(desk: Desk, fn: Callable, *args, timeout: float | None = None):
    """Run fn(db, exchange, *args) on the desk's lane and wait for its result (at most `timeout`
    seconds).

    Raises asyncio.TimeoutError when the lane is busy longer than `timeout`; the call still runs
    later.
    """
    return await desk.lane.call(fn, *args, timeout=timeout)


async def on_fresh_connection(desk: Desk, fn: Callable, *args):
    """Run fn(db, *args) in a worker thread on a connection of its own, without waiting for the desk
    lock."""

    def call():
        db = open_db(desk.settings.db_path)
        try:
            return fn(db, *args)
        finally:
            db.close()

    return await asyncio.to_thread(call)
