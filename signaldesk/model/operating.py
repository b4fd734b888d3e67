"""The operating point: rank cutoffs of a model's own calibration-window P(up) for a target of
signals a day."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from signaldesk.rules import fires


@dataclass(frozen=True)
class OperatingPoint:
    """When the model fires: LONG when P(up) >= long_cutoff, SHORT when P(down) >= short_cutoff.

    The cutoffs are the top `signals_per_day / 2` a day of each side on the model's own calibration
    window (all symbols it was fitted on together), so the sides are balanced and the rate is the
    model's own.
    """

    signals_per_day: float
    long_cutoff: float
    short_cutoff: float
    long_share: float
    short_share: float
    days: int

    def sides(self, prob_up: np.ndarray) -> np.ndarray:
        """Return +1 (LONG), -1 (SHORT) or 0 for each P(up)."""
        prob_up = np.asarray(prob_up, dtype=float)
        prob_down = 1.0 - prob_up
        long_fires = fires(prob_up, prob_down, self.long_cutoff)
        short_fires = fires(prob_down, prob_up, self.short_cutoff)
        return long_fires.astype(int) - short_fires.astype(int)

    def cutoff(self, direction: str) -> float:
        """Return the calibrated probability the direction's side must reach."""
        return self.long_cutoff if direction == "LONG" else self.short_cutoff

    def to_dict(self) -> dict:
        """Return the operating point as metadata."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> OperatingPoint:
        """Build the operating point from metadata."""
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})


def choose_operating_point(
    prob_up: np.ndarray, days: int, signals_per_day: float
) -> OperatingPoint:
    """Return the cutoffs that fire `signals_per_day` (half per side) on these calibration-window
    scores."""
    ordered = np.sort(np.asarray(prob_up, dtype=float))
    if days < 1 or len(ordered) == 0:
        raise ValueError("an operating point needs at least one day of calibration scores")
    per_side = int(min(max(1, round(signals_per_day / 2 * days)), len(ordered)))
    long_cutoff, lowest = float(ordered[-per_side]), float(ordered[per_side - 1])
    return OperatingPoint(
        signals_per_day=float(signals_per_day),
        long_cutoff=long_cutoff,
        short_cutoff=1.0 - lowest,
        long_share=float(np.mean(ordered >= long_cutoff)),
        short_share=float(np.mean(ordered <= lowest)),
        days=int(days),
    )
