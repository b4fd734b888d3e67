"""Live inference: load a model version, check it against the code, and score one feature row (numpy + lightgbm)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from signaldesk.features import FEATURE_NAMES, feature_spec_hash
from signaldesk.model.artifacts import (
    BOOSTER_FILES,
    ModelMismatch,
    check_feature_names,
    read_metadata,
)
from signaldesk.model.calibration import PlattMap

log = logging.getLogger("signaldesk.model")
DIRECTIONS = ("LONG", "SHORT")
# One OpenMP thread per prediction: a row or a few are scored at a time on a 1-core VPS, and LightGBM's thread pool
# otherwise costs ~4 ms a call when it contends with pandas-ta's numba threads (measured in bench/bench_backtest.py).
ONE = 1


@dataclass(frozen=True)
class Prediction:
    """Calibrated probabilities of both move events and the signal they point to.

    `confidence` is the calibrated probability of the move in `direction`; `confidence_rank` is where it falls
    (0..1) among the model's held-out probabilities for that direction (>= 0.9 means top 10%).
    """

    prob_long: float
    prob_short: float
    direction: str
    confidence: float
    confidence_rank: float


@dataclass(frozen=True)
class Contribution:
    """One feature's share of a booster's raw score for one row (LightGBM pred_contrib)."""

    feature: str
    value: float
    contribution: float


@dataclass(frozen=True)
class LoadedModel:
    """A model version ready to score: the two boosters, their calibration maps and percentile tables."""

    folder: Path
    version: str
    boosters: dict
    calibration: dict[str, PlattMap]
    percentiles: dict[str, np.ndarray]
    metadata: dict
    age_days: float
    warnings: tuple[str, ...] = ()

    def probabilities(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return calibrated long and short probabilities for a 2-D array of feature rows."""
        rows = np.asarray(rows, dtype=float).reshape(-1, len(FEATURE_NAMES))
        return tuple(
            self.calibration[d].apply(
                self.boosters[d].predict(rows, raw_score=True, num_threads=ONE)
            )
            for d in ("long", "short")
        )

    def predict(self, features_row: Sequence[float]) -> Prediction:
        """Score one feature row (values in FEATURE_NAMES order)."""
        return self.predict_many(np.asarray([features_row], dtype=float))[0]

    def predict_many(self, rows: np.ndarray) -> list[Prediction]:
        """Score many feature rows in one batch (the backtest); row by row the same as `predict`."""
        prob_long, prob_short = self.probabilities(rows)
        is_long = prob_long >= prob_short
        confidence = np.where(is_long, prob_long, prob_short)
        rank = np.where(is_long, self.ranks("LONG", confidence), self.ranks("SHORT", confidence))
        return [
            Prediction(long, short, "LONG" if up else "SHORT", conf, r)
            for long, short, up, conf, r in zip(
                prob_long.tolist(),
                prob_short.tolist(),
                is_long.tolist(),
                confidence.tolist(),
                rank.tolist(),
                strict=True,
            )
        ]

    def rank(self, direction: str, confidence: float) -> float:
        """Return where a confidence falls (0..1) among the held-out probabilities of that direction."""
        return float(self.ranks(direction, np.asarray([confidence], dtype=float))[0])

    def ranks(self, direction: str, confidences: np.ndarray) -> np.ndarray:
        """Return `rank` of many confidences of one direction."""
        table = self.percentiles[direction.lower()]
        return np.interp(confidences, table, np.linspace(0.0, 1.0, len(table)))

    def top_contributions(
        self, features_row: Sequence[float], k: int = 3, direction: str | None = None
    ) -> list[Contribution]:
        """Return the k features that moved the direction's raw score most for this row, largest first."""
        direction = direction or self.predict(features_row).direction
        return self.top_contributions_many(np.asarray([features_row], dtype=float), k, [direction])[
            0
        ]

    def top_contributions_many(
        self, rows: np.ndarray, k: int, directions: Sequence[str]
    ) -> list[list[Contribution]]:
        """Return `top_contributions` of many rows (each by its direction's booster), batched."""
        rows = np.asarray(rows, dtype=float).reshape(-1, len(FEATURE_NAMES))
        tops: list[list[Contribution]] = [[] for _ in range(len(rows))]
        for side in ("long", "short"):
            chosen = np.flatnonzero([d.lower() == side for d in directions])
            if not len(chosen):
                continue
            contrib = self.boosters[side].predict(rows[chosen], pred_contrib=True, num_threads=ONE)
            contrib = contrib[:, :-1]  # the last column is the expected value, not a feature
            order = np.argsort(-np.abs(contrib), axis=1)[:, :k]
            for row, features, pushes in zip(
                chosen.tolist(),
                order.tolist(),
                np.take_along_axis(contrib, order, axis=1).tolist(),
                strict=True,
            ):
                tops[row] = [
                    Contribution(FEATURE_NAMES[i], float(rows[row, i]), push)
                    for i, push in zip(features, pushes, strict=True)
                ]
        return tops


def signal_side(
    prob_long: np.ndarray, prob_short: np.ndarray, long_threshold: float, short_threshold: float
) -> np.ndarray:
    """Return +1 (long), -1 (short) or 0: a side fires when its probability meets its threshold and beats the other."""
    prob_long, prob_short = np.asarray(prob_long, dtype=float), np.asarray(prob_short, dtype=float)
    long_fires = (prob_long >= long_threshold) & (prob_long > prob_short)
    short_fires = (prob_short >= short_threshold) & (prob_short > prob_long)
    return long_fires.astype(int) - short_fires.astype(int)


def load_model(folder: Path, now: datetime, max_age_days: float = 45) -> LoadedModel:
    """Load a model version; raise ModelMissing / ModelMismatch; warn (log + .warnings) when it is too old."""
    from signaldesk.imports import import_without

    lgb = import_without(
        "lightgbm", ("sklearn",)
    )  # inference needs only Booster: skip scikit-learn's import cost
    folder = Path(folder)
    metadata = read_metadata(folder)
    check_feature_names(folder, metadata.get("feature_names", []), list(FEATURE_NAMES))
    if metadata.get("feature_spec_hash") != feature_spec_hash():
        raise ModelMismatch(
            f"model {folder} has feature spec hash {metadata.get('feature_spec_hash')} but the code's "
            f"is {feature_spec_hash()} (same names, different definitions); retrain the model"
        )
    boosters = {d: lgb.Booster(model_file=str(folder / name)) for d, name in BOOSTER_FILES.items()}
    for booster in boosters.values():
        check_feature_names(folder, booster.feature_name(), list(FEATURE_NAMES))
    age_days = (now - datetime.fromisoformat(metadata["created_at"])).total_seconds() / 86400
    warnings = _age_warnings(folder, age_days, max_age_days)
    return LoadedModel(
        folder=folder,
        version=str(metadata.get("version", folder.name)),
        boosters=boosters,
        calibration={d: PlattMap.from_dict(metadata["calibration"][d]) for d in BOOSTER_FILES},
        percentiles={
            d: np.asarray(metadata["confidence_percentiles"][d], dtype=float) for d in BOOSTER_FILES
        },
        metadata=metadata,
        age_days=age_days,
        warnings=warnings,
    )


def _age_warnings(folder: Path, age_days: float, max_age_days: float) -> tuple[str, ...]:
    """Return (and log) a warning when the model is older than allowed."""
    if age_days <= max_age_days:
        return ()
    text = f"model {folder} is {age_days:.0f} days old (limit {max_age_days:g}); retrain it with `signaldesk train`"
    log.warning(text)
    return (text,)
