"""What the backtest computes once instead of every cycle: features, the gap rule and the model's
scores.

The live cycle scores the newest candle from its last `LIVE_FETCH_BARS` stored candles. Over a year
that is 35,040 feature computations and one-row predictions per symbol; here each symbol's features
are computed once over the whole span (the features module's whole-history function), the data rule
(`window_problem`) is decided for every candle from the open times alone, and each model scores
every candle in one batch (probabilities and rank; the top contributions, which only verdicts that
are not LOGGED keep, one row at a time when a verdict asks for them). `scored()` hands the cycle,
candle by candle, what `score_symbol` would have built: the same `Scored` (close, last two candles,
features, prediction, top contributions, ATR) or the same data check.

Whole-history features differ from 500-candle-window features only where the smoothed indicators
still remember their seed: by at most ~2e-8 (Bollinger %B near 0) on the shared 2023-2025 candles,
without changing a decision.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np

from signaldesk.candles import Candle
from signaldesk.cycle import Scored, explainer, unscored, window_problem, with_score
from signaldesk.rules import Check

if TYPE_CHECKING:
    from signaldesk.features import FeatureHistory
    from signaldesk.model.inference import LoadedModel

STEP = timedelta(minutes=15)
CHUNK_ROWS = 30 * 96  # candles scored per batch predict: 30 days of 15-minute candles


@dataclass
class SymbolScores:
    """One symbol's candles, their features, and the current model's predictions in batches."""

    candles: Sequence[Candle]
    history: FeatureHistory
    bars: int
    times: list[datetime] = field(init=False)
    clean: np.ndarray = field(init=False)
    by_model: dict[str, dict[int, list]] = field(default_factory=dict)

    def __post_init__(self):
        self.times = [c.open_time for c in self.candles]
        self.clean = clean_windows(self.times, self.bars)

    def window_end(self, latest_open: datetime) -> int:
        """Return the index of the newest candle opening by `latest_open` (-1 when none)."""
        return bisect.bisect_right(self.times, latest_open) - 1

    def problem(self, end: int, latest_open: datetime) -> str | None:
        """Return the cycle's data problem for the window ending at candle `end` (None: clean)."""
        if end >= 0 and self.clean[end] and self.times[end] == latest_open:
            return None
        window = self.times[max(end - self.bars + 1, 0) : end + 1]
        return window_problem(window, latest_open, self.bars)

    def prediction(self, model: LoadedModel, row: int):
        """Return a model's prediction of a candle; batches are 30 days."""
        if model.version not in self.by_model:
            self.by_model = {
                model.version: {}
            }  # one model at a time (walk-forward blocks follow each other)
        chunks = self.by_model[model.version]
        start = row - row % CHUNK_ROWS
        if start not in chunks:
            chunks[start] = score_rows(model, self.history.values, start, start + CHUNK_ROWS)
        return chunks[start][row - start]


def clean_windows(times: list[datetime], bars: int) -> np.ndarray:
    """Return, per candle, whether it ends `bars` candles exactly one 15-minute step apart (no gap,
    no stray).

    Such a window always passes `window_problem` when it ends at the scored candle; every other
    window is left to `window_problem` itself.
    """
    minutes = np.array([t.timestamp() // 60 for t in times], dtype=np.int64)
    clean = np.zeros(len(times), dtype=bool)
    if len(times) < bars:
        return clean
    off_step = np.concatenate(([0], np.cumsum(np.diff(minutes) != STEP.total_seconds() // 60)))
    clean[bars - 1 :] = off_step[bars - 1 :] == off_step[: len(times) - bars + 1]
    return clean


def score_rows(model: LoadedModel, values: np.ndarray, start: int, stop: int) -> list:
    """Return the predictions of rows [start, stop) with all features defined (None elsewhere)."""
    rows = values[start:stop]
    defined = np.flatnonzero(~np.isnan(rows).any(axis=1))
    predictions: list = [None] * len(rows)
    if len(defined):
        for row, prediction in zip(
            defined.tolist(), model.predict_many(rows[defined]), strict=True
        ):
            predictions[row] = prediction
    return predictions


class BatchScores:
    """Scores of a backtest's candles: features once per symbol, predictions once per model."""

    def __init__(self, candles: Mapping[str, Sequence[Candle]], bars: int | None = None):
        from signaldesk.features import LIVE_FETCH_BARS, candles_to_frame, feature_history

        bars = bars or LIVE_FETCH_BARS
        self.symbols = {
            symbol: SymbolScores(rows, feature_history(candles_to_frame(rows)), bars)
            for symbol, rows in candles.items()
        }

    def scored(self, symbol: str, latest_open: datetime, model: LoadedModel) -> Scored:
        """Return what `score_symbol` would build for a symbol's candle at `latest_open`."""
        from signaldesk.features import FeatureError

        scores = self.symbols[symbol]
        end = scores.window_end(latest_open)
        scored = unscored(symbol, latest_open, list(scores.candles[max(end - 1, 0) : end + 1]))
        problem = scores.problem(end, latest_open)
        if problem:
            scored.checks = [Check("data", False, problem)]
            return scored
        try:
            latest = scores.history.latest(end)
        except FeatureError as exc:
            scored.checks = [Check("data", False, str(exc))]
            return scored
        prediction = scores.prediction(model, end)
        return with_score(scored, latest, prediction, explainer(model, latest.values, prediction))
