"""The promotion gate of `retrain`: score the candidate and the active model on the same newest
out-of-sample block, and promote only a candidate that is better by a set margin and passed the
look-ahead and shuffle checks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from signaldesk.model.artifacts import learned_until
from signaldesk.model.evaluation import (
    Scoring,
    block_metrics,
    day_codes,
    resampled_day_weights,
    weighted_auc,
)
from signaldesk.model.training import score_rows

MARGIN = 0.002
CONTROL_TOLERANCE = 0.02


@dataclass(frozen=True)
class GateRules:
    """How much better the candidate must be, and how close to chance its shuffled control must
    stay."""

    margin: float = MARGIN
    control_tolerance: float = CONTROL_TOLERANCE


@dataclass(frozen=True)
class Verdict:
    """Promote or not, every reason, and the figures the trader sees."""

    promote: bool
    reasons: tuple[str, ...]
    figures: dict


def paired_interval(
    rows: pd.DataFrame, candidate: np.ndarray, active: np.ndarray, draws: int, seed: int = 3
) -> list[float] | None:
    """Return the 95% interval of candidate minus active sign AUC on the same rows, days resampled
    together."""
    codes, n_days = day_codes(rows)
    up = rows["up"].to_numpy(dtype=float)
    if draws <= 0 or n_days < 2:
        return None
    known = ~np.isnan(up)
    sorted_by = {
        name: (up[known][order], codes[known][order])
        for name, order in (
            ("candidate", np.argsort(candidate[known], kind="stable")),
            ("active", np.argsort(active[known], kind="stable")),
        )
    }
    differences = []
    for weights in resampled_day_weights(n_days, draws, seed):
        a, b = (weighted_auc(y, weights[days]) for y, days in sorted_by.values())
        if a is not None and b is not None:
            differences.append(a - b)
    return [float(v) for v in np.percentile(differences, [2.5, 97.5])] if differences else None


def brief(block: dict) -> dict:
    """Return the figures of one model on the block."""
    point = block["operating_point"]
    return {
        "sign_auc": block["sign_auc"],
        "signals_per_day": point["per_day"],
        "hit_rate": point["hit_rate"],
        "net_bps": point["net_bps"],
    }


def compare(result, active, how: Scoring) -> dict:
    """Return both models' figures on the candidate's holdout block (the newest out-of-sample
    candles)."""
    rows = result.holdout_rows
    candidate = brief(block_metrics(rows, how))
    figures = {
        "block": {
            "start": rows["open_time"].min().isoformat(),
            "end": rows["open_time"].max().isoformat(),
            "rows": int(len(rows)),
        },
        "candidate": candidate,
        "control_auc": {
            "walk_forward": result.metadata["metrics"]["walk_forward"]["control_auc"],
            "block": result.metadata["metrics"]["holdout"]["control_auc"],
        },
        "lookahead_cuts": result.report["lookahead"]["cuts_per_symbol"],
        "edge": result.metadata["edge"]["verdict"],
    }
    if active is not None:
        ours = [c for c in rows.columns if c in ("prob_up", "side") or c.startswith("control_")]
        theirs = score_rows(active, rows.drop(columns=ours))
        figures["active"] = brief(block_metrics(theirs, how))
        seen = learned_until(active.metadata)
        figures["active_learned_until"] = seen.isoformat() if seen else None
        figures["difference"] = candidate["sign_auc"] - figures["active"]["sign_auc"]
        figures["difference_ci"] = paired_interval(
            rows, rows["prob_up"].to_numpy(), theirs["prob_up"].to_numpy(), how.draws
        )
    return figures


def judge(figures: dict, active_problem: str | None, rules: GateRules) -> Verdict:
    """Return whether to promote: both checks pass and the candidate beats the active model by the
    margin."""
    reasons = [*control_problems(figures, rules)]
    if active_problem:
        return Verdict(
            not reasons, (*reasons, f"the active model cannot be scored: {active_problem}"), figures
        )
    seen = figures.get("active_learned_until")
    if seen is None or pd.Timestamp(seen) > pd.Timestamp(figures["block"]["start"]):
        reasons.append(
            f"the active model learned from candles up to {(seen or 'an unknown time')[:16]}, not before the "
            f"block from {figures['block']['start'][:16]}: no fair comparison yet, retrain later"
        )
    difference = figures["difference"]
    if difference < rules.margin:
        reasons.append(
            f"sign AUC {figures['candidate']['sign_auc']:.4f} vs active {figures['active']['sign_auc']:.4f}: "
            f"{difference:+.4f}, below the margin {rules.margin:+.4f}"
        )
    return Verdict(not reasons, tuple(reasons), figures)


def control_problems(figures: dict, rules: GateRules) -> list[str]:
    """Return the failed shuffle checks: a control that does not score chance means leakage or a
    bug."""
    problems = []
    for where, value in figures["control_auc"].items():
        if value is None or abs(value - 0.5) > rules.control_tolerance:
            problems.append(
                f"shuffled-label control AUC {value} on the {where.replace('_', '-')} rows is not within "
                f"0.5 +- {rules.control_tolerance}: refusing (leakage or a bug)"
            )
    return problems


def alert_text(candidate: str, active: str, verdict: Verdict, promoted: bool) -> str:
    """Return the alert the bot delivers: what happened and the figures behind it."""
    f = verdict.figures
    block = f["block"]
    head = (
        f"Retrain: model {candidate} promoted over {active}."
        if promoted
        else f"Retrain: candidate {candidate} NOT promoted; {active} stays active."
    )
    lines = [
        head,
        f"Newest out-of-sample block {block['start'][:10]}..{block['end'][:10]} ({block['rows']} candles):",
        f"  candidate: {_figures(f['candidate'])}",
    ]
    if "active" in f:
        ci = f.get("difference_ci")
        lines += [
            f"  active:    {_figures(f['active'])}",
            f"  difference in sign AUC {f['difference']:+.4f}"
            + (f" (paired 95% CI {ci[0]:+.4f}..{ci[1]:+.4f})" if ci else ""),
        ]
    lines.append(
        f"Checks: look-ahead at {f['lookahead_cuts']} random cuts a symbol passed; shuffled control "
        f"{_auc(f['control_auc']['walk_forward'])} walk-forward, {_auc(f['control_auc']['block'])} on the block."
    )
    lines += [f"Why: {reason}" for reason in verdict.reasons]
    lines.append(f"Candidate's verdict: {f['edge']}.")
    if promoted:
        lines.append("Undo with `signaldesk model rollback`.")
    return "\n".join(lines)


def _figures(block: dict) -> str:
    """Return one model's block figures in a line."""
    return (
        f"sign AUC {_auc(block['sign_auc'])}, {block['signals_per_day'] or 0:.2f} signals/day, hit rate "
        f"{_share(block['hit_rate'])}, net {_bps(block['net_bps'])} bps after costs"
    )


def _auc(value) -> str:
    """Format an AUC."""
    return "n/a" if value is None else f"{value:.3f}"


def _share(value) -> str:
    """Format a share as a percentage."""
    return "n/a" if value is None else f"{value:.0%}"


def _bps(value) -> str:
    """Format basis points with a sign."""
    return "n/a" if value is None else f"{value:+.1f}"
