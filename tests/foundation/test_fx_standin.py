"""The yen-scale stand-in: bundled Binance USDT candles times the Fed's monthly USD/JPY, without
month jumps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from signaldesk.candles import read_candle_csv
from signaldesk.fx import FxError, month_midpoint, read_monthly_rates, to_yen
from tests.conftest import DATA

RATES = DATA / "usdjpy_monthly_fed.csv"
BTC = DATA / "btcusdt_binance_15m_2025-04_2025-06.csv.gz"


def test_a_months_rate_sits_at_its_midpoint_and_moves_linearly_between_midpoints():
    rates = read_monthly_rates(RATES)
    april, may = month_midpoint("2025-04"), month_midpoint("2025-05")
    assert april == datetime(2025, 4, 16, tzinfo=UTC)  # 30 days: halfway is the 16th at 00:00
    halfway = rates.at(april + (may - april) / 2)
    assert halfway == ((rates.at(april) + rates.at(may)) / 2).quantize(Decimal("0.0001"))
    assert (rates.at(april), rates.at(may)) == (
        Decimal("144.1286"),
        Decimal("144.8762"),
    )  # the file's rows


def test_no_month_boundary_plants_a_jump_in_the_converted_candles():
    rates = read_monthly_rates(RATES)
    candles = read_candle_csv(BTC)
    at_boundary = next(
        i for i, c in enumerate(candles) if c.open_time == datetime(2025, 5, 1, tzinfo=UTC)
    )
    before, after = (
        rates.at(candles[at_boundary - 1].open_time),
        rates.at(candles[at_boundary].open_time),
    )
    assert abs(after / before - 1) < Decimal(
        "0.0001"
    )  # 15 minutes of interpolation, far below a tick of BTC


def test_converted_candles_keep_their_shape_volume_and_time_and_land_on_whole_yen():
    candles = read_candle_csv(BTC)[:500]
    yen = to_yen(candles, read_monthly_rates(RATES))
    assert [(c.open_time, c.volume) for c in yen] == [(c.open_time, c.volume) for c in candles]
    assert all(c.low <= min(c.open, c.close) <= max(c.open, c.close) <= c.high for c in yen)
    assert all(p == p.to_integral_value() for c in yen for p in (c.open, c.high, c.low, c.close))
    assert Decimal(11_000_000) < yen[0].close < Decimal(13_000_000)  # BTC/JPY in April 2025


def test_a_moment_outside_the_rates_is_refused():
    rates = read_monthly_rates(RATES)
    with pytest.raises(FxError, match="outside"):
        rates.at(rates.midpoints[-1] + timedelta(minutes=15))


@pytest.mark.parametrize(
    "text",
    [
        "month,usd_jpy\n2025-01,150\n2025-03,149\n",
        "month,usd_jpy\n2025-01,150\n",
        "month,rate\n2025-01,1\n",
        "month,usd_jpy\n2025-01,150\n2025-02,abc\n",
    ],
)
def test_a_rate_file_with_gaps_or_bad_rows_is_refused(tmp_path, text):
    path = tmp_path / "rates.csv"
    path.write_text(text)
    with pytest.raises(FxError):
        read_monthly_rates(path)
