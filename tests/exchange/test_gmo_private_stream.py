"""The private WebSocket client against the fake GMO: token from /v1/ws-auth, fills subscribed first
and pushed at once, one command a second, the token extended, a new token after a refused one,
reconnection after a drop."""

from __future__ import annotations

import time
from decimal import Decimal

import httpx
import pytest

from signaldesk.exchange.gmo_stream import PrivateStream, parse_event
from signaldesk.exchange.model import OrderRequest
from tests.fakes.gmo_server import FakeGmo, fixture


@pytest.fixture
def fake():
    with FakeGmo() as server:
        server.set_book("BTC_JPY", bid="9999000", ask="10000000", bid_size="5", ask_size="5")
        yield server


@pytest.fixture
def gmo(fake):
    with httpx.Client(timeout=2) as http:
        yield fake.client(http)


def following(fake, gmo, **options):
    """Start a stream recording (monotonic time, event); return it and the record."""
    seen = []
    stream = PrivateStream(
        gmo, fake.ws_private_url, lambda e: seen.append((time.monotonic(), e)), **options
    )
    stream.start()
    return stream, seen


def wait(condition, timeout: float = 5.0) -> None:
    """Wait for a condition or fail."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError("timed out")


def test_the_recorded_pushes_parse_to_what_wakes_management():
    execution = parse_event(str(fixture("ws_executionEvents.json")).replace("'", '"'))
    assert (execution.channel, execution.kind, execution.order_id, execution.position_id) == (
        "executionEvents",
        "ER",
        123456789,
        123456789,
    )
    assert parse_event('{"error":"ERR-5003 Request too many."}') is None
    assert parse_event("not json") is None


def test_a_fill_is_pushed_within_moments_once_fills_are_subscribed(fake, gmo):
    stream, seen = following(fake, gmo)
    try:
        wait(lambda: fake.stream.subscribed("executionEvents"))
        gmo.place_order(
            OrderRequest("BTC_JPY", "BUY", "LIMIT", Decimal("0.01"), Decimal("9999000"), "SOK")
        )
        filled_at = time.monotonic()
        fake.trade_at("BTC_JPY", "9999000")
        wait(lambda: any(e.channel == "executionEvents" for _, e in seen))
        arrival = next(t for t, e in seen if e.channel == "executionEvents")
        wait(lambda: fake.stream.subscribed("positionEvents"), 5)
    finally:
        stream.close()
    assert seen[0][1].channel == "connected"  # a (re)connection wakes management once
    assert arrival - filled_at < 0.5
    commands = [c["channel"] for c in fake.stream.commands]
    assert commands == ["executionEvents", "orderEvents", "positionEvents"]
    assert fake.count("DELETE", "/v1/ws-auth") == 1  # the token is deleted on the way out


def test_the_token_is_extended_and_replaced_when_refused(fake, gmo):
    stream, seen = following(fake, gmo, extend_seconds=0.3, command_gap=0.1, backoff=(0.1,))
    try:
        wait(lambda: stream.state.extended >= 1)
        fake.tokens.expire_all()  # maintenance: every token is gone
        wait(lambda: stream.state.tokens >= 2 and stream.state.live)
    finally:
        stream.close()
    assert fake.count("PUT", "/v1/ws-auth") >= 2  # one accepted, one refused with ERR-5106
    assert stream.state.connections >= 2
    assert sum(1 for _, e in seen if e.channel == "connected") >= 2


def test_a_dropped_socket_reconnects_with_backoff(fake, gmo):
    stream, _ = following(fake, gmo, command_gap=0.1, backoff=(0.1,))
    try:
        wait(lambda: stream.state.live)
        fake.stream.drop_all()
        wait(lambda: stream.state.connections >= 2 and stream.state.live)
    finally:
        stream.close()
    assert stream.state.errors
