"""The 12 model features: one specification for training, backtest and live cycle (owns pandas_ta).

Returns, volatilities, ranges and volume ratios are plain pandas; the indicators (RSI, Bollinger %B,
ATR) come from pandas-ta, the indicator library the desk is built on, imported only when features
are computed.

pandas-ta decorates some numeric kernels with numba's `njit`. The desk imports pandas-ta with a
stand-in for numba whose `njit` leaves each function as the plain numpy code it is written in: no
JIT compiler and no compiled-code cache at run time (numba costs a 15-minute cycle ~0.3 s to import,
~0.3 s and ~36 MB to load its cache, ~3 s to compile when the cache is cold or unwritable). The
plain functions give the same values to within 1e-15 (checked in tests/features).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from types import ModuleType

import numpy as np
import pandas as pd

from signaldesk.candles import Candle

FRAME_COLUMNS = ("open_time", "open", "high", "low", "close", "volume")
ATR_BARS = 14
VOLUME_AVERAGE_BARS = 96
VOLATILITY_BARS = 96
RETURN_BARS = (1, 4, 16, 64, 96)
# Longest plain window is 97 closes (96 one-bar returns); RSI's Wilder smoothing forgets its seed
# geometrically: after ~400 bars the seed's weight is below 1e-12, so 500 bars reproduce
# long-history values (tests/features).
LIVE_FETCH_BARS = 500
SPEC_VERSION = 2


class FeatureError(ValueError):
    """Candles cannot yield features (too few, malformed); the message says why."""


@dataclass(frozen=True)
class FeatureSpec:
    """One named feature: its one-line definition and parameters."""

    name: str
    definition: str
    params: tuple[tuple[str, float], ...] = ()


def _z_spec(bars: int) -> FeatureSpec:
    """Return the spec of one volatility-normalised return."""
    return FeatureSpec(
        f"z_{bars}",
        f"log return of close over the last {bars} bar(s) divided by (96-bar standard deviation of "
        f"1-bar log returns x sqrt({bars}))",
        (("bars", bars), ("volatility_bars", VOLATILITY_BARS)),
    )


FEATURE_SPECS: tuple[FeatureSpec, ...] = (
    *(_z_spec(bars) for bars in RETURN_BARS),
    FeatureSpec(
        "log_vol_96",
        "natural log of the 96-bar standard deviation of 1-bar log returns (sample, ddof 1)",
        (("bars", VOLATILITY_BARS),),
    ),
    FeatureSpec(
        "vol_ratio_16_96",
        "16-bar over 96-bar standard deviation of 1-bar log returns",
        (("short", 16), ("long", VOLATILITY_BARS)),
    ),
    FeatureSpec("rsi_14", "RSI(14, Wilder) of close, scaled to 0..1", (("length", 14),)),
    FeatureSpec(
        "bb_percent_b",
        "position of close inside Bollinger Bands(20, 2 sd): 0 = lower, 1 = upper band",
        (("length", 20), ("std", 2.0)),
    ),
    FeatureSpec(
        "range_pos_16",
        "position of close inside the high-low range of the last 16 bars: 0 = low, 1 = high",
        (("bars", 16),),
    ),
    FeatureSpec(
        "volume_ratio",
        "volume divided by its 96-bar simple average (the bar itself included)",
        (("bars", VOLUME_AVERAGE_BARS),),
    ),
    FeatureSpec(
        "hour_utc", "time of day of the candle's open, UTC, as a fraction of the day (0..1)", ()
    ),
)
FEATURE_NAMES: tuple[str, ...] = tuple(spec.name for spec in FEATURE_SPECS)
# The retired v1 design's features, computed only to compare designs on the same folds (`train
# --baseline`).
BASELINE_FEATURE_NAMES: tuple[str, ...] = (
    "ret_1",
    "ret_4",
    "ret_16",
    "rsi_14",
    "macd_hist",
    "bb_percent_b",
    "bb_width",
    "atr_pct",
    "adx_14",
    "stoch_k",
    "volume_ratio",
    "hour_utc",
)


@dataclass(frozen=True)
class LatestFeatures:
    """Features of the latest closed candle plus what the cycle's rules need (close, ATR, volume vs
    average)."""

    open_time: datetime
    values: tuple[float, ...]
    close: float
    atr: float
    volume: float
    volume_average: float

    @property
    def volume_ratio(self) -> float:
        """Return the candle's volume over its average (0 when the average is 0)."""
        return self.volume / self.volume_average if self.volume_average > 0 else 0.0

    def as_dict(self) -> dict[str, float]:
        """Return the feature values by name, in FEATURE_NAMES order."""
        return dict(zip(FEATURE_NAMES, self.values, strict=True))


def feature_spec_hash() -> str:
    """Return a short hash of the feature names, definitions and parameters (stored in model
    metadata)."""
    payload = {
        "version": SPEC_VERSION,
        "features": [[s.name, s.definition, list(s.params)] for s in FEATURE_SPECS],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def candles_to_frame(candles: Sequence[Candle]) -> pd.DataFrame:
    """Turn candles into the float frame the features read (open_time UTC, open, high, low, close,
    volume)."""
    frame = pd.DataFrame(
        {
            "open_time": pd.to_datetime([c.open_time for c in candles], utc=True),
            **{
                k: np.array([float(getattr(c, k)) for c in candles], dtype=float)
                for k in ("open", "high", "low", "close", "volume")
            },
        }
    )
    return frame


def check_frame(frame: pd.DataFrame) -> None:
    """Raise FeatureError unless the frame has the candle columns in increasing time order."""
    missing = [c for c in FRAME_COLUMNS if c not in frame.columns]
    if missing:
        raise FeatureError(f"candle frame lacks column(s) {', '.join(missing)}")
    if not frame["open_time"].is_monotonic_increasing or frame["open_time"].duplicated().any():
        raise FeatureError("candle frame must be sorted by open_time without duplicates")


def _plain_njit(*args, **kwargs):
    """numba.njit stand-in: leave the function as it is (used as `@njit` or `@njit(cache=True)`)."""
    if len(args) == 1 and callable(args[0]) and not kwargs:
        return args[0]
    return lambda function: function


def pandas_ta() -> ModuleType:
    """Return pandas_ta, imported with its numba kernels left as plain numpy code."""
    from signaldesk.imports import import_with_stand_ins

    numba = ModuleType("numba")
    numba.__dict__.update(njit=_plain_njit)  # a bare module: its one attribute set by name
    return import_with_stand_ins("pandas_ta", {"numba": numba})


def compute_features(frame: pd.DataFrame) -> pd.DataFrame:
    """Return the 12 features for every candle (NaN during warm-up), using only candles up to each
    row."""
    check_frame(frame)
    high, low, close, volume = _columns(frame, ("high", "low", "close", "volume"))
    log_close = np.log(close)
    one_bar = log_close.diff(1)
    volatility = one_bar.rolling(VOLATILITY_BARS, min_periods=VOLATILITY_BARS).std()
    highest, lowest = high.rolling(16, min_periods=16).max(), low.rolling(16, min_periods=16).min()
    opened = pd.DatetimeIndex(frame["open_time"])
    columns = {
        **{f"z_{k}": log_close.diff(k) / (volatility * np.sqrt(k)) for k in RETURN_BARS},
        "log_vol_96": np.log(volatility),
        "vol_ratio_16_96": one_bar.rolling(16, min_periods=16).std() / volatility,
        "rsi_14": relative_strength(close, 14),
        "bb_percent_b": bollinger_percent_b(close, 20, 2.0),
        "range_pos_16": (close - lowest) / (highest - lowest),
        "volume_ratio": volume / volume_average(frame, VOLUME_AVERAGE_BARS),
        "hour_utc": pd.Series((opened.hour * 60 + opened.minute) / 1440.0, dtype=float),
    }
    return _named(columns, FEATURE_NAMES, frame.index)


def _columns(frame: pd.DataFrame, names: Sequence[str]) -> list[pd.Series]:
    """Return float Series of the frame's columns, indexed 0..n-1."""
    return [frame[c].astype(float).reset_index(drop=True) for c in names]


def _named(columns: dict, names: Sequence[str], index) -> pd.DataFrame:
    """Return the columns in `names` order on the frame's index, infinities as NaN."""
    features = pd.DataFrame(columns)[list(names)]
    features.index = index
    return features.replace([np.inf, -np.inf], np.nan)


def relative_strength(close: pd.Series, length: int = 14) -> pd.Series:
    """Return RSI(length, Wilder) scaled to 0..1 (pandas-ta)."""
    ta = pandas_ta()

    return _indicator(ta.rsi(close, length=length), close) / 100.0


def bollinger_percent_b(close: pd.Series, length: int = 20, deviations: float = 2.0) -> pd.Series:
    """Return where close sits inside Bollinger Bands(length, deviations): 0 = lower band, 1 = upper
    (pandas-ta)."""
    ta = pandas_ta()

    return _indicator(ta.bbands(close, length=length, std=deviations), close, "BBP_")


def average_true_range(frame: pd.DataFrame, length: int = ATR_BARS) -> pd.Series:
    """Return ATR(length, Wilder) in price units (the cycle's stop distance), NaN during warm-up
    (pandas-ta)."""
    ta = pandas_ta()

    high, low, close = _columns(frame, ("high", "low", "close"))
    return _indicator(ta.atr(high, low, close, length=length), close)


def volume_average(frame: pd.DataFrame, bars: int = VOLUME_AVERAGE_BARS) -> pd.Series:
    """Return the simple average of volume over the last `bars` candles, the candle itself
    included."""
    volume = frame["volume"].astype(float).reset_index(drop=True)
    return volume.rolling(bars, min_periods=bars).mean()


def baseline_features(frame: pd.DataFrame) -> pd.DataFrame:
    """Return the retired v1 design's 12 features (for comparing designs on the same folds only)."""
    ta = pandas_ta()

    check_frame(frame)
    high, low, close, volume = _columns(frame, ("high", "low", "close", "volume"))
    log_close = np.log(close)
    macd = ta.macd(close, fast=12, slow=26, signal=9)
    bands = ta.bbands(close, length=20, std=2.0)
    stoch = ta.stoch(high, low, close, k=14, d=3, smooth_k=3)
    opened = pd.DatetimeIndex(frame["open_time"])
    columns = {
        "ret_1": log_close.diff(1),
        "ret_4": log_close.diff(4),
        "ret_16": log_close.diff(16),
        "rsi_14": relative_strength(close, 14),
        "macd_hist": _indicator(macd, close, "MACDh_") / close,
        "bb_percent_b": _indicator(bands, close, "BBP_"),
        "bb_width": _indicator(bands, close, "BBB_") / 100.0,
        "atr_pct": average_true_range(frame) / close,
        "adx_14": _indicator(ta.adx(high, low, close, length=14), close, "ADX_") / 100.0,
        "stoch_k": _indicator(stoch, close, "STOCHk_") / 100.0,
        "volume_ratio": volume / volume_average(frame, VOLUME_AVERAGE_BARS),
        "hour_utc": pd.Series((opened.hour * 60 + opened.minute) / 1440.0, dtype=float),
    }
    return _named(columns, BASELINE_FEATURE_NAMES, frame.index)


def _indicator(result, like: pd.Series, prefix: str | None = None) -> pd.Series:
    """Pick one output of a pandas_ta indicator as a float Series (all NaN when history is too
    short)."""
    if result is None:
        return pd.Series(np.nan, index=like.index, dtype=float)
    if prefix is None:
        return result.astype(float)
    names = [c for c in result.columns if c.startswith(prefix)]
    return result[names[0]].astype(float)


@dataclass(frozen=True)
class FeatureHistory:
    """The features of every candle of a frame, with what the cycle's rules read per candle (close,
    ATR, volume).

    The backtest computes this once over the whole span; the live cycle over its last
    `LIVE_FETCH_BARS` candles. `latest(i)` turns row i into exactly what the cycle scores.
    """

    open_time: list[datetime]
    values: np.ndarray  # one row per candle, columns in FEATURE_NAMES order; NaN during warm-up
    close: np.ndarray
    atr: np.ndarray
    volume: np.ndarray
    volume_average: np.ndarray

    def latest(self, i: int) -> LatestFeatures:
        """Return candle i as the cycle scores it; FeatureError when a feature is undefined."""
        row = self.values[i]
        if self._undefined[i]:
            names = ", ".join(n for n, bad in zip(FEATURE_NAMES, np.isnan(row), strict=True) if bad)
            raise FeatureError(f"features undefined for the last candle: {names}")
        return LatestFeatures(
            open_time=self.open_time[i],
            values=tuple(self._rows[i]),
            close=float(self.close[i]),
            atr=float(self.atr[i]),
            volume=float(self.volume[i]),
            volume_average=float(self.volume_average[i]),
        )

    @cached_property
    def _rows(self) -> list[list[float]]:
        """Return the values as Python floats, row by row (converted once for all rows)."""
        return self.values.tolist()

    @cached_property
    def _undefined(self) -> list[bool]:
        """Return, per row, whether any feature is undefined."""
        return np.isnan(self.values).any(axis=1).tolist()


def feature_history(
    frame: pd.DataFrame, volume_average_bars: int = VOLUME_AVERAGE_BARS
) -> FeatureHistory:
    """Return the features of every candle of the frame, computed in one pass over it."""
    return FeatureHistory(
        open_time=list(frame["open_time"].dt.to_pydatetime()),
        values=compute_features(frame).to_numpy(dtype=float),
        close=frame["close"].to_numpy(dtype=float),
        atr=average_true_range(frame).to_numpy(dtype=float),
        volume=frame["volume"].to_numpy(dtype=float),
        volume_average=volume_average(frame, volume_average_bars).to_numpy(dtype=float),
    )


def latest_features(
    frame: pd.DataFrame, volume_average_bars: int = VOLUME_AVERAGE_BARS, bars: int = LIVE_FETCH_BARS
) -> LatestFeatures:
    """Return the features of the last candle from its last `bars` candles; raise FeatureError if
    not ready."""
    if len(frame) < bars:
        raise FeatureError(f"need at least {bars} closed candles for features, got {len(frame)}")
    window = frame.iloc[-bars:].reset_index(drop=True)
    return feature_history(window, volume_average_bars).latest(bars - 1)


def lookahead_features(
    compute: Callable[[pd.DataFrame], pd.DataFrame],
    frame: pd.DataFrame,
    cuts: Sequence[int],
    rtol: float = 1e-9,
) -> list[str]:
    """Return the features whose value at row t changes when the candles after t are removed
    (look-ahead)."""
    full = compute(frame)
    leaking: set[str] = set()
    for cut in cuts:
        truncated = compute(frame.iloc[: cut + 1]).iloc[-1]
        for name in full.columns:
            if not _same(full[name].iloc[cut], truncated[name], rtol):
                leaking.add(name)
    return sorted(leaking)


def warmup_mismatches(
    frame: pd.DataFrame,
    cuts: Sequence[int],
    window: int = LIVE_FETCH_BARS,
    rtol: float = 1e-6,
    atol: float = 1e-9,
) -> list[str]:
    """Return the features where a `window`-candle live fetch does not reproduce the long-history
    value."""
    full = compute_features(frame)
    differing: set[str] = set()
    for cut in cuts:
        live = latest_features(frame.iloc[: cut + 1], bars=window)
        for name, value in live.as_dict().items():
            if not _same(full[name].iloc[cut], value, rtol, atol):
                differing.add(name)
    return sorted(differing)


def _same(a: float, b: float, rtol: float, atol: float = 0.0) -> bool:
    """Compare two feature values, NaN equal to NaN."""
    if np.isnan(a) or np.isnan(b):
        return bool(np.isnan(a) and np.isnan(b))
    return bool(np.isclose(a, b, rtol=rtol, atol=atol))
