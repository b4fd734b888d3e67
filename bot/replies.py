"""The bot's ordered voice: replies, notices and card edits queued by handlers and jobs, sent one at
a time.

Handlers record what changed and queue what to say, so the next update is not held up by Telegram's
answer times or its 30 messages a second; one task sends in order, so a card is never overwritten by
an older text. A send that fails is logged and dropped: what a decision owes the trader is re-sent
from the database (`signals.told_status`), and a command's answer can be asked for again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("bot.replies")
Say = Callable[[], Awaitable[object]]


class ReplyQueue:
    """Sends queued messages and edits in order (started on the bot's event loop)."""

    def __init__(self):
        self._queue: asyncio.Queue[Say] | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the sending task on the running event loop (idempotent)."""
        if self._task is None:
            self._queue = asyncio.Queue()
            self._task = asyncio.get_running_loop().create_task(self._serve(), name="replies")

    def put(self, say: Say) -> None:
        """Queue one send (a coroutine function without arguments)."""
        self.start()
        self._started_queue().put_nowait(say)

    def _started_queue(self) -> asyncio.Queue[Say]:
        """Return the queue of a started sender; raise RuntimeError before `start`."""
        if self._queue is None:
            raise RuntimeError("the reply queue is used before start()")
        return self._queue

    async def drain(self) -> None:
        """Wait until everything queued has been sent (or has failed)."""
        if self._queue is not None:
            await self._queue.join()

    async def stop(self, grace: float = 5.0) -> None:
        """Send what is queued for at most `grace` seconds, then stop."""
        if self._task is None:
            return
        try:
            await asyncio.wait_for(self.drain(), grace)
        except TimeoutError:
            log.warning("stopping with %d replies unsent", self._started_queue().qsize())
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        self._task = None

    async def _serve(self) -> None:
        """Send queued items one at a time, forever."""
        queue = self._started_queue()
        while True:
            say = await queue.get()
            try:
                await say()
            except Exception:  # one failed message must not silence the rest
                log.exception("a queued reply could not be sent")
            finally:
                queue.task_done()
