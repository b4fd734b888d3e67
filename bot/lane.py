"""The desk's one ordered lane to the exchange: orders, trade management, reconciliation and /stop,
one at a time.

Handlers and jobs put work on the lane and go on; a single task runs each job in a worker thread, in
arrival order, then its `then` callback on the event loop. So a slow exchange answer (a 12 s order
POST) delays only the exchange work queued behind it, never a tap, a command or a scheduled job.
Work left queued at a crash is not lost: every job's effect is recoverable from the database
(start-up repair, the next management step).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from signaldesk.clock import utc_now

log = logging.getLogger("bot.lane")
Then = Callable[[Any, BaseException | None], Awaitable[None]]


@dataclass
class LaneJob:
    """One piece of exchange work: fn(db, exchange, *args), what to do with its result, who waits
    for it."""

    fn: Callable
    args: tuple
    future: asyncio.Future
    then: Then | None = None
    key: str | None = None


class ExchangeLane:
    """Runs exchange work one job at a time in arrival order (started on the bot's event loop)."""

    def __init__(self, run: Callable[[Callable, tuple], Any]):
        self._run_job = run
        self._queue: asyncio.Queue[LaneJob | None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._keys: set[str] = set()
        self.busy_since: datetime | None = None
        self.busy_with: str = ""
        self.stopped = False

    def start(self) -> None:
        """Start the lane's task on the running event loop (idempotent)."""
        if self._task is None:
            self._queue = asyncio.Queue()
            self._task = asyncio.get_running_loop().create_task(self._serve(), name="exchange-lane")

    def submit(
        self, fn: Callable, *args, then: Then | None = None, key: str | None = None
    ) -> asyncio.Future | None:
        """Queue fn(db, exchange, *args); return the future of its result, or None when `key` is
        already queued or the lane has stopped."""
        if self.stopped:
            log.info("lane stopped; %s not queued", getattr(fn, "__name__", fn))
            return None
        self.start()
        if key is not None and key in self._keys:
            return None
        if key is not None:
            self._keys.add(key)
        future = asyncio.get_running_loop().create_future()
        self._started_queue().put_nowait(LaneJob(fn, args, future, then, key))
        return future

    async def call(self, fn: Callable, *args, timeout: float | None = None):
        """Queue fn and wait for its result (at most `timeout` seconds; raise asyncio.TimeoutError
        after).

        Raises asyncio.CancelledError when the lane has stopped.
        """
        future = self.submit(fn, *args)
        if future is None:
            raise asyncio.CancelledError("the exchange lane has stopped")
        return await asyncio.wait_for(asyncio.shield(future), timeout)

    @property
    def queued(self) -> int:
        """Return how many jobs wait behind the running one."""
        return self._queue.qsize() if self._queue is not None else 0

    def _started_queue(self) -> asyncio.Queue[LaneJob | None]:
        """Return the queue of a started lane; raise RuntimeError before `start`."""
        if self._queue is None:
            raise RuntimeError("the exchange lane is used before start()")
        return self._queue

    async def drain(self) -> None:
        """Wait until every queued job (and its `then`) has finished."""
        if self._queue is not None:
            await self._queue.join()

    async def stop(self) -> None:
        """Let the running job finish, then stop; jobs still queued are dropped (the database
        recovers them)."""
        self.stopped = True
        if self._task is None:
            return
        queue = self._started_queue()
        while not queue.empty():
            job = queue.get_nowait()
            if job is not None:
                job.future.cancel()
            queue.task_done()
        queue.put_nowait(None)
        await self._task
        self._task = None

    async def _serve(self) -> None:
        """Run queued jobs one at a time until stopped."""
        queue = self._started_queue()
        while True:
            job = await queue.get()
            try:
                if job is None:
                    return
                await self._run(job)
            finally:
                queue.task_done()

    async def _run(self, job: LaneJob) -> None:
        """Run one job in a worker thread, then its callback; errors go to the callback and the
        future."""
        self.busy_since, self.busy_with = utc_now(), getattr(job.fn, "__name__", "job")
        if job.key is not None:
            self._keys.discard(
                job.key
            )  # running, no longer queued: the next one may queue behind it
        result, error = None, None
        try:
            result = await asyncio.to_thread(self._run_job, job.fn, job.args)
        except (
            Exception
        ) as exc:  # the lane must outlive any one job; the callback decides what to say
            error = exc
            log.warning("lane job %s raised %s: %s", self.busy_with, type(exc).__name__, exc)
        finally:
            self.busy_since, self.busy_with = None, ""
        if job.then is not None:
            try:
                await job.then(result, error)
            except Exception:
                log.exception("the callback of lane job %s raised", job.fn)
        if job.future.done():
            return
        if error is None:
            job.future.set_result(result)
        else:
            job.future.set_exception(error)
            job.future.exception()  # retrieved: a job nobody waits for is no warning
