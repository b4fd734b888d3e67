"""Honest evaluation of scored candles: event AUC, Brier vs base rate, calibration, thresholds, direction, returns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from signaldesk.model.inference import signal_side

# GMO leverage BTC_JPY/ETH_JPY: maker fee 0 % each side; the 0.04 %/day leverage fee is charged, conservatively,
# once on every trade.
ROUND_TRIP_COST = 0.0004
CALIBRATION_BINS = 10


@dataclass(frozen=True)
class Thresholds:
    """The signal rule's thresholds: calibrated probability per side and the top fraction by confidence rank."""

    long: float = 0.75
    short: float = 0.80
    top_fraction: float = 0.10


def _auc(outcome: np.ndarray, score: np.ndarray) -> float | None:
    """Return the ROC AUC, or None when only one outcome occurs."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(outcome, score)) if 0 < outcome.sum() < len(outcome) else None


def calibration_table(
    prob: np.ndarray, outcome: np.ndarray, bins: int = CALIBRATION_BINS
) -> list[dict]:
    """Return, per predicted-probability bin of width 1/bins, the count, mean prediction and observed rate."""
    edges = np.minimum((prob * bins).astype(int), bins - 1)
    table = []
    for b in range(bins):
        inside = edges == b
        if inside.any():
            table.append(
                {
                    "bin": f"{b / bins:.1f}-{(b + 1) / bins:.1f}",
                    "count": int(inside.sum()),
                    "mean_predicted": float(prob[inside].mean()),
                    "observed": float(outcome[inside].mean()),
                }
            )
    return table


def event_metrics(prob: np.ndarray, outcome: np.ndarray) -> dict:
    """Return AUC, Brier, base-rate Brier, log loss and the calibration table of one event model."""
    from sklearn.metrics import log_loss

    base_rate = float(outcome.mean())
    return {
        "rows": int(len(outcome)),
        "base_rate": base_rate,
        "auc": _auc(outcome, prob),
        "max_predicted": float(prob.max()),
        "brier": float(np.mean((prob - outcome) ** 2)),
        "base_rate_brier": base_rate * (1 - base_rate),
        "log_loss": float(log_loss(outcome, np.clip(prob, 1e-9, 1 - 1e-9), labels=[0, 1])),
        "calibration": calibration_table(prob, outcome),
    }


def selection_metrics(
    chosen: np.ndarray, outcome: np.ndarray, gain: np.ndarray, days: float
) -> dict:
    """Return how often a selection fires, its precision and its mean forward gain after costs."""
    count = int(chosen.sum())
    return {
        "signals": count,
        "per_day": count / days if days else None,
        "precision": float(outcome[chosen].mean()) if count else None,
        "mean_return_after_fees": float(gain[chosen].mean() - ROUND_TRIP_COST) if count else None,
    }


def direction_metrics(scored: pd.DataFrame, side: str, thresholds: Thresholds, days: float) -> dict:
    """Return event metrics plus threshold, top-fraction and combined-rule selections for one side.

    The top fraction uses the `cutoff_<side>` column: each row's model's own percentile-table cutoff.
    """
    cutoff = scored[f"cutoff_{side}"].to_numpy()
    prob, other = (
        scored[f"prob_{side}"].to_numpy(),
        scored[f"prob_{'short' if side == 'long' else 'long'}"].to_numpy(),
    )
    outcome = scored[f"{side}_event"].to_numpy()
    gain = scored["forward_return"].to_numpy() * (1 if side == "long" else -1)
    sides = signal_side(
        scored["prob_long"], scored["prob_short"], thresholds.long, thresholds.short
    )
    at_threshold = sides == (1 if side == "long" else -1)
    top = (prob >= cutoff) & (prob > other)
    return {
        **event_metrics(prob, outcome),
        "threshold": getattr(thresholds, side),
        "at_threshold": selection_metrics(at_threshold, outcome, gain, days),
        "top_fraction_cutoff": float(np.mean(cutoff)),
        "top_fraction": selection_metrics(top, outcome, gain, days),
        "rule": selection_metrics(at_threshold & top, outcome, gain, days),
        "all_candles_mean_return": float(gain.mean()),
    }


def directional_metrics(scored: pd.DataFrame, move: float) -> dict:
    """Return how well long-minus-short separates up from down on candles that moved at least `move`."""
    moved = scored[scored["forward_return"].abs() >= move]
    up = (moved["forward_return"] > 0).to_numpy().astype(float)
    return {
        "moved_rows": int(len(moved)),
        "share_up": float(up.mean()) if len(up) else None,
        "directional_auc": _auc(up, (moved["prob_long"] - moved["prob_short"]).to_numpy()),
    }


def return_by_decile(scored: pd.DataFrame) -> list[dict]:
    """Return the mean forward return per decile of long-minus-short score (1 = most short, 10 = most long)."""
    score = scored["prob_long"] - scored["prob_short"]
    decile = pd.qcut(score.rank(method="first"), 10, labels=False) + 1
    grouped = scored["forward_return"].groupby(decile.to_numpy())
    return [
        {"decile": int(d), "rows": int(len(g)), "mean_forward_return": float(g.mean())}
        for d, g in grouped
    ]


def score_block(scored: pd.DataFrame, move: float, thresholds: Thresholds) -> dict:
    """Return every metric for a block of scored, labelled candles (pooled over its symbols)."""
    days = scored["open_time"].dt.floor("D").nunique()
    return {
        "rows": int(len(scored)),
        "days": int(days),
        "first": scored["open_time"].min().isoformat(),
        "last": scored["open_time"].max().isoformat(),
        "long": direction_metrics(scored, "long", thresholds, days),
        "short": direction_metrics(scored, "short", thresholds, days),
        "direction": directional_metrics(scored, move),
        "return_by_decile": return_by_decile(scored),
    }


def suggested_thresholds(
    scored: pd.DataFrame, targets: tuple[float, ...] = (1, 2, 3)
) -> list[dict]:
    """Return per-side thresholds giving about `target` desk-wide signals a day (split evenly), with precision."""
    days = scored["open_time"].dt.floor("D").nunique()
    suggestions = []
    for target in targets:
        row = {"signals_per_day": target}
        for side, other in (("long", "short"), ("short", "long")):
            wins = scored[scored[f"prob_{side}"] > scored[f"prob_{other}"]]
            wanted = int(round(target / 2 * days))
            threshold = float(
                np.sort(wins[f"prob_{side}"].to_numpy())[::-1][min(wanted, len(wins)) - 1]
            )
            chosen = wins[wins[f"prob_{side}"] >= threshold]
            row[side] = {"threshold": threshold, "precision": float(chosen[f"{side}_event"].mean())}
        suggestions.append(row)
    return suggestions
