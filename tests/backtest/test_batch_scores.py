"""The backtest's scores computed once give the cycle what it computes from its stored window,
candle by candle.

`BatchScores.scored` (features over the whole span, the gap rule from the open times, one batch
predict per model) against `score_symbol` on `feature_window` (the live cycle's 500 stored candles),
on the bundled real candles and on the same candles with three removed (a synthetic gap, labelled as
such).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from signaldesk.backtest.scores import CHUNK_ROWS, BatchScores, clean_windows
from signaldesk.candles import read_candle_csv, save_candles
from signaldesk.cycle import feature_window, score_symbol, window_problem
from signaldesk.features import LIVE_FETCH_BARS
from signaldesk.model.inference import load_model
from signaldesk.settings import load_settings
from tests.conftest import DATA

SYMBOL = "BTC_JPY"
FIRST = datetime(2025, 4, 1, tzinfo=UTC)  # the bundled file's first candle


@pytest.fixture(scope="module")
def model():
    """Return the committed default model."""
    return load_model(load_settings(environ={}).model_dir, datetime.now(UTC), float("inf"))


@pytest.fixture(scope="module")
def candles():
    """Return five weeks of bundled BTC candles, three of 2025-04-20 removed (a synthetic gap)."""
    rows = read_candle_csv(DATA / "btcusdt_binance_15m_2025-04_2025-06.csv.gz")
    gap = {datetime(2025, 4, 20, 8, 15, tzinfo=UTC) + timedelta(minutes=15 * n) for n in range(3)}
    return [c for c in rows if c.open_time < FIRST + timedelta(days=35) and c.open_time not in gap]


def moments() -> list[datetime]:
    """Return candles to compare: short history, just enough, around the gap, missing, later."""
    start = FIRST + timedelta(minutes=15 * (LIVE_FETCH_BARS - 2))
    gap = datetime(2025, 4, 20, 8, 0, tzinfo=UTC)
    return [
        FIRST + timedelta(hours=3),
        start,
        start + timedelta(minutes=15),
        gap,
        gap + timedelta(minutes=30),  # removed: the cycle finds its candle missing
        gap + timedelta(hours=2),
        gap + timedelta(days=5, hours=6),  # the gap has left the window
        datetime(2025, 5, 1, 13, 45, tzinfo=UTC),
        datetime(2025, 5, 5, 23, 45, tzinfo=UTC),
    ]


def test_scored_matches_the_cycle_scoring_its_stored_window(db, candles, model):
    save_candles(db, SYMBOL, "15m", candles, "bundled csv, three candles removed")
    scores = BatchScores({SYMBOL: candles})
    for moment in moments():
        batch = scores.scored(SYMBOL, moment, model)
        live = score_symbol(
            SYMBOL, *feature_window(db, SYMBOL, moment, LIVE_FETCH_BARS), model, moment, {}
        )
        assert (batch.close, batch.previous, batch.last) == (live.close, live.previous, live.last)
        assert batch.checks == live.checks, moment  # the data rule's verdict, word for word
        assert (batch.prediction is None) == (live.prediction is None)
        if live.prediction is None:
            continue
        assert batch.prediction.direction == live.prediction.direction
        assert batch.prediction.prob_long == pytest.approx(live.prediction.prob_long, abs=1e-9)
        assert batch.prediction.prob_short == pytest.approx(live.prediction.prob_short, abs=1e-9)
        assert float(batch.atr) == pytest.approx(float(live.atr), rel=1e-9)
        values, expected = batch.features["values"], live.features["values"]
        assert values == pytest.approx(expected, rel=1e-6, abs=1e-7)
        assert [t.feature for t in batch.explain()] == [t.feature for t in live.explain()]


def test_the_gap_rule_from_open_times_agrees_with_the_cycles(candles):
    times = [c.open_time for c in candles]
    clean = clean_windows(times, LIVE_FETCH_BARS)
    problems = [
        window_problem(times[max(i - LIVE_FETCH_BARS + 1, 0) : i + 1], t, LIVE_FETCH_BARS)
        for i, t in enumerate(times)
    ]
    assert [p is None for p in problems] == clean.tolist()
    assert sum(clean) < len(times) - LIVE_FETCH_BARS  # the gap made some windows unclean


def test_batch_predictions_are_the_models_one_row_predictions(candles, model):
    scores = BatchScores({SYMBOL: candles}).symbols[SYMBOL]
    rows = [CHUNK_ROWS - 1, CHUNK_ROWS, CHUNK_ROWS + 7, 900]  # both sides of a batch boundary
    for row in rows:
        prediction = scores.prediction(model, row)
        assert prediction == model.predict(scores.history.values[row])
    other = replace(model, version="another")
    assert scores.prediction(other, 900) == model.predict(scores.history.values[900])
    assert list(scores.by_model) == ["another"]  # one model's batches in memory at a time
    assert not np.isnan(scores.history.values[900]).any()
