"""The fake GMO private WebSocket (`/ws/private/v1/{token}`): tokens from the fake's /v1/ws-auth,
subscribe paced at one command per second per IP (else `{"error":"ERR-5003 Request too many."}`),
and the pushes of executionEvents, orderEvents and positionEvents in the recorded fixture shapes."""

from __future__ import annotations

import json
import queue
import threading
import time
from http import HTTPStatus

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import serve

CHANNELS = ("executionEvents", "orderEvents", "positionEvents", "positionSummaryEvents")
TOKEN_LIFETIME = 3600.0
MAX_TOKENS = 5


class Tokens:
    """Private WebSocket tokens: 60 minutes, at most 5 (a sixth deletes the one expiring
    soonest)."""

    def __init__(self):
        self.expiry: dict[str, float] = {}
        self.count = 0
        self.lock = threading.Lock()

    def create(self) -> str:
        """Return a new token."""
        with self.lock:
            self.count += 1
            token = f"fake-ws-token-{self.count:04d}"
            if len(self.expiry) >= MAX_TOKENS:
                del self.expiry[min(self.expiry, key=self.expiry.get)]
            self.expiry[token] = time.monotonic() + TOKEN_LIFETIME
            return token

    def valid(self, token: str) -> bool:
        """Return True while the token exists and has not expired."""
        with self.lock:
            return self.expiry.get(token, 0) > time.monotonic()

    def extend(self, token: str) -> bool:
        """Reset a valid token to 60 minutes; return False for an unknown or expired one."""
        with self.lock:
            if self.expiry.get(token, 0) <= time.monotonic():
                return False
            self.expiry[token] = time.monotonic() + TOKEN_LIFETIME
            return True

    def delete(self, token: str) -> bool:
        """Delete a token; return False when it did not exist."""
        with self.lock:
            return self.expiry.pop(token, None) is not None

    def expire_all(self) -> None:
        """Invalidate every token (as maintenance does)."""
        with self.lock:
            self.expiry.clear()


class PrivateStream:
    """The WebSocket server: one thread per client, pushes queued per client."""

    def __init__(self, tokens: Tokens):
        self.tokens = tokens
        self.clients: list[tuple[object, set, queue.Queue]] = []
        self.lock = threading.Lock()
        self.last_command = 0.0
        self.commands: list[dict] = []
        self.connections = 0
        self.server = serve(self._serve, "127.0.0.1", 0, process_request=self._check_token)
        self.serving = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.serving.start()

    @property
    def url(self) -> str:
        """Return the base URL; clients append /{token}."""
        return f"ws://127.0.0.1:{self.server.socket.getsockname()[1]}/ws/private/v1"

    def close(self) -> None:
        """Stop serving and drop every client; return once the serving thread is done (a thread
        still starting would otherwise log after its test, into a capture pytest has closed)."""
        self.drop_all()
        self.server.shutdown()
        self.serving.join(timeout=5)

    def drop_all(self) -> None:
        """Close every client connection (a network drop)."""
        with self.lock:
            clients, self.clients = self.clients, []
        for connection, _, _ in clients:
            connection.close()

    def publish(self, channel: str, payload: dict) -> None:
        """Queue one push for every client subscribed to the channel."""
        text = json.dumps({"channel": channel, **payload})
        with self.lock:
            for _, channels, outbox in self.clients:
                if channel in channels:
                    outbox.put(text)

    def _check_token(self, connection, request):
        """Refuse the handshake for an unknown or expired token."""
        token = request.path.rstrip("/").rsplit("/", 1)[-1]
        if not request.path.startswith("/ws/private/v1/") or not self.tokens.valid(token):
            return connection.respond(HTTPStatus.UNAUTHORIZED, "invalid token\n")
        return None

    def _serve(self, connection) -> None:
        """Serve one client: answer commands, flush its pushes."""
        channels: set[str] = set()
        outbox: queue.Queue = queue.Queue()
        with self.lock:
            self.clients.append((connection, channels, outbox))
            self.connections += 1
        try:
            while True:
                while not outbox.empty():
                    connection.send(outbox.get())
                try:
                    raw = connection.recv(timeout=0.02)
                except TimeoutError:
                    continue
                self._command(connection, channels, raw)
        except ConnectionClosed:
            pass
        finally:
            with self.lock:
                self.clients = [c for c in self.clients if c[0] is not connection]

    def _command(self, connection, channels: set, raw) -> None:
        """Apply one subscribe/unsubscribe, paced at one per second (else ERR-5003)."""
        now = time.monotonic()
        try:
            command = json.loads(raw)
        except ValueError:
            command = {}
        self.commands.append(command)
        if now - self.last_command < 1.0:
            connection.send(json.dumps({"error": "ERR-5003 Request too many."}))
            return
        self.last_command = now
        channel = command.get("channel")
        if command.get("command") not in ("subscribe", "unsubscribe") or channel not in CHANNELS:
            connection.send(json.dumps({"error": "ERR-5106 Invalid request parameter."}))
            return
        if command["command"] == "subscribe":
            channels.add(channel)
        else:
            channels.discard(channel)

    def subscribed(self, channel: str = "executionEvents") -> int:
        """Return how many clients are subscribed to a channel."""
        with self.lock:
            return sum(1 for _, channels, _ in self.clients if channel in channels)
