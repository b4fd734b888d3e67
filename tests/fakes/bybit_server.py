"""A local fake of Bybit's v5 public linear stream, answering with the recorded fixture shapes
(tests and bench)."""

from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bybit"


def fixture(name: str) -> dict:
    """Return a recorded Bybit payload from tests/fixtures/bybit/<name>.json."""
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


class FakeBybit:
    """Answers subscribe (ack or refusal) and ping (pong) like Bybit Linear, pushes frames, drops
    connections."""

    def __init__(
        self, refuse: tuple[str, ...] = (), answer_pings: bool = True, echo_req_id: bool = True
    ):
        self.refuse = set(refuse)
        self.answer_pings = answer_pings
        self.echo_req_id = echo_req_id
        self.requests: list[dict] = []
        self.connections = 0
        self.clients: set = set()
        self._server = None

    async def __aenter__(self) -> FakeBybit:
        self._server = await serve(
            self._serve_client, "127.0.0.1", 0, ping_interval=None, max_queue=None
        )
        return self

    async def __aexit__(self, *exc) -> None:
        self._server.close()
        await self._server.wait_closed()

    @property
    def url(self) -> str:
        """Return the ws:// URL the fake listens on."""
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"ws://{host}:{port}/v5/public/linear"

    def ops(self, op: str) -> list[dict]:
        """Return the requests received with this op, oldest first."""
        return [r for r in self.requests if r.get("op") == op]

    async def _serve_client(self, ws) -> None:
        """Answer one client's requests until it goes away."""
        self.connections += 1
        self.clients.add(ws)
        try:
            async for raw in ws:
                await self._answer(ws, json.loads(raw))
        except ConnectionClosed:
            pass
        finally:
            self.clients.discard(ws)

    async def _answer(self, ws, request: dict) -> None:
        """Record a request and reply with the Linear ack / refusal / pong shape."""
        self.requests.append(request)
        if request.get("op") == "subscribe":
            await ws.send(json.dumps(self._subscribe_answer(request)))
        elif request.get("op") == "ping" and self.answer_pings:
            await ws.send(json.dumps(self._echo(fixture("pong"), request)))

    def _subscribe_answer(self, request: dict) -> dict:
        """Return the ack, or the refusal naming the first refused topic (the whole batch fails, as
        observed)."""
        refused = [t for t in request.get("args", []) if t in self.refuse]
        if not refused:
            return self._echo(fixture("subscribe_response"), request)
        answer = self._echo(fixture("subscribe_response_failure"), request)
        answer["ret_msg"] = f"error:handler not found,topic:{refused[0]}"
        return answer

    def _echo(self, answer: dict, request: dict) -> dict:
        """Return the answer with the request's req_id echoed (or left empty, like the doc's Linear
        example)."""
        answer = copy.deepcopy(answer)
        answer["req_id"] = request.get("req_id", "") if self.echo_req_id else ""
        return answer

    async def push(self, frame: dict | str) -> None:
        """Send a frame (a dict as JSON, or raw text) to every connected client."""
        text = frame if isinstance(frame, str) else json.dumps(frame)
        for ws in list(self.clients):
            await ws.send(text)

    async def drop(self) -> None:
        """Cut every client's connection abruptly (no close handshake), like a network failure."""
        for ws in list(self.clients):
            ws.transport.abort()

    async def close(self) -> None:
        """Close every client's connection cleanly, after the frames already sent."""
        for ws in list(self.clients):
            await ws.close()

    async def wait_until(self, condition, timeout: float = 5.0) -> None:
        """Wait until condition() is true; raise TimeoutError naming the wait when it is not."""
        async with asyncio.timeout(timeout):
            while not condition():
                await asyncio.sleep(0.01)


def liquidation_push(contract: str, entries: list[tuple[str, str, str]], time_ms: int) -> dict:
    """Return an allLiquidation push in the fixture's shape with (S, v, p) entries at `time_ms`."""
    frame = fixture("liquidation_push_batch")
    frame["topic"] = f"allLiquidation.{contract}"
    frame["ts"] = time_ms + 300
    frame["data"] = [
        {"T": time_ms + i, "s": contract, "S": s, "v": v, "p": p}
        for i, (s, v, p) in enumerate(entries)
    ]
    return frame
