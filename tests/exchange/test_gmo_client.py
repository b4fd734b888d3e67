"""The live client through httpx.MockTransport: error taxonomy, read retries, order POSTs sent once,
reconciliation."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from signaldesk.exchange import errors
from signaldesk.exchange.gmo import GmoExchange
from signaldesk.exchange.gmo_errors import CODES
from signaldesk.exchange.model import BUY, LIMIT, SOK, OrderRequest
from signaldesk.exchange.ratelimit import RateLimits, RequestWindow
from signaldesk.exchange.signing import sign

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "gmo"
NOW = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
KEY, SECRET = "test-key", "test-secret"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


class FakeClock:
    """A monotonic clock that only moves when the code under test sleeps."""

    def __init__(self):
        self.t, self.sleeps = 0.0, []

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


def client(handler, clock: FakeClock | None = None) -> GmoExchange:
    clock = clock or FakeClock()
    http = httpx.Client(transport=httpx.MockTransport(handler))
    return GmoExchange(
        http,
        public_url="https://gmo.test/public",
        private_url="https://gmo.test/private",
        api_key=KEY,
        api_secret=SECRET,
        limits=RateLimits.conservative(clock=clock, sleep=clock.sleep),
        sleep=clock.sleep,
        clock=lambda: NOW,
    )


def envelope_error(code: str, text: str = "vendor text") -> bytes:
    return json.dumps(
        {"status": 1, "messages": [{"message_code": code, "message_string": text}]}
    ).encode()


def symbols_or(answer):
    """Return a handler serving /v1/symbols from the fixture and everything else with
    `answer(request)`."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/public/v1/symbols":
            return httpx.Response(200, content=fixture("symbols.json"))
        return answer(request)

    return handler


@pytest.mark.parametrize("code", sorted(CODES))
def test_every_documented_code_maps_to_its_error_type(code):
    exchange = client(lambda request: httpx.Response(200, content=envelope_error(code)))
    exchange.read_attempts = 1
    with pytest.raises(errors.ExchangeError) as raised:
        exchange.margin()
    assert type(raised.value) is CODES[code][0]
    assert raised.value.code == code and raised.value.vendor_text == "vendor text"


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("ERR-5121", "price_band"),
        ("ERR-5126", "invalid_size"),
        ("ERR-5114", "invalid_price"),
        ("ERR-201", "insufficient_funds"),
        ("ERR-5129", "stop_would_trigger"),
    ],
)
def test_order_rejections_carry_the_reason(code, reason):
    exchange = client(symbols_or(lambda request: httpx.Response(200, content=envelope_error(code))))
    with pytest.raises(errors.OrderRejected) as raised:
        exchange.place_order(
            OrderRequest("BTC", BUY, LIMIT, Decimal("0.0001"), Decimal("10000000"), SOK)
        )
    assert raised.value.reason == reason


def test_unknown_code_keeps_its_code_and_text():
    exchange = client(
        lambda request: httpx.Response(200, content=envelope_error("ERR-9999", "brand new"))
    )
    with pytest.raises(errors.ExchangeError) as raised:
        exchange.assets()
    assert (type(raised.value), raised.value.code, raised.value.vendor_text) == (
        errors.ExchangeError,
        "ERR-9999",
        "brand new",
    )


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (500, errors.TemporaryError),
        (502, errors.TemporaryError),
        (429, errors.RateLimited),
        (401, errors.AuthError),
        (404, errors.NotFound),
        (400, errors.InvalidRequest),
    ],
)
def test_http_status_without_envelope(status, error):
    exchange = client(lambda request: httpx.Response(status, content=b"<html>oops</html>"))
    exchange.read_attempts = 1
    with pytest.raises(error, match="GET /private/v1/account/margin"):
        exchange.margin()


def test_reads_are_retried_with_backoff_and_counted():
    answers = [
        httpx.Response(200, content=fixture("error_ERR-5003_rate_limit.json")),
        httpx.Response(503, content=b"busy"),
        httpx.Response(200, content=fixture("margin.json")),
    ]
    seen = []

    def handler(request):
        seen.append(request.url.path)
        return answers[len(seen) - 1]

    clock = FakeClock()
    exchange = client(handler, clock)
    assert exchange.margin().margin == Decimal("1021682")
    assert len(seen) == 3 and exchange.read_retries == 2
    assert clock.sleeps == [2.0, 1.0]  # rate limit: at least 2 s; then exponential 0.5 * 2


def test_transport_errors_on_reads_are_retried_then_raised_as_temporary():
    calls = []

    def handler(request):
        calls.append(1)
        raise httpx.ConnectError("connection refused", request=request)

    exchange = client(handler)
    with pytest.raises(errors.TemporaryError, match="ConnectError"):
        exchange.status()
    assert len(calls) == exchange.read_attempts == 4


def test_maintenance_is_not_retried():
    calls = []

    def handler(request):
        calls.append(1)
        return httpx.Response(200, content=fixture("error_ERR-5201_maintenance.json"))

    with pytest.raises(errors.Maintenance):
        client(handler).status()
    assert len(calls) == 1


def test_klines_not_found_is_an_empty_day():
    exchange = client(
        lambda request: httpx.Response(
            404, content=fixture("error_ERR-5207_not_found_http404.json")
        )
    )
    assert exchange.klines("BTC_JPY", "15m", "20210101") == []


def test_private_request_is_signed_without_query_and_with_exact_body():
    seen = {}

    def handler(request):
        if request.url.path == "/public/v1/symbols":
            return httpx.Response(200, content=fixture("symbols.json"))
        seen[request.url.path] = request
        name = "order.json" if request.method == "POST" else "activeOrders.json"
        return httpx.Response(200, content=fixture(name))

    exchange = client(handler)
    exchange.active_orders("BTC")
    exchange.place_order(
        OrderRequest("BTC", BUY, LIMIT, Decimal("0.0001"), Decimal("10000000"), SOK)
    )
    get, post = seen["/private/v1/activeOrders"], seen["/private/v1/order"]
    stamp = get.headers["API-TIMESTAMP"]
    assert get.url.params["symbol"] == "BTC"
    assert get.headers["API-SIGN"] == sign(SECRET, stamp, "GET", "/v1/activeOrders")
    body = post.content.decode()
    assert body == (
        '{"symbol":"BTC","side":"BUY","executionType":"LIMIT","timeInForce":"SOK",'
        '"price":"10000000","size":"0.0001"}'
    )
    assert post.headers["API-SIGN"] == sign(
        SECRET, post.headers["API-TIMESTAMP"], "POST", "/v1/order", body
    )


def test_an_order_refused_locally_is_never_sent():
    sent = []

    def answer(request):
        sent.append(request.url.path)
        return httpx.Response(200, content=fixture("order.json"))

    exchange = client(symbols_or(answer))
    with pytest.raises(errors.OrderRejected, match="not a multiple of the step") as raised:
        exchange.place_order(
            OrderRequest("BTC", BUY, LIMIT, Decimal("0.00015"), Decimal("10000000"), SOK)
        )
    assert raised.value.reason == "invalid_size" and sent == []


def test_order_post_that_times_out_is_sent_once():
    posts = []

    def answer(request):
        posts.append(request.content)
        raise httpx.ReadTimeout("timed out", request=request)

    exchange = client(symbols_or(answer))
    request = OrderRequest("BTC", BUY, LIMIT, Decimal("0.0001"), Decimal("10000000"), SOK)
    with pytest.raises(errors.OrderOutcomeUnknown, match="POST /private/v1/order"):
        exchange.place_order(request)
    assert len(posts) == 1


def test_malformed_answer_to_an_order_post_is_an_unknown_outcome_not_a_retry():
    posts = []

    def answer(request):
        posts.append(1)
        return httpx.Response(200, content=b'{"status": 0, "data": ')

    exchange = client(symbols_or(answer))
    with pytest.raises(errors.OrderOutcomeUnknown) as raised:
        exchange.place_order(
            OrderRequest("BTC", BUY, LIMIT, Decimal("0.0001"), Decimal("10000000"), SOK)
        )
    assert isinstance(raised.value.__cause__, errors.MalformedResponse) and len(posts) == 1


def test_order_post_refused_by_rate_limit_is_raised_as_such_and_not_retried():
    posts = []

    def answer(request):
        posts.append(1)
        return httpx.Response(200, content=fixture("error_ERR-5003_rate_limit.json"))

    with pytest.raises(errors.RateLimited):
        client(symbols_or(answer)).place_order(
            OrderRequest("BTC", BUY, LIMIT, Decimal("0.0001"), Decimal("10000000"), SOK)
        )
    assert len(posts) == 1


def test_cancel_of_an_order_already_final_counts_as_done():
    exchange = client(lambda request: httpx.Response(200, content=envelope_error("ERR-5122")))
    assert exchange.cancel_order(1) is None


def test_private_call_without_keys_is_refused_before_sending():
    sent = []
    http = httpx.Client(transport=httpx.MockTransport(lambda request: sent.append(1)))
    exchange = GmoExchange(
        http, public_url="https://gmo.test/public", private_url="https://gmo.test/private"
    )
    with pytest.raises(errors.AuthError, match="GMO_API_KEY"):
        exchange.assets()
    assert sent == []


def test_request_window_keeps_under_the_limit():
    clock = FakeClock()
    window = RequestWindow(3, clock=clock, sleep=clock.sleep)
    for _ in range(7):
        window.acquire()
    assert clock.sleeps == [1.0, 1.0] and clock.t == 2.0


def test_public_and_private_requests_count_against_separate_windows():
    clock = FakeClock()
    limits = RateLimits.conservative(clock=clock, sleep=clock.sleep)
    for _ in range(10):
        limits.for_request(True, "GET").acquire()
        limits.for_request(True, "POST").acquire()
    assert clock.sleeps == []
    for _ in range(6):
        limits.for_request(False, "GET").acquire()
    assert clock.sleeps == [1.0]
