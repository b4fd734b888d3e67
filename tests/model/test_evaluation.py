"""Evaluation arithmetic on labelled edge cases: costs, the operating point's edge, intervals over
days."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from signaldesk.model.evaluation import (
    TradeCosts,
    mean_interval,
    operating_metrics,
    sign_auc,
    weighted_auc,
)


def times(*texts: str) -> pd.Series:
    """Return candle open times (UTC)."""
    return pd.Series(pd.to_datetime(list(texts), utc=True))


def test_leverage_fee_is_charged_only_when_the_hour_crosses_06_00_jst():
    costs = TradeCosts(fee_rate=0.0, spread_bps=4.3, leverage_fee_per_day=0.0004)
    # entry at the close (open + 15 min), exit an hour later; 06:00 JST is 21:00 UTC
    charged = costs.per_trade(
        times("2025-01-01 19:30", "2025-01-01 20:00", "2025-01-01 20:45", "2025-01-01 21:00"), 4
    )
    # 19:45-20:45 stays before it; 20:15-21:15 holds across it; 21:00-22:00 and 21:15-22:15 start
    # after it
    assert charged.tolist() == pytest.approx([0.00043, 0.00083, 0.00043, 0.00043])


def test_fees_count_on_both_sides():
    assert TradeCosts(fee_rate=0.0005, spread_bps=0).per_trade(times("2025-01-01 03:00"), 4)[
        0
    ] == pytest.approx(0.001)


def test_operating_metrics_count_rates_hits_and_edges_per_side():
    rows = pd.DataFrame(
        {
            "open_time": times(
                "2025-01-01 01:00", "2025-01-01 02:00", "2025-01-02 01:00", "2025-01-02 02:00"
            ),
            "forward_return": [0.002, -0.001, -0.003, 0.004],
            "side": [1, 1, -1, 0],
        }
    )
    m = operating_metrics(rows, "side", TradeCosts(spread_bps=5), 4, draws=0, seed=1)
    assert (m["signals"], m["per_day"], m["long_per_day"], m["short_per_day"]) == (3, 1.5, 1.0, 0.5)
    assert m["hit_rate"] == pytest.approx(2 / 3)
    assert m["gross_bps"] == pytest.approx((20 - 10 + 30) / 3)
    assert m["net_bps"] == pytest.approx((20 - 10 + 30) / 3 - 5)
    assert m["median_win_bps"] == pytest.approx(25) and m["median_loss_bps"] == pytest.approx(-10)


def test_interval_over_days_resamples_whole_days():
    # Two days: one with two signals of +1, one with one signal of -1 -> any resample's mean is in
    # [-1, 1].
    values, days = np.array([1.0, 1.0, -1.0]), np.array([0, 0, 1])
    low, high = mean_interval(values, days, 2, draws=500, seed=2)
    assert -1.0 <= low < 1 / 3 < high <= 1.0
    assert mean_interval(values, days, 2, draws=0, seed=2) is None


def test_sign_auc_leaves_unknown_directions_out():
    assert sign_auc(np.array([1, 0, np.nan, 1]), np.array([0.9, 0.1, 0.5, 0.8])) == 1.0
    assert sign_auc(np.array([1, 1]), np.array([0.2, 0.3])) is None


def test_weighted_auc_counts_each_row_as_often_as_its_day_was_drawn():
    up_sorted = np.array([0.0, 1.0, 0.0, 1.0])  # scores 0.1, 0.35, 0.4, 0.8
    assert weighted_auc(up_sorted, np.ones(4)) == pytest.approx(0.75)
    assert weighted_auc(up_sorted, np.array([1, 2, 1, 1])) == pytest.approx(4 / 6)
    assert sign_auc(up_sorted, np.array([0.1, 0.35, 0.4, 0.8])) == pytest.approx(0.75)
