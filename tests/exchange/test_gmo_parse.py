"""Every recorded GMO payload parsed into domain objects with Decimal values; malformed payloads
refused clearly."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from signaldesk.exchange import parse
from signaldesk.exchange.errors import (
    Maintenance,
    MalformedResponse,
    NotFound,
    OrderRejected,
    RateLimited,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "gmo"


def data_of(name: str):
    """Return `data` of a fixture through the real envelope decoder."""
    return parse.decode_envelope("GET /test", 200, (FIXTURES / name).read_bytes())


def test_status_and_symbols():
    assert parse.parse_status("e", data_of("status.json")) == "OPEN"
    rules = parse.parse_symbol_rules("e", data_of("symbols.json"))
    assert rules["BTC"].maker_fee == Decimal("-0.0001") and rules["BTC"].taker_fee == Decimal(
        "0.0005"
    )
    assert rules["BTC_JPY"].size_step == Decimal("0.01") and rules["BTC_JPY"].tick_size == Decimal(
        "1"
    )


def test_ticker_book_trades_and_klines():
    ticker = parse.parse_tickers("e", data_of("ticker.json"))[0]
    assert (ticker.symbol, ticker.ask, ticker.bid, ticker.volume) == (
        "BTC",
        Decimal("750760"),
        Decimal("750600"),
        Decimal("194785.8484"),
    )
    assert ticker.timestamp == datetime(2018, 3, 30, 12, 34, 56, 789000, tzinfo=UTC)
    book = parse.parse_order_book("e", data_of("orderbooks.json"))
    assert book.best_ask == Decimal("455659") and book.bids[0].size == Decimal("0.1")
    trade = parse.parse_trades("e", data_of("trades.json"), "BTC")[0]
    assert (trade.side, trade.price, trade.size) == ("BUY", Decimal("750760"), Decimal("0.1"))
    candles = parse.parse_klines("e", data_of("klines_15min.json"))
    assert candles[0].open_time == datetime(2021, 4, 16, 21, 0, tzinfo=UTC)
    assert [c.close for c in candles] == [Decimal("6418253"), Decimal("6418245")]
    assert len(parse.parse_klines("e", data_of("klines_1min.json"))) == 2


def test_account_payloads():
    jpy, btc = parse.parse_assets("e", data_of("assets.json"))
    assert (jpy.symbol, jpy.amount, btc.amount, btc.conversion_rate) == (
        "JPY",
        Decimal("993982448"),
        Decimal("4.0002"),
        Decimal("859614"),
    )
    margin = parse.parse_margin("e", data_of("margin.json"))
    assert margin.available_amount == Decimal("57262506") and margin.margin_call_status == "NORMAL"
    volume = parse.parse_trading_volume("e", data_of("tradingVolume.json"))
    assert volume.tier_level == 1 and volume.jpy_volume == Decimal("9988888")
    assert [(f.symbol, f.maker_fee) for f in volume.limits] == [
        ("BTC_JPY", Decimal("0")),
        ("BTC", Decimal("-0.0007")),
    ]
    assert (
        volume.limits[0].today_limit_open_size == Decimal("10000")
        and volume.limits[1].today_limit_buy_size == 98
    )


def test_orders_and_ids():
    executed, cancelled = parse.parse_orders("e", data_of("orders.json"))
    assert (executed.order_id, executed.status, executed.cancel_type, executed.executed_size) == (
        223456789,
        "EXECUTED",
        None,
        Decimal("0.02"),
    )
    assert (cancelled.cancel_type, cancelled.price) == ("USER", Decimal("900000"))
    active = parse.parse_orders("e", data_of("activeOrders.json"))
    assert [o.order_id for o in active] == [123456789] and active[0].is_active
    assert parse.parse_orders("e", data_of("activeOrders_empty.json")) == []
    assert parse.parse_order_id("e", data_of("order.json")) == 637000
    assert parse.parse_order_id("e", data_of("closeOrder.json")) == 637000
    assert parse.parse_order_id("e", data_of("closeBulkOrder.json")) == 637000
    assert parse.parse_id_list("e", data_of("cancelBulkOrder.json")) == [637000, 637002]
    result = parse.parse_cancel_result("e", data_of("cancelOrders.json"))
    assert result.cancelled == (3, 4) and [(f.order_id, f.code) for f in result.failed] == [
        (1, "ERR-5122"),
        (2, "ERR-5122"),
    ]
    for name in ("cancelOrder.json", "changeOrder.json", "changeLosscutPrice.json"):
        assert data_of(name) is None


def test_executions_positions_and_summary():
    first = parse.parse_executions("e", data_of("executions.json"))[0]
    assert (first.execution_id, first.position_id, first.fee, first.loss_gain) == (
        92123912,
        1234567,
        Decimal("223"),
        Decimal("0"),
    )
    latest = parse.parse_executions("e", data_of("latestExecutions.json"))
    assert latest[0].size == Decimal("0.7361")
    position = parse.parse_positions("e", data_of("openPositions.json"))[0]
    assert (position.size, position.ordered_size, position.losscut_price, position.leverage) == (
        Decimal("0.22"),
        Decimal("0"),
        Decimal("766540"),
        Decimal("4"),
    )
    summary = parse.parse_position_summary("e", data_of("positionSummary.json"))[0]
    assert summary.position_quantity == Decimal("11.6999") and summary.average_price == Decimal(
        "715656"
    )


@pytest.mark.parametrize(
    ("name", "error", "code"),
    [
        ("error_ERR-5201_maintenance.json", Maintenance, "ERR-5201"),
        ("error_ERR-5003_rate_limit.json", RateLimited, "ERR-5003"),
        ("error_ERR-5106_invalid_param.json", OrderRejected, "ERR-5106"),
        ("error_ERR-5207_not_found_http404.json", NotFound, "ERR-5207"),
    ],
)
def test_recorded_error_envelopes(name, error, code):
    status = 404 if "404" in name else 200
    with pytest.raises(error) as raised:
        parse.decode_envelope("GET /public/v1/klines", status, (FIXTURES / name).read_bytes())
    assert raised.value.code == code and "GET /public/v1/klines" in str(raised.value)


@pytest.mark.parametrize(
    "body",
    [
        b'{"status": 0, "data": {"list": [{"orderId": 1, "price": "10',  # truncated
        b"<html>502 Bad Gateway</html>",
        b'{"data": []}',  # no status
        b'{"status": 3}',  # error without messages
    ],
)
def test_unreadable_bodies_are_malformed_and_name_the_endpoint(body):
    with pytest.raises(MalformedResponse, match="GET /private/v1/activeOrders"):
        parse.decode_envelope("GET /private/v1/activeOrders", 200, body)


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ({"price": "abc"}, "price"),
        ({"price": "NaN"}, "price"),
        ({"price": None}, "price"),
        ({"size": True}, "size"),
        ({"timestamp": "yesterday"}, "timestamp"),
        ({"orderId": "12x"}, "orderId"),
    ],
)
def test_a_bad_field_is_refused_never_turned_into_a_number(row, field):
    order = {**json.loads((FIXTURES / "activeOrders.json").read_text())["data"]["list"][0], **row}
    with pytest.raises(MalformedResponse) as raised:
        parse.parse_orders("GET /private/v1/activeOrders", {"list": [order]})
    assert f"order.{field}" in str(raised.value) and "GET /private/v1/activeOrders" in str(
        raised.value
    )


def test_inconsistent_kline_is_refused():
    row = {
        "openTime": "1618606800000",
        "open": "10",
        "high": "9",
        "low": "8",
        "close": "9",
        "volume": "1",
    }
    with pytest.raises(MalformedResponse, match="klines"):
        parse.parse_klines("GET /public/v1/klines", [row])


def test_order_book_with_an_empty_side_is_refused():
    with pytest.raises(MalformedResponse, match="empty side"):
        parse.parse_order_book(
            "GET /public/v1/orderbooks", {"asks": [], "bids": [], "symbol": "BTC"}
        )
