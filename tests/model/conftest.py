"""Model test fixtures: a tiny model trained once on the bundled real candles (Apr..Jun 2025)."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from signaldesk.candles import read_candle_csv
from signaldesk.features import candles_to_frame
from signaldesk.model.artifacts import write_version
from signaldesk.model.pipeline import TrainingOptions, train_and_evaluate

BUNDLED = {
    "BTC_JPY": "btcusdt_binance_15m_2025-04_2025-06.csv.gz",
    "ETH_JPY": "ethusdt_binance_15m_2025-04_2025-06.csv.gz",
}
TRAINED_AT = datetime(2025, 7, 1, tzinfo=UTC)
TINY = {
    "holdout_from": pd.Timestamp("2025-06-10", tz="UTC"),
    "test_days": 14,
    "calibration_days": 10,
    "min_train_days": 20,
    "draws": 30,
    "control_seeds": (11, 12),
    "lookahead_cuts": 6,
}


@pytest.fixture(scope="session")
def bundled_frames() -> dict[str, pd.DataFrame]:
    """Return the bundled BTC and ETH candles as feature frames."""
    from tests.conftest import DATA

    return {
        symbol: candles_to_frame(read_candle_csv(DATA / name)) for symbol, name in BUNDLED.items()
    }


@pytest.fixture(scope="session")
def tiny_training(bundled_frames):
    """Train a tiny model (two two-week folds, a three-week holdout, the v1 design beside it)."""
    sources = {s: f"bundled {name}" for s, name in BUNDLED.items()}
    options = TrainingOptions(**TINY, baseline=True)
    return train_and_evaluate(bundled_frames, sources, options, TRAINED_AT)


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_training, tmp_path_factory):
    """Return a model version folder holding the tiny model."""
    folder = tmp_path_factory.mktemp("models") / "tiny"
    return write_version(
        folder, tiny_training.model.booster, {"version": "tiny", **tiny_training.metadata}
    )
