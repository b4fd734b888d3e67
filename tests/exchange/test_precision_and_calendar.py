"""Pure rules: price to tick in the passive direction, size to step, minimums, fees; GMO's 06:00 JST
calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from signaldesk.exchange.errors import OrderRejected
from signaldesk.exchange.model import BUY, SELL
from signaldesk.exchange.paperfills import DEFAULT_RULES
from signaldesk.exchange.precision import fee, net_proceeds, round_price, round_size, sized_order
from signaldesk.exchange.tradingday import (
    fee_boundaries,
    gmo_interval,
    kline_date,
    trading_day,
    trading_day_start,
)

D = Decimal
BTC_JPY, BTC = DEFAULT_RULES["BTC_JPY"], DEFAULT_RULES["BTC"]


@pytest.mark.parametrize(
    ("price", "side", "expected"),
    [
        (D("10000000.6"), BUY, D("10000000")),
        (D("10000000.4"), SELL, D("10000001")),
        (D("10000000"), BUY, D("10000000")),
        (D("10000000"), SELL, D("10000000")),
    ],
)
def test_price_rounds_passively(price, side, expected):
    assert round_price(price, side, BTC_JPY) == expected


def test_size_rounds_down_to_step_and_minimum_is_enforced():
    assert round_size(D("0.0129"), BTC_JPY) == D("0.012")
    assert sized_order(D("0.0019"), BTC_JPY) == D("0.001")
    with pytest.raises(OrderRejected, match="below the minimum") as raised:
        sized_order(D("0.0009"), BTC_JPY)
    assert raised.value.reason == "invalid_size"
    with pytest.raises(OrderRejected, match="above the maximum"):
        sized_order(D("6"), BTC_JPY)


def test_fees_maker_rebate_and_taker_cost():
    assert fee(D("10000000"), D("0.01"), BTC, maker=True) == D("-10.0000000")
    assert fee(D("10000000"), D("0.01"), BTC, maker=False) == D("50.0000000")
    assert net_proceeds(D("10000000"), D("0.01"), BUY, BTC, maker=False) == D("-100050")
    assert net_proceeds(D("10000000"), D("0.01"), SELL, BTC, maker=True) == D("100010")


def test_trading_day_starts_0600_jst():
    assert trading_day(datetime(2024, 1, 1, 20, 59, tzinfo=UTC)) == date(2024, 1, 1)
    assert trading_day(datetime(2024, 1, 1, 21, 0, tzinfo=UTC)) == date(2024, 1, 2)
    assert trading_day_start(date(2024, 1, 1)) == datetime(2023, 12, 31, 21, 0, tzinfo=UTC)
    assert (kline_date("15m", date(2024, 1, 1)), kline_date("1day", date(2024, 1, 1))) == (
        "20240101",
        "2024",
    )
    assert gmo_interval("1h") == "1hour"
    with pytest.raises(ValueError, match="interval"):
        gmo_interval("2m")


def test_leverage_fee_boundaries_are_0600_jst_crossings():
    start = datetime(2024, 1, 1, 20, 0, tzinfo=UTC)
    assert fee_boundaries(start, datetime(2024, 1, 1, 20, 59, tzinfo=UTC)) == []
    assert fee_boundaries(start, datetime(2024, 1, 3, 21, 0, tzinfo=UTC)) == [
        datetime(2024, 1, 1, 21, tzinfo=UTC),
        datetime(2024, 1, 2, 21, tzinfo=UTC),
        datetime(2024, 1, 3, 21, tzinfo=UTC),
    ]


def test_the_wire_carries_exactly_the_steps_decimals():
    from signaldesk.exchange.precision import wire_price, wire_size

    assert wire_size(D("0.01"), BTC_JPY) == "0.010"
    assert wire_size(D("0.0010"), BTC_JPY) == "0.001"
    assert wire_price(D("10000000.0"), BTC_JPY) == "10000000"
    with pytest.raises(OrderRejected, match="not a multiple of the step"):
        wire_size(D("0.0015"), BTC_JPY)
    with pytest.raises(OrderRejected, match="not a positive multiple of the tick"):
        wire_price(D("9876543.5"), BTC_JPY)


@pytest.mark.parametrize(
    ("price", "side", "kind", "expected"),
    [
        (D("9876543.5"), SELL, "STOP", D("9876544")),  # guards a long: toward the market
        (D("9876543.5"), BUY, "STOP", D("9876543")),  # guards a short
        (D("9876543.5"), BUY, "LIMIT", D("9876543")),  # never dearer
        (D("9876543.5"), SELL, "LIMIT", D("9876544")),  # never cheaper
    ],
)
def test_order_prices_round_in_their_safe_direction(price, side, kind, expected):
    from signaldesk.exchange.precision import order_price

    assert order_price(price, side, kind, BTC_JPY) == expected


def test_a_modified_plan_lands_on_the_grid_the_safe_way():
    from signaldesk.exchange.precision import plan_on_grid

    long = plan_on_grid(
        "LONG",
        {
            "stop_loss": D("9876543.5"),
            "entry_price": D("9990000.7"),
            "take_profit_1": D("10100000.2"),
            "size": D("0.0109"),
        },
        BTC_JPY,
    )
    assert long == {
        "stop_loss": D("9876544"),  # closer to the entry: less at risk
        "entry_price": D("9990000"),  # no worse
        "take_profit_1": D("10100000"),  # reachable
        "size": D("0.010"),
    }
    assert plan_on_grid("SHORT", {"stop_loss": D("10123456.5")}, BTC_JPY) == {
        "stop_loss": D("10123456")
    }
