"""Labels on labelled synthetic edge cases: direction, move events, exact thresholds, missing
candles."""

from __future__ import annotations

import numpy as np
import pandas as pd

from signaldesk.labels import LabelSpec, direction_labels, event_labels, move_within


def frame_of(closes: list[float], skip: int | None = None) -> pd.DataFrame:
    """Return a 15m frame with the given closes (optionally one candle time skipped, leaving a
    gap)."""
    times = list(pd.date_range("2025-01-01", periods=len(closes) + 1, freq="15min", tz="UTC"))
    if skip is not None:
        del times[skip]
    times = times[: len(closes)]
    return pd.DataFrame(
        {
            "open_time": times,
            "open": closes,
            "high": closes,
            "low": closes,
            "close": closes,
            "volume": 1.0,
        }
    )


def test_a_move_of_exactly_the_label_size_is_an_event():
    labels = event_labels(frame_of([100.0, 100, 100, 100, 100.3, 99.7]), LabelSpec(4, 0.003))
    assert labels["long_event"].iloc[0] == 1.0 and labels["short_event"].iloc[0] == 0.0


def test_a_fall_of_the_label_size_is_a_short_event():
    labels = event_labels(frame_of([100.0, 100, 100, 100, 100.3, 99.7]), LabelSpec(4, 0.003))
    assert labels["short_event"].iloc[1] == 1.0 and labels["long_event"].iloc[1] == 0.0


def test_the_last_candles_have_no_label():
    labels = event_labels(frame_of([100.0] * 6), LabelSpec(4, 0.003))
    assert (
        labels["long_event"].iloc[2:].isna().all() and labels["long_event"].iloc[:2].notna().all()
    )


def test_a_missing_future_candle_leaves_the_label_unknown_instead_of_shifting():
    labels = event_labels(
        frame_of([100.0, 101, 102, 103, 104, 105, 106], skip=4), LabelSpec(4, 0.003)
    )
    assert np.isnan(labels["forward_return"].iloc[0])
    assert (
        labels["forward_return"].iloc[1] == 104 / 101 - 1
    )  # the candle one hour later, not four rows later


def test_direction_is_up_down_or_unknown_when_the_close_did_not_change():
    labels = direction_labels(
        frame_of([100.0, 100, 100, 100, 100.1, 99.9, 100, 100, 100]), LabelSpec(4)
    )
    assert labels["up"].iloc[:3].tolist()[:2] == [1.0, 0.0] and np.isnan(labels["up"].iloc[2])
    assert labels["up"].iloc[5:].isna().all()  # no candle an hour later


def test_a_move_within_the_hour_is_read_from_the_highs_and_lows():
    frame = frame_of([100.0, 100, 100, 100, 100, 100])
    frame.loc[2, "high"] = 100.3  # touched +0.3% inside the hour, closed flat
    frame.loc[4, "low"] = 99.69
    moves = move_within(frame, LabelSpec(4, 0.003))
    assert (moves["up_move"].iloc[0], moves["down_move"].iloc[0]) == (1.0, 1.0)
    assert (moves["up_move"].iloc[1], moves["down_move"].iloc[1]) == (1.0, 1.0)
    assert moves["move"].iloc[2:].isna().all()  # the next four candles are not all there
    assert (
        event_labels(frame, LabelSpec(4, 0.003))["long_event"].iloc[0] == 0.0
    )  # close-based: no event
