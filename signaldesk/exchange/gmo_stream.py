"""GMO Coin's private WebSocket: fills, order and position changes pushed within a second of
happening.

The token comes from POST /v1/ws-auth, is extended with PUT every `extend_seconds` (GMO keeps it 60
minutes) and is created anew when GMO refuses it (after maintenance); executionEvents, orderEvents
and positionEvents are subscribed one command at a time, `command_gap` seconds apart (GMO allows one
per second per IP). Pushes are not trusted as state: each one only wakes trade management, which
reads the exchange's REST answers; the periodic poll stays the fallback that catches whatever the
socket missed (hummingbot's user stream works the same way: the stream drives, the REST status poll
reconciles). A lost socket reconnects with backoff, and every (re)connection wakes management once,
since pushes sent while it was down are gone.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.sync.client import connect

from signaldesk.exchange.errors import ExchangeError

log = logging.getLogger("signaldesk.exchange.stream")
CHANNELS = ("executionEvents", "orderEvents", "positionEvents")
STREAM_ERRORS = (
    OSError,
    TimeoutError,
    ConnectionClosed,
    InvalidHandshake,
    InvalidURI,
    ExchangeError,
)


@dataclass(frozen=True)
class PrivateEvent:
    """One push of the private stream (or `connected` after a (re)connection), with the ids it
    names."""

    channel: str
    kind: str
    symbol: str | None = None
    order_id: int | None = None
    position_id: int | None = None


def parse_event(text: str | bytes) -> PrivateEvent | None:
    """Return the event of one frame; None for an error frame or anything that is not a known
    push."""
    try:
        frame = json.loads(text)
    except ValueError:
        log.warning("private stream: unreadable frame %r", text[:120])
        return None
    if not isinstance(frame, dict):
        return None
    if "error" in frame:
        log.warning("private stream refused a command: %s", frame["error"])
        return None
    if frame.get("channel") not in CHANNELS:
        return None
    return PrivateEvent(
        frame["channel"],
        str(frame.get("msgType", "")),
        frame.get("symbol"),
        _int(frame.get("orderId")),
        _int(frame.get("positionId")),
    )


def _int(value) -> int | None:
    """Return an id as int, None when absent or not an id."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return int(value) if isinstance(value, str) and value.isdigit() else None


@dataclass
class StreamState:
    """What the stream has done, for logs, /status and tests."""

    connections: int = 0
    events: int = 0
    tokens: int = 0
    extended: int = 0
    last_error: str = ""
    live: bool = False
    errors: list[str] = field(default_factory=list)


class PrivateStream:
    """Follows the private WebSocket in a thread of its own until stopped; calls `on_event` for
    every push."""

    def __init__(
        self,
        tokens,
        url: str,
        on_event: Callable[[PrivateEvent], None],
        *,
        extend_seconds: float = 1800.0,
        command_gap: float = 1.1,
        backoff: tuple[float, ...] = (1, 2, 4, 8, 15, 30),
    ):
        self.tokens, self.url, self.on_event = tokens, url.rstrip("/"), on_event
        self.extend_seconds, self.command_gap, self.backoff = extend_seconds, command_gap, backoff
        self.state = StreamState()
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        """Follow the stream in a daemon thread."""
        self.thread = threading.Thread(target=self.run, name="gmo-private-stream", daemon=True)
        self.thread.start()

    def close(self, timeout: float = 3.0) -> None:
        """Stop following the stream (the token is deleted on the way out)."""
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout)

    def run(self) -> None:
        """Reconnect with backoff until stopped."""
        failures = 0
        while not self.stop.is_set():
            try:
                self.session()
                failures = 0
            except STREAM_ERRORS as exc:
                self.state.live = False
                self.state.last_error = f"{type(exc).__name__}: {exc}"
                self.state.errors.append(self.state.last_error)
                log.warning("private stream lost (%s); reconnecting", self.state.last_error)
                self.stop.wait(self.backoff[min(failures, len(self.backoff) - 1)])
                failures += 1

    def session(self) -> None:
        """Run one connection: token, connect, then subscribe (paced), relay pushes and extend the
        token."""
        token = self.tokens.ws_token()
        self.state.tokens += 1
        try:
            with connect(f"{self.url}/{token}", open_timeout=10, close_timeout=2) as ws:
                self.state.connections += 1
                self.relay(ws, token)
        finally:
            self.state.live = False
            self._delete(token)

    def relay(self, ws, token: str) -> None:
        """Subscribe the channels one command per `command_gap` seconds while already relaying
        pushes (fills first: executionEvents is subscribed first), keep the token alive, until
        stopped or the socket drops."""
        waiting = list(CHANNELS)
        command_at = time.monotonic()
        extend_at = command_at + self.extend_seconds
        while not self.stop.is_set():
            now = time.monotonic()
            if waiting and now >= command_at:
                ws.send(json.dumps({"command": "subscribe", "channel": waiting.pop(0)}))
                command_at = now + self.command_gap
                if (
                    len(waiting) == len(CHANNELS) - 1
                ):  # fills are followed: wake once for what was missed
                    self.state.live = True
                    self.on_event(PrivateEvent("connected", "connected"))
            self.receive(ws, min(0.5, max(command_at - now, 0.01)) if waiting else 0.5)
            if time.monotonic() >= extend_at:
                self.tokens.extend_ws_token(
                    token
                )  # refused (expired): raises, and we reconnect anew
                self.state.extended += 1
                extend_at = time.monotonic() + self.extend_seconds

    def receive(self, ws, timeout: float) -> None:
        """Wait up to `timeout` seconds for one frame and hand its push to `on_event`."""
        try:
            frame = ws.recv(timeout=timeout)
        except TimeoutError:
            return
        event = parse_event(frame)
        if event is not None:
            self.state.events += 1
            self.on_event(event)

    def _delete(self, token: str) -> None:
        """Delete a token on the way out (best effort: it expires in an hour anyway)."""
        try:
            self.tokens.delete_ws_token(token)
        except ExchangeError as exc:
            log.info("private stream token not deleted: %s", exc)
