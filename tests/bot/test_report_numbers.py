"""Report statistics computed by hand: win rate, profit factor, drawdown, Sharpe, trade
statistics with their sample sizes."""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal as D

from signaldesk.clock import JST
from signaldesk.report import (
    day_bounds,
    equity_curve,
    max_drawdown,
    previous_day,
    profit_factor,
    sharpe,
    win_rate,
)

PNLS = [D("3000"), D("-1000"), D("2000"), D("-500")]


def test_win_rate_counts_trades_with_profit():
    assert win_rate(PNLS + [D("0")]) == 2 / 5


def test_win_rate_without_trades_is_undefined():
    assert win_rate([]) is None


def test_profit_factor_is_gross_profit_over_gross_loss():
    assert profit_factor(PNLS) == 5000 / 1500


def test_profit_factor_without_losses_is_infinite_and_without_trades_undefined():
    assert (math.isinf(profit_factor([D("5")])), profit_factor([])) == (True, None)


def test_max_drawdown_measures_from_the_highest_peak():
    # equity 0, 3000, 2000, 4000, 3500 -> worst fall 3000 -> 2000
    assert max_drawdown(PNLS) == D("1000")


def test_max_drawdown_counts_a_loss_from_the_start():
    assert max_drawdown([D("-700"), D("200")]) == D("700")


def test_equity_curve_starts_at_the_start():
    assert equity_curve([D("1"), D("-2")], D("10")) == [D("10"), D("11"), D("9")]


def test_sharpe_is_mean_over_sample_deviation():
    # mean 0.00875, sample sd sqrt(0.00111875 / 3) = 0.0193111
    assert round(sharpe([0.03, -0.01, 0.02, -0.005]), 4) == 0.4531


def test_sharpe_scales_by_the_square_root_of_periods():
    assert round(sharpe([0.01, 0.03], periods_per_year=4), 6) == round(
        0.02 / math.sqrt(0.0002) * 2, 6
    )


def test_sharpe_is_undefined_for_one_trade_or_no_spread():
    assert (sharpe([0.01]), sharpe([0.01, 0.01])) == (None, None)


def test_the_previous_jst_day_of_a_morning_report():
    assert previous_day(datetime(2026, 3, 10, 0, 30, tzinfo=JST)) == date(2026, 3, 9)


def test_a_jst_day_starts_at_15_utc_the_day_before():
    start, end = day_bounds(date(2026, 3, 9))
    assert (start.isoformat(), (end - start).total_seconds()) == (
        "2026-03-09T00:00:00+09:00",
        86400,
    )
