"""Training labels: forward return over the label horizon and the long / short move events."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

INTERVAL = pd.Timedelta(minutes=15)
# A move of exactly the label size counts; this absorbs float rounding (100.3 / 100 - 1 < 0.003 in binary).
ROUNDING = 1e-12


@dataclass(frozen=True)
class LabelSpec:
    """A move event: close `horizon_bars` candles later at least `move` above (long) or below (short) the close."""

    horizon_bars: int = 4
    move: float = 0.003

    def describe(self) -> str:
        """Return the definition in one line (shown in metadata and reports)."""
        return (
            f"long event: close {self.horizon_bars} bars (15m) later >= +{self.move:.2%} above the close; "
            f"short event: <= -{self.move:.2%}"
        )


def forward_return(frame: pd.DataFrame, horizon_bars: int) -> pd.Series:
    """Return close[t + horizon] / close[t] - 1 matched by open time (NaN when that candle is missing)."""
    times = pd.DatetimeIndex(frame["open_time"])
    closes = pd.Series(frame["close"].astype(float).to_numpy(), index=times)
    later = closes.reindex(times + horizon_bars * INTERVAL).to_numpy()
    return pd.Series(later / closes.to_numpy() - 1.0, index=frame.index, dtype=float)


def event_labels(frame: pd.DataFrame, spec: LabelSpec) -> pd.DataFrame:
    """Return forward_return, long_event and short_event (events NaN where the future candle is unknown)."""
    ret = forward_return(frame, spec.horizon_bars)
    known = ret.notna()
    long_event = np.where(known, (ret >= spec.move - ROUNDING).astype(float), np.nan)
    short_event = np.where(known, (ret <= -spec.move + ROUNDING).astype(float), np.nan)
    return pd.DataFrame(
        {"forward_return": ret, "long_event": long_event, "short_event": short_event},
        index=frame.index,
    )
