"""Live inference: load a model version, check it against the code, and score one feature row (numpy
+ lightgbm)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from lightgbm import Booster

log = logging.getLogger("signaldesk.model")
DIRECTIONS = ("LONG", "SHORT")
# One OpenMP thread per prediction: a row or a few are scored at a time on a 1-core VPS, and
# LightGBM's thread pool otherwise costs ~4 ms a call when it contends with other threads (measured
# in bench/bench_backtest.py).
ONE = 1


@dataclass(frozen=True)
class Prediction:
    """The calibrated chance that the price is higher an hour later, and the signal it points to.

    `prob_long` is P(up) and `prob_short` is P(down) = 1 - P(up); `direction` is the larger side and
    `confidence` its probability; `confidence_rank` is where that probability falls (0..1) among the
    same side's probabilities on the model's calibration window (>= 0.9 means top 10%).
    `probability` repeats P(up); `cutoff` is the model's operating-point probability for `direction`
    (None without one); `measured_edge` says whether the walk-forward edge after costs at that
    operating point is above zero with its interval (None when not measured).
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
    """One feature's push of the score toward the signal's direction for one row (LightGBM
    pred_contrib)."""

    feature: str
    value: float
    contribution: float


@dataclass(frozen=True)
class LoadedModel:
    """A model version ready to score: the direction booster, its calibration, percentiles and
    operating point."""

    folder: Path
    version: str
    booster: Booster
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
        raw = np.asarray(self.booster.predict(rows, raw_score=True, num_threads=ONE))
        return self.calibration.apply(raw)

    def predict(self, features_row: Sequence[float]) -> Prediction:
        """Score one feature row (values in FEATURE_NAMES order)."""
        return self.predict_many(np.asarray([features_row], dtype=float))[0]

    def predict_many(self, rows: np.ndarray) -> list[Prediction]:
        """Score many feature rows in one batch (the backtest); row by row the same as `predict`."""
        up = self.probabilities(rows)
        is_long = up >= 0.5
        confidence = np.where(is_long, up, 1.0 - up)
        rank = np.where(is_long, self.ranks("LONG", confidence), self.ranks("SHORT", confidence))
        point = self.operating_point
        cutoffs = {d: point.cutoff(d) if point else None for d in DIRECTIONS}
        return [
            Prediction(
                p,
                1.0 - p,
                d,
                c,
                r,
                probability=p,
                cutoff=cutoffs[d],
                measured_edge=self.measured_edge,
            )
            for p, d, c, r in zip(
                up.tolist(),
                ["LONG" if x else "SHORT" for x in is_long.tolist()],
                confidence.tolist(),
                rank.tolist(),
                strict=True,
            )
        ]

    def rank(self, direction: str, confidence: float) -> float:
        """Return the share (0..1) of calibration-window candles whose same-side probability is at
        most this."""
        return float(self.ranks(direction, np.asarray([confidence], dtype=float))[0])

    def ranks(self, direction: str, confidences: np.ndarray) -> np.ndarray:
        """Return `rank` of many confidences of one direction."""
        grid = np.linspace(0.0, 1.0, len(self.percentiles))
        if direction == "LONG":
            return np.interp(confidences, self.percentiles, grid)
        return 1.0 - np.interp(1.0 - confidences, self.percentiles, grid)

    def top_contributions(
        self, features_row: Sequence[float], k: int = 3, direction: str | None = None
    ) -> list[Contribution]:
        """Return the k features that moved the score most for this row, largest first (+ = toward
        direction)."""
        direction = direction or self.predict(features_row).direction
        return self.top_contributions_many(np.asarray([features_row], dtype=float), k, [direction])[
            0
        ]

    def top_contributions_many(
        self, rows: np.ndarray, k: int, directions: Sequence[str]
    ) -> list[list[Contribution]]:
        """Return `top_contributions` of many rows in one batch (+ = toward each row's
        direction)."""
        rows = np.asarray(rows, dtype=float).reshape(-1, len(FEATURE_NAMES))
        signs = np.where([d == "LONG" for d in directions], 1.0, -1.0)
        contrib = np.asarray(self.booster.predict(rows, pred_contrib=True, num_threads=ONE))[
            :, :-1
        ]  # last: expected value
        contrib = contrib * signs[:, None]
        order = np.argsort(-np.abs(contrib), axis=1)[:, :k]
        pushes = np.take_along_axis(contrib, order, axis=1).tolist()
        return [
            [
                Contribution(FEATURE_NAMES[i], float(rows[n, i]), push)
                for i, push in zip(idx, row_push, strict=True)
            ]
            for n, (idx, row_push) in enumerate(zip(order.tolist(), pushes, strict=True))
        ]


def load_model(folder: Path, now: datetime, max_age_days: float = 45) -> LoadedModel:
    """Load a model version; raise ModelMissing / ModelMismatch; warn (log + .warnings) when it is
    too old."""
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
