"""Training: the labelled dataset, time windows with gaps, and fitting one calibrated up-vs-down
booster."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from signaldesk.features import FEATURE_NAMES, compute_features
from signaldesk.labels import LabelSpec, direction_labels
from signaldesk.model.calibration import fit_platt
from signaldesk.model.inference import LoadedModel
from signaldesk.model.operating import choose_operating_point

# A small, strongly regularised booster: direction skill at one hour is faint, so depth and rounds
# buy noise.
BOOSTER_PARAMS = {
    "objective": "binary",
    "learning_rate": 0.02,
    "num_leaves": 7,
    "min_data_in_leaf": 1000,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.7,
    "bagging_freq": 1,
    "lambda_l2": 10.0,
    "num_threads": 1,
    "verbose": -1,
    "seed": 7,
    "deterministic": True,
    "force_row_wise": True,
}
BOOST_ROUNDS = 300
PERCENTILE_POINTS = 1001
SIGNALS_PER_DAY = 1.5


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


def labelled_rows(
    frames: dict[str, pd.DataFrame],
    features: Callable[[pd.DataFrame], pd.DataFrame],
    labels: list[Callable[[pd.DataFrame], pd.DataFrame]],
) -> pd.DataFrame:
    """Return one row per symbol and candle with features and labels (rows without features or a
    future dropped)."""
    parts = []
    for symbol, frame in frames.items():
        computed = features(frame)
        part = pd.concat([computed, *(label(frame) for label in labels)], axis=1)
        part = part.loc[:, ~part.columns.duplicated()]
        part.insert(0, "open_time", frame["open_time"].to_numpy())
        part.insert(0, "symbol", symbol)
        parts.append(part.dropna(subset=[*computed.columns, "forward_return"]))
    return pd.concat(parts, ignore_index=True).sort_values(
        ["open_time", "symbol"], ignore_index=True
    )


def build_dataset(frames: dict[str, pd.DataFrame], label: LabelSpec) -> pd.DataFrame:
    """Return the model's rows: the 12 features, forward_return and up (NaN when the close did not
    change)."""
    return labelled_rows(frames, compute_features, [lambda f: direction_labels(f, label)])


def fold_for_test(
    test: Window, data_start: pd.Timestamp, calibration: pd.Timedelta, gap: pd.Timedelta, name: str
) -> Fold:
    """Return the fold that tests on `test`: calibration just before it, training on everything
    earlier."""
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
    """Return expanding-window folds whose test blocks tile the time before the holdout, oldest
    first."""
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


def fit_booster(
    rows: pd.DataFrame, outcome: np.ndarray, params: dict, rounds: int, names=FEATURE_NAMES
):
    """Fit one LightGBM binary classifier on the named feature columns."""
    import lightgbm as lgb

    dataset = lgb.Dataset(
        rows[list(names)].to_numpy(dtype=float),
        label=outcome,
        feature_name=list(names),
        free_raw_data=True,
    )
    return lgb.train(params, dataset, num_boost_round=rounds)


def window_rows(data: pd.DataFrame, window: Window, known: str | None = "up") -> pd.DataFrame:
    """Return the rows inside a window (only those whose `known` label is known)."""
    rows = data[window.mask(data["open_time"])]
    return rows[rows[known].notna()] if known else rows


def calendar_days(rows: pd.DataFrame) -> int:
    """Return on how many UTC days the rows have candles."""
    return int(rows["open_time"].dt.floor("D").nunique())


def fit_model(
    data: pd.DataFrame,
    fold: Fold,
    params: dict = BOOSTER_PARAMS,
    rounds: int = BOOST_ROUNDS,
    signals_per_day: float = SIGNALS_PER_DAY,
) -> LoadedModel:
    """Fit the up-vs-down booster on the train window; calibrate it and set its operating point on
    calibration."""
    train, held = window_rows(data, fold.train), window_rows(data, fold.calibration)
    if len(train) < 1000 or len(held) < 500:
        raise ValueError(
            f"{fold.name or 'fold'}: too few rows (train {len(train)}, calibration {len(held)}); "
            f"give more history"
        )
    booster = fit_booster(train, train["up"].to_numpy(), params, rounds)
    raw = booster.predict(held[list(FEATURE_NAMES)].to_numpy(dtype=float), raw_score=True)
    calibration = fit_platt(raw, held["up"].to_numpy())
    prob_up = calibration.apply(raw)
    name = fold.name or "in-memory"
    return LoadedModel(
        folder=Path(name),
        version=name,
        booster=booster,
        calibration=calibration,
        percentiles=np.quantile(prob_up, np.linspace(0, 1, PERCENTILE_POINTS)),
        operating_point=choose_operating_point(prob_up, calendar_days(held), signals_per_day),
        metadata={},
        age_days=0.0,
    )


# The backtest's walk-forward fits a model per block by this name.
fit_pair = fit_model


def score_rows(model: LoadedModel, rows: pd.DataFrame) -> pd.DataFrame:
    """Return rows with the model's calibrated prob_up and its operating-point side (+1, -1, 0)
    added."""
    prob_up = model.probabilities(rows[list(FEATURE_NAMES)].to_numpy(dtype=float))
    side = model.operating_point.sides(prob_up) if model.operating_point else 0
    return rows.assign(prob_up=prob_up, side=side)


def control_scores(
    data: pd.DataFrame,
    fold: Fold,
    test: pd.DataFrame,
    seeds: tuple[int, ...],
    params: dict = BOOSTER_PARAMS,
    rounds: int = BOOST_ROUNDS,
) -> pd.DataFrame:
    """Return, per seed, the raw test scores of a booster trained on permuted up/down labels (must
    rank at chance).

    One noise-trained booster is a random function of strongly predictive features, so a single run
    strays by about +-0.01..0.03 AUC; the mean over several permutations is the control.
    """
    train = window_rows(data, fold.train)
    rows = test[list(FEATURE_NAMES)].to_numpy(dtype=float)
    scores = {}
    for seed in seeds:
        permuted = np.random.default_rng(seed).permutation(train["up"].to_numpy())
        booster = fit_booster(train, permuted, params, rounds)
        scores[f"control_{seed}"] = booster.predict(rows, raw_score=True)
    return pd.DataFrame(scores, index=test.index)
