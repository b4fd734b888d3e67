"""Training labels: the 1-hour direction (the model's target), and move events (the v1 design and
research)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

INTERVAL = pd.Timedelta(minutes=15)
# A move of exactly the label size counts; this absorbs float rounding (100.3 / 100 - 1 < 0.003 in
# binary).
ROUNDING = 1e-12


@dataclass(frozen=True)
class LabelSpec:
    """The label horizon in 15-minute bars, and the move size of the event labels."""

    horizon_bars: int = 4
    move: float = 0.003

    def describe(self) -> str:
        """Return the model's target in one line (shown in metadata and reports)."""
        return (
            f"up: the close {self.horizon_bars} bars (15m) later is above the close (down: below; "
            f"unchanged closes are left out)"
        )

    def describe_events(self) -> str:
        """Return the v1 design's event labels in one line."""
        return (
            f"long event: close {self.horizon_bars} bars (15m) later >= +{self.move:.2%} above the close; "
            f"short event: <= -{self.move:.2%}"
        )


def later_values(frame: pd.DataFrame, column: str, bars: int) -> np.ndarray:
    """Return `column` of the candle `bars` later, matched by open time (NaN when that candle is
    missing)."""
    times = pd.DatetimeIndex(frame["open_time"])
    values = pd.Series(frame[column].astype(float).to_numpy(), index=times)
    return values.reindex(times + bars * INTERVAL).to_numpy()


def forward_return(frame: pd.DataFrame, horizon_bars: int) -> pd.Series:
    """Return close[t + horizon] / close[t] - 1 matched by open time (NaN when that candle is
    missing)."""
    later = later_values(frame, "close", horizon_bars)
    return pd.Series(
        later / frame["close"].astype(float).to_numpy() - 1.0, index=frame.index, dtype=float
    )


def direction_labels(frame: pd.DataFrame, spec: LabelSpec) -> pd.DataFrame:
    """Return forward_return and up (1 higher, 0 lower, NaN when unchanged or the future candle is
    unknown)."""
    ret = forward_return(frame, spec.horizon_bars)
    up = np.where(ret.isna() | (ret == 0), np.nan, (ret > 0).astype(float))
    return pd.DataFrame({"forward_return": ret, "up": up}, index=frame.index)


def event_labels(frame: pd.DataFrame, spec: LabelSpec) -> pd.DataFrame:
    """Return forward_return, long_event and short_event (events NaN where the future candle is
    unknown)."""
    ret = forward_return(frame, spec.horizon_bars)
    known = ret.notna()
    long_event = np.where(known, (ret >= spec.move - ROUNDING).astype(float), np.nan)
    short_event = np.where(known, (ret <= -spec.move + ROUNDING).astype(float), np.nan)
    return pd.DataFrame(
        {"forward_return": ret, "long_event": long_event, "short_event": short_event},
        index=frame.index,
    )


def move_within(frame: pd.DataFrame, spec: LabelSpec) -> pd.DataFrame:
    """Return whether a high (up) / low (down) of the next `horizon` candles reaches +-move from the
    close.

    This is the design's ">= 0.3% within one hour" event; NaN when any of those candles is missing.
    """
    close = frame["close"].astype(float).to_numpy()
    bars = range(1, spec.horizon_bars + 1)
    highs = np.column_stack([later_values(frame, "high", k) for k in bars])
    lows = np.column_stack([later_values(frame, "low", k) for k in bars])
    known = ~(np.isnan(highs).any(axis=1) | np.isnan(lows).any(axis=1))
    with np.errstate(invalid="ignore"):
        up = highs.max(axis=1) / close - 1 >= spec.move - ROUNDING
        down = lows.min(axis=1) / close - 1 <= -spec.move + ROUNDING
    return pd.DataFrame(
        {
            "up_move": np.where(known, up, np.nan),
            "down_move": np.where(known, down, np.nan),
            "move": np.where(known, up | down, np.nan),
        },
        index=frame.index,
    )
