"""The real bot stepped by a replay clock: its jobs and handlers run in order against a Bot API (the
local one).

Used by the offline demo and the backtest parity test. Nothing here decides anything the live bot
would not: the announcement, the button tap (a real callback_query through the gate and the
handlers), execution, management, the expiry sweep, alerts and the morning report are the bot's own
functions; only time is stepped. The bot runs exchange work on its lane and messages through its
reply queue; after each step the replay drains both, so it sees every outcome before the clock
moves. With the local Bot API given, taps travel through getUpdates like Telegram's (answered, then
confirmed); without it they are handed to the application directly.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from telegram import Update
from telegram.ext import CallbackContext

from bot.desk import Desk
from bot.jobs import JobTimes, alerts_job, announce_job, manage_job, send_morning, sweep_job
from bot.main import build_application, model_age_reader, start_desk, stop_desk
from bot.polling import poll_once
from signaldesk.backtest.engine import resume_after_loss_limit
from signaldesk.model.registry import roots

if TYPE_CHECKING:
    from jobs.demo.telegram_api import LocalBotApi
    from signaldesk.exchange.base import Exchange
    from signaldesk.settings import Settings
    from signaldesk.storage import Database

IDLE = JobTimes(
    announce=86400, sweep=86400, alerts=86400, health=86400, manage=86400, watch=86400, first=86400
)


@dataclass
class ReplayClock:
    """A clock the replay sets; the desk reads it."""

    now: datetime

    def __call__(self) -> datetime:
        """Return the replay's present."""
        return self.now


@dataclass
class LockstepBot:
    """The bot application (not polling; its job queue idle) whose jobs and taps the replay calls in
    order."""

    settings: Settings
    db: Database
    exchange: Exchange
    clock: ReplayClock
    approve: Callable[[int], bool]
    on_tap: Callable[[int, bool], None] = lambda signal_id, approved: None
    api: LocalBotApi | None = None  # the local Bot API, when taps go through it
    resumes: int = 0
    offset: int = 0
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    _updates: itertools.count = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self):
        desk = Desk(
            settings=self.settings,
            db=self.db,
            clock=self.clock,
            exchange=self.exchange,
            model_trained_at=model_age_reader(*roots(self.settings)),
        )
        self.desk = desk
        self.app = build_application(self.settings, desk, IDLE)
        self.context = CallbackContext(self.app)
        self._run(self.app.initialize())
        self._run(start_desk(self.app))
        self._run(desk.drain())

    def _run(self, coroutine):
        """Run one coroutine on the bot's own event loop."""
        return self.loop.run_until_complete(coroutine)

    def _step(self, coroutine) -> None:
        """Run one job or tap, then let the lane and the replies finish what it queued."""
        self._run(coroutine)
        self._run(self.desk.drain())

    def manage(self, now: datetime) -> None:
        """Run the bot's management job at `now`."""
        self.clock.now = now
        self._step(manage_job(self.context))

    def decide_pending(self, now: datetime) -> None:
        """Announce new signals, then tap Approve or Reject on each as the chooser says, through the
        handlers."""
        self.clock.now = now
        self._step(announce_job(self.context))
        for signal_id, message_id in self._announced(now):
            approved = self.approve(signal_id)
            self.on_tap(signal_id, approved)
            self._step(self._deliver(self._tap(signal_id, message_id, approved)))
        self._step(alerts_job(self.context))

    async def _deliver(self, update: dict) -> None:
        """Hand a tap to the bot: through the local Bot API's getUpdates when given, else
        directly."""
        if self.api is None:
            await self.app.process_update(Update.de_json(update, self.app.bot))
            return
        self.api.push_update(update)
        self.offset = await poll_once(self.app, self.offset)

    def sweep(self, now: datetime) -> None:
        """Run the expiry sweep at `now`."""
        self.clock.now = now
        self._step(sweep_job(self.context))

    def morning(self, day, now: datetime) -> None:
        """Send the morning's report on `day` (and Monday's review); a person reading it lifts a
        loss-limit halt (limits re-halt if hit)."""
        self.clock.now = now
        self._step(send_morning(self.app.bot, self.app.bot_data["desk"], day))
        self.resumes += resume_after_loss_limit(self.db, now, str(self._person))

    @property
    def _person(self) -> int:
        """Return the allowed user who taps."""
        return next(iter(self.settings.telegram_user_ids))

    @property
    def _chat(self) -> int:
        """Return the chat the person writes in; raise ValueError when settings name none."""
        chat = self.settings.telegram_chat_id
        if chat is None:
            raise ValueError("the lock-step bot needs telegram_chat_id in the settings")
        return chat

    def _announced(self, now: datetime) -> list[tuple[int, int]]:
        """Return (signal id, message id) of announced signals still open, oldest first."""
        from signaldesk import signals

        return [
            (signals.stored_id(s), s.telegram_message_id)
            for s in signals.pending(self.db, now)
            if s.telegram_message_id is not None
        ]

    def _tap(self, signal_id: int, message_id: int, approved: bool) -> dict:
        """Return the callback_query update Telegram would deliver for a tap on the announcement."""
        chat = self._chat
        query = {
            "id": f"lockstep-{signal_id}",
            "chat_instance": "lockstep",
            "from": {"id": self._person, "is_bot": False, "first_name": "Trader"},
            "data": f"{'approve' if approved else 'reject'}:{signal_id}",
            "message": {
                "message_id": message_id,
                "date": int(time.time()),
                "text": f"signal #{signal_id}",
                "chat": {"id": chat, "type": "private" if chat > 0 else "supergroup"},
            },
        }
        return {"update_id": next(self._updates), "callback_query": query}

    def ask(self, text: str, now: datetime) -> None:
        """Send a command as the person: a new message, handled by the bot's own handlers."""
        self.clock.now = now
        chat = self._chat
        command = text.split()[0]
        message = {
            "message_id": next(self._updates) + 1_000_000,
            "date": int(time.time()),
            "chat": {"id": chat, "type": "private" if chat > 0 else "supergroup"},
            "from": {"id": self._person, "is_bot": False, "first_name": "Trader"},
            "text": text,
            "entities": [{"offset": 0, "length": len(command), "type": "bot_command"}],
        }
        self._step(self._deliver({"update_id": next(self._updates), "message": message}))

    def close(self) -> None:
        """Stop the lane and the replies, shut the application down and close the loop."""
        self._run(stop_desk(self.app))
        self._run(self.app.shutdown())
        self.loop.close()
