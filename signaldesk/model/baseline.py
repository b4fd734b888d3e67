"""The retired v1 design, refitted on the same folds for comparison: two +-0.3% close-at-one-hour
event heads on the v1 features; its direction score is P(long event) - P(short event)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from signaldesk.features import BASELINE_FEATURE_NAMES, baseline_features
from signaldesk.labels import LabelSpec, direction_labels, event_labels
from signaldesk.model.calibration import PlattMap, fit_platt
from signaldesk.model.operating import OperatingPoint, choose_operating_point
from signaldesk.model.training import Fold, calendar_days, fit_booster, labelled_rows, window_rows

BASELINE_PARAMS = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 7,
    "min_data_in_leaf": 400,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "num_threads": 1,
    "verbose": -1,
    "seed": 7,
    "deterministic": True,
    "force_row_wise": True,
}
BASELINE_ROUNDS = 100
SIDES = ("long", "short")


@dataclass(frozen=True)
class BaselineModel:
    """The two event boosters, their calibration and the operating point on (1 + long - short) /
    2."""

    boosters: dict
    calibration: dict[str, PlattMap]
    operating_point: OperatingPoint

    def scores(self, rows: pd.DataFrame) -> np.ndarray:
        """Return (1 + P(long event) - P(short event)) / 2: 0..1, higher = more up."""
        return event_score(self.boosters, self.calibration, rows)


def event_score(boosters: dict, calibration: dict[str, PlattMap], rows: pd.DataFrame) -> np.ndarray:
    """Return (1 + P(long event) - P(short event)) / 2 of the rows."""
    values = rows[list(BASELINE_FEATURE_NAMES)].to_numpy(dtype=float)
    prob = {
        side: calibration[side].apply(boosters[side].predict(values, raw_score=True))
        for side in SIDES
    }
    return (1.0 + prob["long"] - prob["short"]) / 2.0


def baseline_dataset(frames: dict[str, pd.DataFrame], label: LabelSpec) -> pd.DataFrame:
    """Return the v1 features with the direction and the v1 event labels."""
    return labelled_rows(
        frames,
        baseline_features,
        [lambda f: direction_labels(f, label), lambda f: event_labels(f, label)],
    )


def fit_baseline(data: pd.DataFrame, fold: Fold, signals_per_day: float) -> BaselineModel:
    """Fit both event heads on the train window, calibrate them and set the operating point on
    calibration."""
    train, held = window_rows(data, fold.train, None), window_rows(data, fold.calibration, None)
    values = held[list(BASELINE_FEATURE_NAMES)].to_numpy(dtype=float)
    boosters, calibration = {}, {}
    for side in SIDES:
        outcome = train[f"{side}_event"].to_numpy()
        boosters[side] = fit_booster(
            train, outcome, BASELINE_PARAMS, BASELINE_ROUNDS, BASELINE_FEATURE_NAMES
        )
        raw = boosters[side].predict(values, raw_score=True)
        calibration[side] = fit_platt(raw, held[f"{side}_event"].to_numpy())
    score = event_score(boosters, calibration, held)
    point = choose_operating_point(score, calendar_days(held), signals_per_day)
    return BaselineModel(boosters, calibration, point)


def score_baseline(model: BaselineModel, rows: pd.DataFrame) -> pd.DataFrame:
    """Return (symbol, open_time, baseline_score, baseline_side) for the rows."""
    score = model.scores(rows)
    return pd.DataFrame(
        {
            "symbol": rows["symbol"].to_numpy(),
            "open_time": rows["open_time"].to_numpy(),
            "baseline_score": score,
            "baseline_side": model.operating_point.sides(score),
        }
    )
