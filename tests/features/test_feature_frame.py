"""The feature specification, the candle frame and what the live cycle reads (close, ATR, volume vs
average)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from signaldesk.candles import read_candle_csv
from signaldesk.features import (
    BASELINE_FEATURE_NAMES,
    FEATURE_NAMES,
    FEATURE_SPECS,
    LIVE_FETCH_BARS,
    FeatureError,
    average_true_range,
    baseline_features,
    bollinger_percent_b,
    candles_to_frame,
    compute_features,
    feature_spec_hash,
    latest_features,
    relative_strength,
)
from tests.conftest import DATA

ETH = DATA / "ethusdt_binance_15m_2025-04_2025-06.csv.gz"


@pytest.fixture(scope="module")
def eth_candles():
    """Return the bundled ETH/USDT 15m candles."""
    return read_candle_csv(ETH)


def test_there_are_exactly_twelve_named_documented_features():
    assert len(FEATURE_NAMES) == 12 and len(set(FEATURE_NAMES)) == 12
    assert all(spec.definition and "\n" not in spec.definition for spec in FEATURE_SPECS)
    assert {"rsi_14", "bb_percent_b", "hour_utc", "volume_ratio"} <= set(FEATURE_NAMES)


def test_the_retired_v1_features_still_compute_for_the_comparison(eth_candles):
    features = baseline_features(candles_to_frame(eth_candles[:600]))
    assert (
        list(features.columns) == list(BASELINE_FEATURE_NAMES) and features.iloc[-1].notna().all()
    )


def test_spec_hash_is_stable_within_a_process():
    assert feature_spec_hash() == feature_spec_hash() and len(feature_spec_hash()) == 16


def test_frame_keeps_candle_values_as_floats_with_utc_times(eth_candles):
    frame = candles_to_frame(eth_candles[:3])
    assert frame["close"].tolist() == [float(c.close) for c in eth_candles[:3]]
    assert str(frame["open_time"].dt.tz) == "UTC"


def test_features_are_scale_free(eth_candles):
    frame = candles_to_frame(eth_candles[:1500])
    scaled = frame.assign(
        **{c: frame[c] * 150.0 for c in ("open", "high", "low", "close")},
        volume=frame["volume"] / 40,
    )
    pd.testing.assert_frame_equal(
        compute_features(frame), compute_features(scaled), rtol=1e-6, atol=1e-9
    )


def test_latest_features_give_close_atr_and_volume_ratio_of_the_last_candle(eth_candles):
    frame = candles_to_frame(eth_candles[:LIVE_FETCH_BARS])
    latest = latest_features(frame)
    last = eth_candles[LIVE_FETCH_BARS - 1]
    assert latest.open_time == last.open_time and latest.close == float(last.close)
    assert latest.atr == pytest.approx(float(average_true_range(frame).iloc[-1]))
    average = frame["volume"].iloc[-96:].mean()
    assert latest.volume_ratio == pytest.approx(float(last.volume) / average)


def test_atr_is_in_price_units(eth_candles):
    frame = candles_to_frame(eth_candles[:600])
    ratio = average_true_range(frame).iloc[-1] / frame["close"].iloc[-1]
    assert 0.0005 < ratio < 0.05


def test_rsi_and_bollinger_b_follow_their_definitions(eth_candles):
    frame = candles_to_frame(eth_candles[:600])
    close = frame["close"]
    rsi, percent_b = relative_strength(close, 14), bollinger_percent_b(close)
    assert rsi.dropna().between(0, 1).all()
    middle, sd = close.iloc[-20:].mean(), close.iloc[-20:].std()  # Bollinger Bands(20, 2 sample sd)
    expected = (close.iloc[-1] - (middle - 2 * sd)) / (4 * sd)
    assert percent_b.iloc[-1] == pytest.approx(expected, rel=1e-9)


def test_volatility_normalised_returns_follow_their_definition(eth_candles):
    frame = candles_to_frame(eth_candles[:400])
    features = compute_features(frame)
    one_bar = np.log(frame["close"]).diff()
    sd96 = one_bar.iloc[-96:].std()
    expected = math.log(frame["close"].iloc[-1] / frame["close"].iloc[-17]) / (sd96 * 4)
    assert features["z_16"].iloc[-1] == pytest.approx(expected, rel=1e-9)
    assert features["log_vol_96"].iloc[-1] == pytest.approx(math.log(sd96), rel=1e-9)
    assert features["vol_ratio_16_96"].iloc[-1] == pytest.approx(one_bar.iloc[-16:].std() / sd96)


def test_too_short_a_window_is_refused_with_the_length_needed(eth_candles):
    with pytest.raises(FeatureError, match=f"need at least {LIVE_FETCH_BARS}"):
        latest_features(candles_to_frame(eth_candles[:100]))


def test_unsorted_candles_are_refused(eth_candles):
    frame = candles_to_frame(eth_candles[:50]).iloc[::-1]
    with pytest.raises(FeatureError, match="sorted"):
        compute_features(frame)
