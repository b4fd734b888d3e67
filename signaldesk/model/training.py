"""Training: the labelled dataset, time windows with gaps, and fitting one calibrated long/short booster pair."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from signaldesk.features import FEATURE_NAMES, compute_features
from signaldesk.labels import LabelSpec, event_labels
from signaldesk.model.calibration import fit_platt
from signaldesk.model.inference import LoadedModel

BOOSTER_PARAMS = {
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
BOOST_ROUNDS = 100
PERCENTILE_POINTS = 101


@dataclass(frozen=True)
class Window:
    """A half-open time range [start, end) of candle open times (UTC)."""

    start: pd.Timestamp
    end: pd.Timestamp

    def mask(self, times: pd.Series) -> np.ndarray:
        """Return which open times fall inside the window."""
        return ((times >= self.start) & (times < self.end)).to_numpy()

    def to_dict(self) -> dict:
        """Return the window as ISO text (end exclusive)."""
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}


@dataclass(frozen=True)
class Fold:
    """Train, then (after a gap) calibrate, then (after a gap) test: always in this time order."""

    name: str
    train: Window
    calibration: Window
    test: Window

    def to_dict(self) -> dict:
        """Return the fold's windows."""
        return {
            "name": self.name,
            "train": self.train.to_dict(),
            "calibration": self.calibration.to_dict(),
            "test": self.test.to_dict(),
        }


def build_dataset(frames: dict[str, pd.DataFrame], label: LabelSpec) -> pd.DataFrame:
    """Return one row per symbol and candle with the 12 features and the labels (warm-up and unknown rows dropped)."""
    parts = []
    for symbol, frame in frames.items():
        part = pd.concat([compute_features(frame), event_labels(frame, label)], axis=1)
        part.insert(0, "open_time", frame["open_time"].to_numpy())
        part.insert(0, "symbol", symbol)
        parts.append(part.dropna())
    return pd.concat(parts, ignore_index=True).sort_values(
        ["open_time", "symbol"], ignore_index=True
    )


def fold_for_test(
    test: Window, data_start: pd.Timestamp, calibration: pd.Timedelta, gap: pd.Timedelta, name: str
) -> Fold:
    """Return the fold that tests on `test`: calibration just before it, training on everything earlier."""
    calibration_start = test.start - gap - calibration
    return Fold(
        name,
        Window(data_start, calibration_start - gap),
        Window(calibration_start, test.start - gap),
        test,
    )


def walk_forward_folds(
    data_start: pd.Timestamp,
    holdout_from: pd.Timestamp,
    test: pd.Timedelta,
    calibration: pd.Timedelta,
    min_train: pd.Timedelta,
    gap: pd.Timedelta,
) -> list[Fold]:
    """Return expanding-window folds whose test blocks tile the time before the holdout, oldest first."""
    folds = []
    end = holdout_from
    while True:
        start = end - test
        fold = fold_for_test(Window(start, end), data_start, calibration, gap, "")
        if fold.train.end - fold.train.start < min_train:
            break
        folds.append(fold)
        end = start
    return [
        Fold(f"fold {n + 1}", f.train, f.calibration, f.test) for n, f in enumerate(reversed(folds))
    ]


def fit_booster(rows: pd.DataFrame, outcome: np.ndarray, params: dict, rounds: int):
    """Fit one LightGBM binary classifier on the 12 features."""
    import lightgbm as lgb

    dataset = lgb.Dataset(
        rows[list(FEATURE_NAMES)].to_numpy(dtype=float),
        label=outcome,
        feature_name=list(FEATURE_NAMES),
        free_raw_data=True,
    )
    return lgb.train(params, dataset, num_boost_round=rounds)


def fit_pair(
    data: pd.DataFrame, fold: Fold, params: dict = BOOSTER_PARAMS, rounds: int = BOOST_ROUNDS
) -> LoadedModel:
    """Fit the long and short boosters on the train window and calibrate them on the calibration window."""
    train, held = (
        data[fold.train.mask(data["open_time"])],
        data[fold.calibration.mask(data["open_time"])],
    )
    if len(train) < 1000 or len(held) < 500:
        raise ValueError(
            f"{fold.name or 'fold'}: too few rows (train {len(train)}, calibration {len(held)}); "
            f"give more history"
        )
    boosters, calibration, percentiles = {}, {}, {}
    for direction in ("long", "short"):
        booster = fit_booster(train, train[f"{direction}_event"].to_numpy(), params, rounds)
        raw = booster.predict(held[list(FEATURE_NAMES)].to_numpy(dtype=float), raw_score=True)
        calibration[direction] = fit_platt(raw, held[f"{direction}_event"].to_numpy())
        percentiles[direction] = np.quantile(
            calibration[direction].apply(raw), np.linspace(0, 1, PERCENTILE_POINTS)
        )
        boosters[direction] = booster
    return LoadedModel(
        folder=Path(fold.name or "in-memory"),
        version=fold.name or "in-memory",
        boosters=boosters,
        calibration=calibration,
        percentiles=percentiles,
        metadata={},
        age_days=0.0,
    )


def shuffled_control_auc(
    data: pd.DataFrame,
    fold: Fold,
    test: pd.DataFrame,
    seeds: tuple[int, ...],
    params: dict = BOOSTER_PARAMS,
    rounds: int = BOOST_ROUNDS,
) -> dict:
    """Return the test AUC of boosters trained on permuted labels (raw scores), averaged over seeds: must be ~0.5.

    One noise-trained booster is a random function of strongly predictive features, so a single run strays by
    about +-0.03; the mean over several permutations is the control, the single runs are kept beside it.
    """
    from sklearn.metrics import roc_auc_score

    train = data[fold.train.mask(data["open_time"])]
    rows = test[list(FEATURE_NAMES)].to_numpy(dtype=float)
    control = {}
    for direction in ("long", "short"):
        runs = []
        for seed in seeds:
            permuted = np.random.default_rng(seed).permutation(
                train[f"{direction}_event"].to_numpy()
            )
            raw = fit_booster(train, permuted, params, rounds).predict(rows, raw_score=True)
            runs.append(float(roc_auc_score(test[f"{direction}_event"], raw)))
        control[direction], control[f"{direction}_runs"] = float(np.mean(runs)), runs
    return control


def score_rows(model: LoadedModel, rows: pd.DataFrame) -> pd.DataFrame:
    """Return rows with the model's calibrated prob_long and prob_short added."""
    prob_long, prob_short = model.probabilities(rows[list(FEATURE_NAMES)].to_numpy(dtype=float))
    return rows.assign(prob_long=prob_long, prob_short=prob_short)
