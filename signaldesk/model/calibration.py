"""Probability calibration (Platt scaling on the booster's raw score), fitted and applied with numpy
only."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PlattMap:
    """p = 1 / (1 + exp(-(slope * raw + intercept))), raw being the booster's log-odds score."""

    slope: float
    intercept: float

    def apply(self, raw: np.ndarray) -> np.ndarray:
        """Return calibrated probabilities for raw scores."""
        z = self.slope * np.asarray(raw, dtype=float) + self.intercept
        return 1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0)))

    def to_dict(self) -> dict:
        """Return the map as metadata."""
        return {"method": "platt", "slope": self.slope, "intercept": self.intercept}

    @classmethod
    def from_dict(cls, data: dict) -> PlattMap:
        """Build the map from metadata; raise ValueError when it is not a Platt map."""
        if data.get("method") != "platt":
            raise ValueError(
                f"unknown calibration method {data.get('method')!r} (expected 'platt')"
            )
        return cls(float(data["slope"]), float(data["intercept"]))


def fit_platt(raw: np.ndarray, outcome: np.ndarray, iterations: int = 50) -> PlattMap:
    """Fit slope and intercept by Newton's method on the log loss (a tiny ridge keeps it stable)."""
    x = np.asarray(raw, dtype=float)
    y = np.asarray(outcome, dtype=float)
    if len(x) == 0 or y.min() == y.max():
        raise ValueError("calibration needs both outcomes in the held-out slice")
    w = np.array([1.0, 0.0])
    design = np.column_stack([x, np.ones_like(x)])
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ w, -40.0, 40.0)))
        gradient = design.T @ (p - y) + 1e-6 * w
        hessian = (design * (p * (1 - p))[:, None]).T @ design + 1e-6 * np.eye(2)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return PlattMap(float(w[0]), float(w[1]))
