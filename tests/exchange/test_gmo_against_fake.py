"""The live client over real HTTP against the local fake GMO server: orders, fills, stops,
positions, faults."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from signaldesk.exchange import errors
from signaldesk.exchange.gmo import GmoExchange
from signaldesk.exchange.model import (
    BUY,
    FAS,
    LIMIT,
    MARKET,
    SELL,
    SOK,
    STOP,
    CloseBulkRequest,
    CloseRequest,
    OrderRequest,
)
from tests.fakes.gmo_server import FakeGmo

D = Decimal


@pytest.fixture
def fake():
    with FakeGmo(timeout_sleep=1.0) as server:
        server.set_book("BTC_JPY", bid="9999000", ask="10000000", bid_size="0.01", ask_size="0.005")
        server.set_book("BTC", bid="9998000", ask="10001000")
        yield server


@pytest.fixture
def gmo(fake):
    with httpx.Client(timeout=0.4) as http:
        yield fake.client(http)


def test_public_market_data(gmo):
    assert gmo.status() == "OPEN"
    assert gmo.symbol_rules()["BTC_JPY"].min_size == D("0.001")
    book = gmo.order_book("BTC_JPY")
    assert (book.best_bid, book.best_ask) == (D("9999000"), D("10000000"))
    assert gmo.ticker("BTC_JPY").ask == D("10000000")


def test_post_only_rests_then_cancels_asynchronously(gmo, fake):
    order_id = gmo.place_order(OrderRequest("BTC_JPY", BUY, LIMIT, D("0.01"), D("9999000"), SOK))
    assert [o.order_id for o in gmo.active_orders("BTC_JPY")] == [order_id]
    gmo.cancel_order(order_id)
    assert [o.status for o in gmo.active_orders("BTC_JPY")] == ["CANCELLING"]
    gmo.cancel_order(order_id)  # ERR-5122 while CANCELLING: the client counts it as cancelled
    time.sleep(fake.cancel_delay + 0.1)
    assert gmo.active_orders("BTC_JPY") == []
    (order,) = gmo.orders([order_id])
    assert (order.status, order.cancel_type) == ("CANCELED", "USER")
    gmo.cancel_order(order_id)  # already final: still fine


def test_post_only_that_would_cross_expires_sok(gmo):
    order_id = gmo.place_order(OrderRequest("BTC_JPY", BUY, LIMIT, D("0.01"), D("10000000"), SOK))
    (order,) = gmo.orders([order_id])
    assert (order.status, order.cancel_type, order.executed_size) == (
        "EXPIRED",
        "EXPIRED_SOK",
        D("0"),
    )
    assert gmo.executions(order_id) == []


def test_partial_fill_by_a_trade_through(gmo, fake):
    order_id = gmo.place_order(OrderRequest("BTC_JPY", BUY, LIMIT, D("0.01"), D("9999000"), SOK))
    fake.trade_at("BTC_JPY", "9998000", size="0.004")
    (order,) = gmo.orders([order_id])
    assert (order.status, order.executed_size) == ("ORDERED", D("0.004"))
    (fill,) = gmo.executions(order_id)
    assert (fill.price, fill.size, fill.settle_type) == (D("9999000"), D("0.004"), "OPEN")
    assert [p.size for p in gmo.open_positions("BTC_JPY")] == [D("0.004")]


def test_crossing_fas_limit_takes_the_book_and_rests_the_rest(gmo):
    order_id = gmo.place_order(OrderRequest("BTC_JPY", BUY, LIMIT, D("0.008"), D("10000000"), FAS))
    (order,) = gmo.orders([order_id])
    assert (order.status, order.executed_size) == ("ORDERED", D("0.005"))


def test_stop_triggers_on_the_trade_and_closes_a_position(gmo, fake):
    gmo.place_order(OrderRequest("BTC_JPY", BUY, MARKET, D("0.005")))
    (position,) = gmo.open_positions("BTC_JPY")
    assert (position.side, position.price) == (BUY, D("10000000"))
    stop_id = gmo.close_order(
        CloseRequest("BTC_JPY", SELL, STOP, position.position_id, D("0.005"), D("9900000"))
    )
    assert gmo.orders([stop_id])[0].status == "WAITING"
    assert gmo.open_positions("BTC_JPY")[0].ordered_size == D("0.005")
    fake.trade_at("BTC_JPY", "9950000")
    assert gmo.orders([stop_id])[0].status == "WAITING"
    fake.trade_at("BTC_JPY", "9890000")
    (stop,) = gmo.orders([stop_id])
    assert (stop.status, stop.executed_size) == ("EXECUTED", D("0.005"))
    (fill,) = gmo.executions(stop_id)
    assert (fill.price, fill.loss_gain) == (D("9890000"), D("-550.000"))
    assert gmo.open_positions("BTC_JPY") == []


def test_stop_that_would_trigger_at_once_is_refused(gmo):
    with pytest.raises(errors.OrderRejected) as raised:
        gmo.place_order(OrderRequest("BTC_JPY", SELL, STOP, D("0.01"), D("10000000")))
    assert raised.value.reason == "stop_would_trigger"


def test_close_bulk_and_position_summary(gmo, fake):
    gmo.place_order(OrderRequest("BTC_JPY", SELL, MARKET, D("0.004")))
    gmo.place_order(OrderRequest("BTC_JPY", SELL, MARKET, D("0.004")))
    (summary,) = gmo.position_summary("BTC_JPY")
    assert (summary.side, summary.position_quantity) == (SELL, D("0.008"))
    fake.set_book("BTC_JPY", bid="9000000", ask="9001000", ask_size="1")
    order_id = gmo.close_bulk(CloseBulkRequest("BTC_JPY", BUY, MARKET, D("0.008")))
    assert sum(e.loss_gain for e in gmo.executions(order_id)) > 0
    assert gmo.open_positions("BTC_JPY") == []


def test_change_order_and_cancel_bulk(gmo, fake):
    first = gmo.place_order(OrderRequest("BTC_JPY", BUY, LIMIT, D("0.01"), D("9990000"), SOK))
    gmo.place_order(OrderRequest("BTC_JPY", BUY, LIMIT, D("0.01"), D("9980000"), SOK))
    gmo.change_order(first, D("9991000"), symbol="BTC_JPY")
    assert gmo.orders([first])[0].price == D("9991000")
    time.sleep(fake.modify_delay + 0.05)  # MODIFYING for a moment
    assert len(gmo.cancel_bulk(["BTC_JPY"])) == 2
    time.sleep(fake.cancel_delay + 0.1)
    assert gmo.active_orders("BTC_JPY") == []


def test_spot_cannot_sell_coins_it_does_not_hold(gmo):
    with pytest.raises(errors.InsufficientFunds):
        gmo.place_order(OrderRequest("BTC", SELL, LIMIT, D("0.01"), D("10100000"), SOK))


def test_bad_signature_is_refused_by_the_fake(fake):
    with httpx.Client(timeout=2) as http:
        wrong = fake.client(http, api_secret="not-the-secret")
        with pytest.raises(errors.AuthError) as raised:
            wrong.assets()
    assert raised.value.code == "ERR-5010"


def test_skewed_clock_is_refused(fake):
    with httpx.Client(timeout=2) as http:
        late = GmoExchange(
            http,
            public_url=fake.public_url,
            private_url=fake.private_url,
            api_key=fake.api_key,
            api_secret=fake.api_secret,
            clock=lambda: datetime(2020, 1, 1, tzinfo=UTC),
        )
        with pytest.raises(errors.AuthError) as raised:
            late.margin()
    assert raised.value.code == "ERR-5009"


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("maintenance", errors.Maintenance),
        ("malformed", errors.MalformedResponse),
        ("truncated", errors.MalformedResponse),
        ("ERR-5012", errors.AuthError),
    ],
)
def test_faults_become_clear_errors(gmo, fake, kind, error):
    fake.fail_next("/v1/activeOrders", kind)
    with pytest.raises(error, match="/v1/activeOrders"):
        gmo.active_orders("BTC_JPY")


def test_read_faults_are_retried(gmo, fake):
    fake.fail_next("/v1/account/margin", "rate_limit")
    fake.fail_next("/v1/account/margin", "http500")
    assert gmo.margin().margin_call_status == "NORMAL"
    assert fake.count("GET", "/v1/account/margin") == 3


def test_order_timeout_is_sent_once_and_the_order_exists(gmo, fake):
    fake.fail_next("/v1/order", "timeout")
    with pytest.raises(errors.OrderOutcomeUnknown):
        gmo.place_order(OrderRequest("BTC_JPY", BUY, LIMIT, D("0.01"), D("9990000"), SOK))
    assert fake.count("POST", "/v1/order") == 1
    assert [o.status for o in gmo.active_orders("BTC_JPY")] == ["ORDERED"]
