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
    BOOSTER_FILE,
    ModelMismatch,
    check_feature_names,
    learned_until,
    read_metadata,
)
from signaldesk.model.calibration import PlattMap
from signaldesk.model.operating import OperatingPoint

log = logging.getLogger("signaldesk.model")
DIRECTIONS = ("LONG", "SHORT")
# One OpenMP thread per prediction: a row or a few are scored at a time on a 1-core VPS, and LightGBM's thread pool
# otherwise costs ~4 ms a call when it contends with other threads (measured in bench/bench_backtest.py).
ONE = 1


@dataclass(frozen=True)
class Prediction:
    """The calibrated chance that the price is higher an hour later, and the signal it points to.

    `prob_long` is P(up) and `prob_short` is P(down) = 1 - P(up); `direction` is the larger side and `confidence`
    its probability; `confidence_rank` is where that probability falls (0..1) among the same side's probabilities
    on the model's calibration window (>= 0.9 means top 10%). `probability` repeats P(up); `cutoff` is the model's
    operating-point probability for `direction` (None without one); `measured_edge` says whether the walk-forward
    edge after costs at that operating point is above zero with its interval (None when not measured).
    """

    prob_long: float
    prob_short: float
    direction: str
    confidence: float
    confidence_rank: float
    probability: float | None = None
    cutoff: float | None = None
    measured_edge: bool | None = None


@dataclass(frozen=True)
class Contribution:
    """One feature's push of the score toward the signal's direction for one row (LightGBM pred_contrib)."""

    feature: str
    value: float
    contribution: float


@dataclass(frozen=True)
class LoadedModel:
    """A model version ready to score: the direction booster, its calibration, percentiles and operating point."""

    folder: Path
    version: str
    booster: object
    calibration: PlattMap
    percentiles: np.ndarray
    operating_point: OperatingPoint | None
    metadata: dict
    age_days: float
    measured_edge: bool | None = None
    warnings: tuple[str, ...] = ()

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        """Return the calibrated P(up) of a 2-D array of feature rows."""
        rows = np.asarray(rows, dtype=float).reshape(-1, len(FEATURE_NAMES))
        return self.calibration.apply(self.booster.predict(rows, raw_score=True, num_threads=ONE))

    def predict(self, features_row: Sequence[float]) -> Prediction:
        """Score one feature row (values in FEATURE_NAMES order)."""
        up = float(self.probabilities(np.asarray([features_row]))[0])
        direction = "LONG" if up >= 0.5 else "SHORT"
        confidence = up if direction == "LONG" else 1.0 - up
        return Prediction(
            up,
            1.0 - up,
            direction,
            confidence,
            self.rank(direction, confidence),
            probability=up,
            cutoff=self.operating_point.cutoff(direction) if self.operating_point else None,
            measured_edge=self.measured_edge,
        )

    def rank(self, direction: str, confidence: float) -> float:
        """Return the share (0..1) of calibration-window candles whose same-side probability is at most this."""
        grid = np.linspace(0.0, 1.0, len(self.percentiles))
        if direction == "LONG":
            return float(np.interp(confidence, self.percentiles, grid))
        return float(1.0 - np.interp(1.0 - confidence, self.percentiles, grid))

    def top_contributions(
        self, features_row: Sequence[float], k: int = 3, direction: str | None = None
    ) -> list[Contribution]:
        """Return the k features that moved the score most for this row, largest first (+ = toward direction)."""
        row = np.asarray([features_row], dtype=float)
        direction = direction or self.predict(features_row).direction
        sign = 1.0 if direction == "LONG" else -1.0
        contrib = self.booster.predict(row, pred_contrib=True, num_threads=ONE)[0][:-1] * sign
        order = np.argsort(-np.abs(contrib))[:k]
        return [Contribution(FEATURE_NAMES[i], float(row[0, i]), float(contrib[i])) for i in order]


def load_model(folder: Path, now: datetime, max_age_days: float = 45) -> LoadedModel:
    """Load a model version; raise ModelMissing / ModelMismatch; warn (log + .warnings) when it is too old."""
    from signaldesk.imports import import_without

    lgb = import_without("lightgbm", ("sklearn",))  # inference needs only Booster
    folder = Path(folder)
    metadata = read_metadata(folder)
    check_feature_names(folder, metadata.get("feature_names", []), list(FEATURE_NAMES))
    if metadata.get("feature_spec_hash") != feature_spec_hash():
        raise ModelMismatch(
            f"model {folder} has feature spec hash {metadata.get('feature_spec_hash')} but the code's "
            f"is {feature_spec_hash()} (same names, different definitions); retrain the model"
        )
    booster = lgb.Booster(model_file=str(folder / BOOSTER_FILE))
    check_feature_names(folder, booster.feature_name(), list(FEATURE_NAMES))
    age_days = (now - (learned_until(metadata) or now)).total_seconds() / 86400
    point = metadata.get("operating_point")
    return LoadedModel(
        folder=folder,
        version=str(metadata.get("version", folder.name)),
        booster=booster,
        calibration=PlattMap.from_dict(metadata["calibration"]),
        percentiles=np.asarray(metadata["percentiles"], dtype=float),
        operating_point=OperatingPoint.from_dict(point) if point else None,
        metadata=metadata,
        age_days=age_days,
        measured_edge=(metadata.get("edge") or {}).get("measured"),
        warnings=_age_warnings(folder, age_days, max_age_days),
    )


def _age_warnings(folder: Path, age_days: float, max_age_days: float) -> tuple[str, ...]:
    """Return (and log) a warning when the model's newest training candle is older than allowed."""
    if age_days <= max_age_days:
        return ()
    text = (
        f"model {folder}: its newest training candle is {age_days:.0f} days old "
        f"(limit {max_age_days:g}); retrain it with `signaldesk retrain`"
    )
    log.warning(text)
    return (text,)
