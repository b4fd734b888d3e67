"""The Bybit liquidation stream client: subscribe, keep alive, reconnect, and feed pushes into the
minute book."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from tenacity import AsyncRetrying, retry_if_exception_type, wait_exponential_jitter
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from signaldesk.clock import utc_now
from signaldesk.liquidations import (
    TOPIC_PREFIX,
    MinuteBook,
    PushError,
    SpikeRule,
    close_gaps,
    open_gap,
    parse_push,
    write_minutes,
)
from signaldesk.outbox import queue_alert
from signaldesk.state import beat, last_beat

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection

    from signaldesk.settings import Settings
    from signaldesk.storage import Database

log = logging.getLogger("signaldesk.listener")
NAMED_TOPIC = re.compile(r"topic:([A-Za-z0-9_.\-]+)")
MAX_FRAME_BYTES = 4 * 1024 * 1024


class StreamLost(Exception):
    """The connection failed, closed or went quiet; reconnect with back-off (temporary)."""


class StreamRefused(Exception):
    """Bybit rejected every configured topic; nothing left to listen to (configuration: stop and
    tell a person)."""


@dataclass(frozen=True)
class StreamConfig:
    """Where and how to listen; the intervals are parameters so tests can run them in fractions of a
    second."""

    url: str
    symbol_map: tuple[tuple[str, str], ...]
    rule: SpikeRule
    ping_seconds: float = 20
    pong_timeout_seconds: float = 10
    silence_seconds: float = 30
    backoff_initial_seconds: float = 1
    backoff_max_seconds: float = 60
    flush_period_seconds: float = 60
    flush_grace_seconds: float = 3

    @classmethod
    def from_settings(cls, settings: Settings) -> StreamConfig:
        """Build the production configuration from Settings."""
        listener = settings.listener
        rule = SpikeRule(
            Decimal(str(listener.spike_multiple)),
            listener.baseline_minutes,
            listener.spike_floor_usd,
        )
        return cls(
            url=settings.urls.bybit_ws,
            symbol_map=listener.symbol_map,
            rule=rule,
            ping_seconds=listener.ping_seconds,
            silence_seconds=listener.silence_seconds,
        )


@dataclass
class StreamStatus:
    """What the stream tasks share: the topics still wanted, whether all are subscribed, and
    counters."""

    topics: list[str]
    live: bool = False
    frames: int = 0
    liquidations: int = 0
    malformed: int = 0
    connections: int = 0


@dataclass
class Subscriptions:
    """Subscribe requests of one connection awaiting Bybit's answer, by req_id."""

    pending: dict[str, tuple[str, ...]] = field(default_factory=dict)
    ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def request(self, topics: tuple[str, ...]) -> str:
        """Register a subscribe request and return its JSON text."""
        req_id = f"sub-{next(self.ids)}"
        self.pending[req_id] = topics
        return json.dumps({"req_id": req_id, "op": "subscribe", "args": list(topics)})

    def answer(self, req_id: object) -> tuple[str, ...]:
        """Pop the request an ack answers: by echoed req_id, else the oldest pending one (Linear
        acks echo '')."""
        if req_id in self.pending:
            return self.pending.pop(req_id)
        oldest = next(iter(self.pending), None)
        return self.pending.pop(oldest) if oldest is not None else ()


@dataclass
class Liveness:
    """Deadlines of one connection (loop-clock seconds): next ping, pong due, subscribe answer due,
    silence."""

    pong_timeout: float
    silence_seconds: float
    heard: float
    next_ping: float = 0.0
    pong_due: float | None = None
    ack_due: float | None = None

    def next_deadline(self) -> float:
        """Return the earliest moment something must be checked."""
        due = [d for d in (self.next_ping, self.pong_due, self.ack_due) if d is not None]
        return min(due + [self.heard + self.silence_seconds])

    def expired(self, now: float) -> str | None:
        """Return why the connection counts as dead at `now`, or None while it is alive."""
        if self.pong_due is not None and now >= self.pong_due:
            return f"no pong within {self.pong_timeout:g} s"
        if self.ack_due is not None and now >= self.ack_due:
            return f"no subscribe answer within {self.pong_timeout:g} s"
        if now - self.heard >= self.silence_seconds:
            return f"nothing received for {self.silence_seconds:g} s"
        return None


def topics_for(symbol_map: tuple[tuple[str, str], ...]) -> list[str]:
    """Return the allLiquidation topic of every configured Bybit contract."""
    return [f"{TOPIC_PREFIX}{contract}" for contract, _ in symbol_map]


def plan_after_rejection(
    batch: tuple[str, ...], ret_msg: str
) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """Return (topics to drop, batches to resubscribe) after a success:false answer to `batch`."""
    named = tuple(t for t in NAMED_TOPIC.findall(ret_msg or "") if t in batch)
    if named:
        rest = tuple(t for t in batch if t not in named)
        return named, [rest] if rest else []
    if len(batch) == 1:
        return batch, []
    # Bybit did not say which topic it refused: ask for each alone so the next answer names the
    # culprit.
    return (), [(t,) for t in batch]


def frame_kind(frame: dict) -> str:
    """Return what a decoded frame is: 'subscribe', 'pong', 'push', 'legacy' or 'other'."""
    if frame.get("op") == "subscribe":
        return "subscribe"
    if frame.get("ret_msg") == "pong" or frame.get("op") == "pong":
        return "pong"
    topic = frame.get("topic")
    if isinstance(topic, str) and topic.startswith(TOPIC_PREFIX):
        return "push"
    if isinstance(topic, str) and topic.startswith("liquidation."):
        return "legacy"
    return "other"


def next_flush_delay(now: datetime, period_seconds: float, grace_seconds: float) -> float:
    """Return the seconds until the next period boundary plus grace (minute boundaries + 3 s in
    production)."""
    elapsed = (now.timestamp() - grace_seconds) % period_seconds
    return period_seconds - elapsed


def flush_minutes(
    db: Database,
    book: MinuteBook,
    status: StreamStatus,
    rule: SpikeRule,
    cutoff: datetime | None,
    now: datetime,
) -> int:
    """Write the minutes closed by `cutoff` (all of them when None) and beat while live; return
    minutes written."""
    totals = book.pop_all() if cutoff is None else book.pop_closed(cutoff)
    spikes = write_minutes(db, totals, rule, now)
    if status.live:
        beat(db, "listener", now)
    for spike in spikes:
        log.warning(
            "liquidation spike %s %s %s: %s USD in %d liquidations, baseline %s USD (%s)",
            spike.symbol,
            spike.side,
            f"{spike.minute:%H:%M}",
            round(spike.notional_usd),
            spike.count,
            round(spike.baseline_usd),
            spike.rule,
        )
    return len(totals)


async def keep_minutes(
    db: Database,
    book: MinuteBook,
    status: StreamStatus,
    config: StreamConfig,
    clock: Callable[[], datetime],
) -> None:
    """Write closed minutes once per period, for as long as the listener runs."""
    while True:
        await asyncio.sleep(
            next_flush_delay(clock(), config.flush_period_seconds, config.flush_grace_seconds)
        )
        now = clock()
        flush_minutes(
            db, book, status, config.rule, now - timedelta(seconds=config.flush_grace_seconds), now
        )


def handle_frame(raw: str | bytes, book: MinuteBook, status: StreamStatus) -> dict | None:
    """Decode a frame and feed a push into the book; return the frame for the caller, None when
    skipped."""
    status.frames += 1
    try:
        frame = json.loads(raw)
        if not isinstance(frame, dict):
            raise PushError("bybit frame is not a JSON object")
        if frame_kind(frame) == "push":
            status.liquidations += book.add(parse_push(frame))
    except (ValueError, PushError) as exc:
        status.malformed += 1
        log.warning("bybit: malformed frame skipped (%s): %.200r", exc, raw)
        return None
    return frame


async def follow_stream(
    db: Database,
    book: MinuteBook,
    status: StreamStatus,
    config: StreamConfig,
    clock: Callable[[], datetime],
) -> None:
    """Keep a subscribed connection forever: reconnect with exponential back-off and jitter, record
    blind time."""
    while True:
        retrying = AsyncRetrying(
            wait=wait_exponential_jitter(
                multiplier=config.backoff_initial_seconds,
                max=config.backoff_max_seconds,
                jitter=config.backoff_initial_seconds,
            ),
            retry=retry_if_exception_type(StreamLost),
            before_sleep=_log_retry,
            reraise=True,
        )
        # A session that got subscribed returns after it is lost, so the next outage starts a fresh
        # back-off.
        await retrying(_session, db, book, status, config, clock)


def _log_retry(state) -> None:
    """Log a failed connection attempt and the wait before the next one."""
    log.warning(
        "bybit: %s; reconnecting in %.1f s (attempt %d)",
        state.outcome.exception(),
        state.next_action.sleep,
        state.attempt_number + 1,
    )


async def _session(
    db: Database,
    book: MinuteBook,
    status: StreamStatus,
    config: StreamConfig,
    clock: Callable[[], datetime],
) -> None:
    """Run one connection; return when it was lost after subscribing, raise StreamLost when it never
    got there."""
    try:
        async with connect(
            config.url,
            ping_interval=None,
            open_timeout=config.pong_timeout_seconds,
            close_timeout=1,
            max_size=MAX_FRAME_BYTES,
        ) as ws:
            status.connections += 1
            await _follow(ws, db, book, status, config, clock)
    except (StreamLost, OSError, TimeoutError, InvalidHandshake, ConnectionClosed) as exc:
        reason = (
            exc
            if isinstance(exc, StreamLost)
            else StreamLost(f"connection lost: {str(exc) or type(exc).__name__}")
        )
        if not status.live:
            raise reason from (None if reason is exc else exc)
        status.live = False
        open_gap(db, clock(), str(reason))
        log.warning("bybit: %s; blind until resubscribed", reason)


async def _follow(
    ws: ClientConnection,
    db: Database,
    book: MinuteBook,
    status: StreamStatus,
    config: StreamConfig,
    clock: Callable[[], datetime],
) -> None:
    """Subscribe, then read frames, ping and watch the deadlines until the connection is lost."""
    loop = asyncio.get_running_loop()
    subs = Subscriptions()
    alive = Liveness(config.pong_timeout_seconds, config.silence_seconds, heard=loop.time())
    alive.next_ping = loop.time() + config.ping_seconds
    alive.ack_due = loop.time() + config.pong_timeout_seconds
    await ws.send(subs.request(tuple(status.topics)))
    pings = itertools.count(1)
    while True:
        raw = await _receive(ws, alive.next_deadline())
        now = loop.time()
        if raw is not None:
            alive.heard = now
            frame = handle_frame(raw, book, status)
            if frame is not None:
                await _on_control(ws, frame, subs, alive, db, status, clock)
        if now >= alive.next_ping:
            await ws.send(json.dumps({"req_id": f"ping-{next(pings)}", "op": "ping"}))
            alive.next_ping = now + config.ping_seconds
            alive.pong_due = alive.pong_due or now + config.pong_timeout_seconds
        reason = alive.expired(now)
        if reason:
            raise StreamLost(reason)


async def _receive(ws: ClientConnection, deadline: float) -> str | bytes | None:
    """Return the next frame, or None when the deadline passes first (cancelling recv loses no
    data)."""
    try:
        async with asyncio.timeout_at(deadline):
            return await ws.recv()
    except TimeoutError:
        return None


async def _on_control(
    ws: ClientConnection,
    frame: dict,
    subs: Subscriptions,
    alive: Liveness,
    db: Database,
    status: StreamStatus,
    clock: Callable[[], datetime],
) -> None:
    """Act on a pong or a subscribe answer; log frames this client does not expect."""
    kind = frame_kind(frame)
    if kind == "pong":
        alive.pong_due = None
    elif kind == "subscribe":
        await _on_subscribe_answer(ws, frame, subs, alive, db, status, clock)
    elif kind == "legacy":
        log.warning("bybit: deprecated liquidation.* push ignored (topic %s)", frame.get("topic"))
    elif kind == "other":
        log.info("bybit: unexpected frame ignored: %.200s", json.dumps(frame))


async def _on_subscribe_answer(
    ws: ClientConnection,
    frame: dict,
    subs: Subscriptions,
    alive: Liveness,
    db: Database,
    status: StreamStatus,
    clock: Callable[[], datetime],
) -> None:
    """Confirm a subscribe, or drop the refused topic and resubscribe the rest; go live when none is
    pending."""
    batch = subs.answer(frame.get("req_id"))
    if frame.get("success") is not True:
        dropped, retries = plan_after_rejection(batch, str(frame.get("ret_msg", "")))
        _drop_topics(db, status, dropped, str(frame.get("ret_msg", "")), clock())
        for topics in retries:
            await ws.send(subs.request(topics))
        alive.ack_due = alive.heard + alive.pong_timeout
    if subs.pending:
        return
    alive.ack_due = None
    if not status.live:
        status.live = True
        now = clock()
        close_gaps(db, now)
        beat(db, "listener", now)
        log.info("bybit: subscribed to %s", ", ".join(status.topics))


def _drop_topics(
    db: Database, status: StreamStatus, dropped: tuple[str, ...], ret_msg: str, now: datetime
) -> None:
    """Stop asking for topics Bybit refused, tell a person, and give up when none is left."""
    for topic in dropped:
        if topic in status.topics:
            status.topics.remove(topic)
        log.error("bybit refused %s: %s; dropped it, that symbol is not watched", topic, ret_msg)
        queue_alert(
            db,
            "warning",
            "listener_topic_refused",
            f"Bybit refused {topic} ({ret_msg}); liquidation spikes are not watched for it. "
            f"Check [listener] symbol_map.",
            now,
            dedupe_key=f"listener-refused:{topic}:{now:%Y-%m-%d}",
        )
    if not status.topics:
        raise StreamRefused(
            f"Bybit refused every liquidation topic ({ret_msg}); check [listener] symbol_map"
        )


async def listen(
    db: Database,
    config: StreamConfig,
    stop: asyncio.Event,
    clock: Callable[[], datetime] = utc_now,
    status: StreamStatus | None = None,
) -> StreamStatus:
    """Run the listener until `stop` is set; write the current minute and mark the blind time on the
    way out."""
    status = status or StreamStatus(topics_for(config.symbol_map))
    book = MinuteBook(dict(config.symbol_map))
    open_gap(db, last_beat(db, "listener") or clock(), "listener was not running")
    refused: StreamRefused | ExceptionGroup[StreamRefused] | None = None
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [
                group.create_task(keep_minutes(db, book, status, config, clock)),
                group.create_task(follow_stream(db, book, status, config, clock)),
            ]
            await stop.wait()
            for task in tasks:
                task.cancel()
    except* StreamRefused as failures:
        refused = failures.exceptions[0]
    finally:
        status.live, now = False, clock()
        written = flush_minutes(db, book, status, config.rule, None, now)
        open_gap(db, now, "listener stopped")
        log.info(
            "listener stopped: wrote %d open minute(s); %d frames, %d liquidations, %d malformed",
            written,
            status.frames,
            status.liquidations,
            status.malformed,
        )
    if refused is not None:
        raise refused
    return status
