"""Decisions on signals by tap or text: strict input, one verdict by compare-and-set, the order off
the handler.

A tap is answered within a second whatever happens after (`TapAnswer`, given in a `finally`). The
verdict is written before the update is confirmed to Telegram; the order goes to the exchange lane
and the card and the outcome notice go through the reply queue, so neither a slow exchange nor
Telegram holds up the next update.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from functools import partial

from telegram.error import TelegramError

from bot.desk import Desk, on_desk
from bot.send import send_text, tell
from bot.views import (
    WORKING_ON_IT,
    bad_id_text,
    decided_answer,
    execution_raised_text,
    foreign_button_text,
    refusal_text,
)
from signaldesk import people, signals
from signaldesk.approvals import decide
from signaldesk.execution import execute_signal
from signaldesk.i18n import plain_text

log = logging.getLogger("bot.decisions")
ID = re.compile(r"[0-9]{1,18}", re.ASCII)  # str.isdigit() also takes ², ① and full-width digits
VERDICT_OF = {"approve": signals.APPROVED, "reject": signals.REJECTED}
# Seconds: Telegram shows a spinner until the answer comes; one is given well within a second.
ANSWER_DEADLINE = 0.8
ANSWER_LIMIT = 200  # Telegram's limit on a tap answer, in UTF-16 code units


class BadInput(ValueError):
    """Input from the trader that names nothing the desk can act on; the message (HTML) says what
    was wrong."""


def parse_id(w, command: str, raw: str | None) -> int:
    """Return the id in `raw` (1-18 ASCII digits); raise BadInput saying what was wrong."""
    if raw is None or not ID.fullmatch(raw):
        raise BadInput(bad_id_text(w, command, raw or ""))
    return int(raw)


plain = plain_text  # a tap's answer is shown without markup


async def remember_person(desk: Desk, user) -> None:
    """Store how the person who tapped or typed is called, when it changed (cards show the name)."""
    known = (user.first_name, user.username)
    if desk.names.get(user.id) != known:
        await on_desk(desk, people.remember, user.id, user.first_name, user.username, desk.clock())
        desk.names[user.id] = known


def fit_answer(text: str) -> str:
    """Cut a tap's answer to Telegram's 200 UTF-16 code units (an emoji counts two)."""
    while len(text.encode("utf-16-le")) // 2 > ANSWER_LIMIT:
        text = text[:-1]
    return text


class TapAnswer:
    """Answers one callback query exactly once and within a second: the real answer if it is ready
    in time, else a holding answer at the deadline, and then the real one as a chat message."""

    def __init__(self, query, desk: Desk, bot, deadline: float = ANSWER_DEADLINE):
        self.query, self.desk, self.bot = query, desk, bot
        self.given = self.late = False
        self._timer = asyncio.get_running_loop().call_later(deadline, self._hold)

    def _hold(self) -> None:
        """Give the holding answer at the deadline."""
        if not self.given:
            self.given = self.late = True
            self.desk.spawn(self._send(self.desk.words.plain(WORKING_ON_IT), False))

    def give(self, text: str, alert: bool = False) -> None:
        """Give the answer (HTML); after the deadline it goes to the chat instead."""
        self._timer.cancel()
        if not self.given:
            self.given = True
            self.desk.spawn(self._send(fit_answer(plain(text)), alert))
        elif self.late:
            chat = self.desk.chat_id
            self.desk.replies.put(partial(send_text, self.bot, chat, text))

    async def _send(self, text: str, alert: bool) -> None:
        """Send the answer; a refusal (too late, already answered) is logged, never raised."""
        try:
            await self.query.answer(text, show_alert=alert)
        except TelegramError as exc:
            log.warning("could not answer the tap %s: %s", self.query.id, exc)


@dataclass(frozen=True)
class Settled:
    """What one decision attempt did: the answer (HTML) and the signal it changed (None if nothing
    changed)."""

    text: str
    changed: int | None = None
    status: str | None = None


async def settle(desk: Desk, verdict: str, signal_id: int, by: str, card=None) -> Settled:
    """Record one verdict by compare-and-set and return the answer; nothing is sent or traded here.

    `card` is the tapped message, which must be the signal's own card. The caller answers first,
    then calls `follow_up` (card, order, outcome), so the trader reads the answer before the
    outcome.
    """
    now, w = desk.clock(), desk.words
    where = (card.chat.id, card.message_id) if card is not None else None
    refused, signal, name = await on_desk(desk, decide_on_card, signal_id, verdict, by, now, where)
    if refused == "foreign":
        return Settled(foreign_button_text(w, signal_id))
    if refused:
        return Settled(refusal_text(w, signal_id, signal, name))
    return Settled(decided_answer(w, signal), signal_id, signal.status)


def decide_on_card(db, signal_id: int, verdict: str, by: str, now, card: tuple | None):
    """Decide in one worker-thread call; return (None | "refused" | "foreign", the signal as it now
    is, the name of whoever decided it).

    A signal that is already decided (or unknown) is refused from one read, without a write: a burst
    of repeated taps costs no write lock (decide() audits the attempts that get as far as the
    compare-and-set).
    """
    signal = signals.load(db, signal_id)
    if signal is not None and card is not None:
        if card != (signal.telegram_chat_id, signal.telegram_message_id):
            return "foreign", signal, ""
    if signal is None or signal.status != signals.PENDING:
        return "refused", signal, people.name_of(db, signal.approved_by if signal else None)
    decision = decide(db, signal_id, verdict, by, now, None, True)
    name = people.name_of(db, decision.signal.approved_by if decision.signal else None)
    return (None if decision.changed else "refused"), decision.signal, name


def follow_up(bot, desk: Desk, settled: Settled) -> None:
    """After the answer: queue the card's update and, for an approval, the order on the exchange
    lane."""
    if settled.changed is None:
        return
    desk.replies.put(partial(tell, bot, desk, settled.changed, status=settled.status))
    if settled.status == signals.APPROVED:
        queue_execution(bot, desk, settled.changed)


def queue_execution(bot, desk: Desk, signal_id: int) -> None:
    """Put an approved signal's order on the exchange lane; its outcome is told when it has run."""
    desk.lane.submit(
        execute_now,
        desk.settings,
        signal_id,
        desk.clock,
        then=partial(tell_execution, bot, desk, signal_id),
    )


def execute_now(db, exchange, settings, signal_id: int, clock):
    """Execute an approved signal when the lane gets to it (it may have waited behind an order)."""
    return execute_signal(db, exchange, settings, signal_id, clock())


async def tell_execution(bot, desk: Desk, signal_id: int, outcome, error) -> None:
    """Queue the outcome of an execution for the trader (card, thread); a crash inside it is said
    plainly."""
    from bot.trade_thread import show_notices

    if error is not None:
        text = execution_raised_text(desk.words, signal_id, type(error).__name__)
        desk.replies.put(partial(send_text, bot, desk.chat_id, text))
        return
    desk.replies.put(partial(tell, bot, desk, signal_id))
    warnings = [n for n in outcome.notices if getattr(n, "event", None) == "warning"]
    if warnings:
        await show_notices(bot, desk, warnings)
