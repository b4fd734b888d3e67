"""Leakage checks on the bundled real candles: truncation, a deliberately leaky feature, and the
live warm-up."""

from __future__ import annotations

import pandas as pd
import pytest

from signaldesk.candles import read_candle_csv
from signaldesk.features import (
    FEATURE_NAMES,
    LIVE_FETCH_BARS,
    baseline_features,
    candles_to_frame,
    compute_features,
    latest_features,
    lookahead_features,
    warmup_mismatches,
)
from tests.conftest import DATA

CUTS = [150, 700, 2222, 4100, 6543, 8735]


@pytest.fixture(scope="module")
def btc() -> pd.DataFrame:
    """Return the bundled BTC/USDT 15m candles as a feature frame."""
    return candles_to_frame(read_candle_csv(DATA / "btcusdt_binance_15m_2025-04_2025-06.csv.gz"))


def leaky_features(frame: pd.DataFrame) -> pd.DataFrame:
    """Return the real features plus one built from the next candle (a planted leak)."""
    features = compute_features(frame)
    features["next_return"] = frame["close"].shift(-1) / frame["close"] - 1
    return features


def test_no_feature_changes_when_the_future_is_removed(btc):
    assert lookahead_features(compute_features, btc, CUTS) == []


def test_the_same_check_catches_a_feature_built_from_the_future(btc):
    assert lookahead_features(leaky_features, btc, CUTS) == ["next_return"]


def test_live_fetch_length_reproduces_long_history_values(btc):
    assert warmup_mismatches(btc, [LIVE_FETCH_BARS + 10, 5000, 8735]) == []


def test_warmup_check_flags_a_fetch_too_short_for_the_smoothed_indicators(btc):
    assert "rsi_14" in warmup_mismatches(btc, [5000], window=120)


def test_latest_features_match_the_batch_row_of_the_same_candle(btc):
    live = latest_features(btc.iloc[:5001])
    batch = compute_features(btc).iloc[5000]
    assert live.values == pytest.approx(tuple(batch[list(FEATURE_NAMES)]), rel=1e-6, abs=1e-12)


def test_eth_candles_show_no_lookahead_either():
    eth = candles_to_frame(read_candle_csv(DATA / "ethusdt_binance_15m_2025-04_2025-06.csv.gz"))
    assert lookahead_features(compute_features, eth, CUTS[:4]) == []


def test_the_v1_features_of_the_comparison_show_no_lookahead(btc):
    assert lookahead_features(baseline_features, btc, CUTS[:3]) == []
