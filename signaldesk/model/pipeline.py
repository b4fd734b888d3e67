"""The training run: look-ahead check, walk-forward folds with controls (and the v1 design on the
same folds), the final model with its operating point, and its one-time holdout."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from signaldesk.features import (
    FEATURE_NAMES,
    FEATURE_SPECS,
    compute_features,
    feature_spec_hash,
    lookahead_features,
)
from signaldesk.labels import LabelSpec
from signaldesk.model.evaluation import (
    BOOTSTRAP_DRAWS,
    Scoring,
    TradeCosts,
    per_month,
    per_symbol,
)
from signaldesk.model.inference import LoadedModel
from signaldesk.model.report import expectations
from signaldesk.model.training import (
    BOOST_ROUNDS,
    BOOSTER_PARAMS,
    SIGNALS_PER_DAY,
    Fold,
    Window,
    build_dataset,
    control_scores,
    fit_model,
    fold_for_test,
    score_rows,
    walk_forward_folds,
)

CONTROL_SEEDS = (11, 12, 13)
LOOKAHEAD_CUTS = 24
CURRENT = (
    "one calibrated up-vs-down LightGBM (7 leaves, >= 1,000 rows a leaf, learning rate 0.02, L2 10, "
    "bagging 0.7) on 12 scale-free features"
)
BASELINE = (
    "v1: two calibrated +-0.3% close-at-one-hour event heads on the v1 features (MACD, ADX, stochastic, ...); "
    "direction score P(long event) - P(short event)"
)


class TrainingError(ValueError):
    """The data or the options cannot give an honest model; the message says what to change."""


@dataclass(frozen=True)
class TrainingOptions:
    """What to train and how to split time and judge the result."""

    holdout_from: pd.Timestamp
    label: LabelSpec = field(default_factory=LabelSpec)
    costs: TradeCosts = field(default_factory=TradeCosts)
    signals_per_day: float = SIGNALS_PER_DAY
    test_days: int = 91
    calibration_days: int = 61
    min_train_days: int = 180
    gap: pd.Timedelta = pd.Timedelta(days=1)
    params: dict = field(default_factory=lambda: dict(BOOSTER_PARAMS))
    rounds: int = BOOST_ROUNDS
    control_seeds: tuple[int, ...] = CONTROL_SEEDS
    baseline: bool = False
    draws: int = BOOTSTRAP_DRAWS
    lookahead_cuts: int = LOOKAHEAD_CUTS

    def scoring(self, design: str = "current") -> Scoring:
        """Return how blocks of this run are scored (the current design's columns or the
        baseline's)."""
        if design == "current":
            return Scoring(self.costs, self.label.horizon_bars, self.draws)
        return Scoring(
            self.costs,
            self.label.horizon_bars,
            self.draws,
            score="baseline_score",
            side="baseline_side",
        )


@dataclass(frozen=True)
class TrainingResult:
    """The final model, its metadata, the full evaluation report and its scored holdout rows."""

    model: LoadedModel
    metadata: dict
    report: dict
    holdout_rows: pd.DataFrame


def random_cuts(length: int, count: int, seed: int, warmup: int = 100) -> list[int]:
    """Return `count` sorted distinct row positions drawn uniformly across the whole history after
    warm-up."""
    if length <= warmup + 1:
        return []
    rng = np.random.default_rng(seed)
    picked = rng.choice(np.arange(warmup, length), min(count, length - warmup), replace=False)
    return sorted(int(c) for c in picked)


def check_no_lookahead(
    frames: dict[str, pd.DataFrame], cuts: int, seed: int = 5, compute=compute_features
) -> dict:
    """Raise TrainingError when a feature on truncated history differs from the full history; return
    what ran."""
    checked = {}
    for symbol, frame in frames.items():
        positions = random_cuts(len(frame), cuts, seed)
        leaking = lookahead_features(compute, frame, positions)
        if leaking:
            raise TrainingError(
                f"{symbol}: features {leaking} look ahead (truncated history differs); refusing"
            )
        checked[symbol] = [frame["open_time"].iloc[p].isoformat() for p in positions]
    return {"cuts_per_symbol": cuts, "checked": checked, "leaking": []}


def evaluate_fold(
    data: pd.DataFrame, fold: Fold, options: TrainingOptions, baseline_data: pd.DataFrame | None
) -> tuple[LoadedModel, pd.DataFrame]:
    """Fit a fold's model, score its test window with the controls (and the baseline); return
    both."""
    model = fit_model(data, fold, options.params, options.rounds, options.signals_per_day)
    test = data[fold.test.mask(data["open_time"])]
    if test.empty:
        raise TrainingError(f"{fold.name}: no labelled candles in {fold.test.to_dict()}")
    scored = score_rows(model, test).assign(fold=fold.name)
    controls = control_scores(
        data, fold, test, options.control_seeds, options.params, options.rounds
    )
    scored = pd.concat([scored, controls], axis=1)
    if baseline_data is not None:
        scored = with_baseline(scored, baseline_data, fold, options)
    return model, scored


def with_baseline(
    scored: pd.DataFrame, baseline_data: pd.DataFrame, fold: Fold, options: TrainingOptions
) -> pd.DataFrame:
    """Add the v1 design's score and side, fitted on the same fold, to the scored test rows."""
    from signaldesk.model.baseline import fit_baseline, score_baseline

    model = fit_baseline(baseline_data, fold, options.signals_per_day)
    test = baseline_data[fold.test.mask(baseline_data["open_time"])]
    merged = scored.merge(score_baseline(model, test), on=["symbol", "open_time"], how="left")
    merged.index = scored.index
    return merged


def walk_forward(
    data: pd.DataFrame,
    folds: list[Fold],
    options: TrainingOptions,
    baseline_data: pd.DataFrame | None,
    progress: Callable[[str], None],
) -> pd.DataFrame:
    """Return every fold's scored test rows (each fold's model saw only candles before its test
    block)."""
    parts = []
    for fold in folds:
        progress(
            f"walk-forward {fold.name}: test {fold.test.start:%Y-%m-%d} .. {fold.test.end:%Y-%m-%d}"
        )
        parts.append(evaluate_fold(data, fold, options, baseline_data)[1])
    return pd.concat(parts, ignore_index=True)


def plan_folds(data: pd.DataFrame, options: TrainingOptions) -> tuple[list[Fold], Fold]:
    """Return the walk-forward folds before the holdout and the final fold that tests on the
    holdout."""
    start = data["open_time"].min()
    end = data["open_time"].max() + pd.Timedelta(minutes=15)
    if not start < options.holdout_from < end:
        raise TrainingError(
            f"holdout start {options.holdout_from} must fall inside the data ({start} .. {end})"
        )
    days = pd.Timedelta(days=1)
    folds = walk_forward_folds(
        start,
        options.holdout_from,
        options.test_days * days,
        options.calibration_days * days,
        options.min_train_days * days,
        options.gap,
    )
    if not folds:
        raise TrainingError(
            "not enough history before the holdout for one walk-forward fold; "
            "give more history or smaller --test-days/--min-train-days"
        )
    final = fold_for_test(
        Window(options.holdout_from, end),
        start,
        options.calibration_days * days,
        options.gap,
        "holdout",
    )
    return folds, final


def train_and_evaluate(
    frames: dict[str, pd.DataFrame],
    sources: dict[str, str],
    options: TrainingOptions,
    now: datetime,
    progress: Callable[[str], None] = lambda _: None,
) -> TrainingResult:
    """Run the whole training: look-ahead check, walk-forward, final fit, holdout once; return model
    and report."""
    progress(f"checking features for look-ahead at {options.lookahead_cuts} random cuts a symbol")
    lookahead = check_no_lookahead(frames, options.lookahead_cuts)
    progress("computing features and labels")
    data = build_dataset(frames, options.label)
    baseline_data = None
    if options.baseline:
        from signaldesk.model.baseline import baseline_dataset

        baseline_data = baseline_dataset(frames, options.label)
    folds, final = plan_folds(data, options)
    folds_rows = walk_forward(data, folds, options, baseline_data, progress)
    progress(
        f"final model: train {final.train.start:%Y-%m-%d} .. {final.train.end:%Y-%m-%d}, calibrate .. "
        f"{final.calibration.end:%Y-%m-%d}; holdout {final.test.start:%Y-%m-%d} .. "
        f"{final.test.end:%Y-%m-%d} (once)"
    )
    model, holdout_rows = evaluate_fold(data, final, options, baseline_data)
    assert model.operating_point is not None, (
        "a freshly trained model always has its operating point"
    )
    progress("scoring blocks and months (bootstrap over days)")
    report = assemble_report(frames, sources, options, now, folds, folds_rows, holdout_rows)
    report.update(
        lookahead=lookahead,
        edge=edge_verdict(report),
        operating_point={**model.operating_point.to_dict(), "window": final.calibration.to_dict()},
    )
    report["expectations"] = expectations(report)
    return TrainingResult(
        model, assemble_metadata(model, report, options, final, now), report, holdout_rows
    )


def data_description(frames: dict[str, pd.DataFrame], sources: dict[str, str]) -> dict:
    """Return, per symbol, the candle source, rows, first and last open time and a hash of the
    values."""
    described = {}
    for symbol, frame in frames.items():
        values = frame[["open", "high", "low", "close", "volume"]].to_numpy(dtype=float)
        times = frame["open_time"].astype("int64").to_numpy()
        digest = hashlib.sha256(
            times.tobytes() + np.ascontiguousarray(values).tobytes()
        ).hexdigest()[:16]
        described[symbol] = {
            "source": sources[symbol],
            "rows": int(len(frame)),
            "first": frame["open_time"].iloc[0].isoformat(),
            "last": frame["open_time"].iloc[-1].isoformat(),
            "sha256": digest,
        }
    return described


def scored_blocks(rows: pd.DataFrame, options: TrainingOptions) -> dict:
    """Return overall (per symbol) and monthly metrics of scored rows, for the current design and
    the baseline."""
    designs = ["current", *(["baseline"] if "baseline_score" in rows else [])]
    return {
        design: {
            "overall": per_symbol(rows, options.scoring(design)),
            "months": per_month(rows, options.scoring(design)),
        }
        for design in designs
    }


def assemble_report(
    frames, sources, options, now: datetime, folds, folds_rows, holdout_rows
) -> dict:
    """Return the evaluation report as one JSON-ready dict."""
    fold_blocks = [
        {
            **fold.to_dict(),
            **per_symbol(folds_rows[folds_rows["fold"] == fold.name], options.scoring())["all"],
        }
        for fold in folds
    ]
    return {
        "created_at": now.isoformat(),
        "data": data_description(frames, sources),
        "label": {**asdict(options.label), "definition": options.label.describe()},
        "costs": options.costs.to_dict(),
        "signals_per_day": options.signals_per_day,
        "gap_hours": options.gap.total_seconds() / 3600,
        "designs": {"current": CURRENT, "baseline": BASELINE if options.baseline else None},
        "bootstrap_draws": options.draws,
        "walk_forward": {"folds": fold_blocks, **scored_blocks(folds_rows, options)},
        "holdout": {
            "window": {"start": holdout_rows["open_time"].min().isoformat()},
            **scored_blocks(holdout_rows, options),
        },
    }


def edge_verdict(report: dict) -> dict:
    """Return the walk-forward edge after costs at the operating point and whether it is measurably
    above zero."""
    point = report["walk_forward"]["current"]["overall"]["all"]["operating_point"]
    interval = point["net_ci_bps"]
    measured = bool(interval and interval[0] > 0)
    return {
        "basis": "walk-forward, all folds pooled, all symbols",
        "signals": point["signals"],
        "per_day": point["per_day"],
        "hit_rate": point["hit_rate"],
        "gross_bps": point["gross_bps"],
        "net_bps": point["net_bps"],
        "net_ci_bps": interval,
        "measured": measured,
        "verdict": "edge after costs above zero with its 95% interval"
        if measured
        else "no measured edge after costs: decision support only",
        "costs": report["costs"],
    }


def assemble_metadata(
    model: LoadedModel, report: dict, options: TrainingOptions, final: Fold, now: datetime
) -> dict:
    """Return the model version's metadata (everything needed to load, check, explain and judge
    it)."""
    return {
        "created_at": now.isoformat(),
        "trained_at": final.calibration.end.isoformat(),
        "target": {"kind": "direction", **report["label"]},
        "feature_names": list(FEATURE_NAMES),
        "feature_spec_hash": feature_spec_hash(),
        "feature_definitions": {s.name: s.definition for s in FEATURE_SPECS},
        "symbols": sorted(report["data"]),
        "data": report["data"],
        "windows": {
            "train": final.train.to_dict(),
            "calibration": final.calibration.to_dict(),
            "holdout": final.test.to_dict(),
        },
        "params": {
            **options.params,
            "num_boost_round": options.rounds,
            "gap_hours": report["gap_hours"],
        },
        "calibration": model.calibration.to_dict(),
        "percentiles": [float(v) for v in model.percentiles],
        "operating_point": report["operating_point"],
        "edge": report["edge"],
        "expectations": report["expectations"],
        "metrics": headline(report),
    }


def headline(report: dict) -> dict:
    """Return the few numbers a person reads first: sign AUC with interval, control, firing rate,
    edge."""

    def brief(block: dict) -> dict:
        point = block["operating_point"]
        return {
            "sign_auc": block["sign_auc"],
            "sign_auc_ci": block["sign_auc_ci"],
            "control_auc": (block["control_auc"] or {}).get("mean"),
            "signals_per_day": point["per_day"],
            "hit_rate": point["hit_rate"],
            "net_bps": point["net_bps"],
            "net_ci_bps": point["net_ci_bps"],
        }

    return {
        "walk_forward": brief(report["walk_forward"]["current"]["overall"]["all"]),
        "holdout": brief(report["holdout"]["current"]["overall"]["all"]),
    }


def training_overlap(metadata: dict, since: pd.Timestamp, until: pd.Timestamp | None) -> str | None:
    """Return a description of how [since, until) overlaps the model's training + calibration
    window, or None."""
    windows = metadata.get("windows", {})
    seen_start = pd.Timestamp(windows["train"]["start"])
    seen_end = pd.Timestamp(windows["calibration"]["end"])
    if since < seen_end and (until is None or until > seen_start):
        return (
            f"the model saw candles from {seen_start:%Y-%m-%d} to {seen_end:%Y-%m-%d %H:%M} "
            f"(training + calibration)"
        )
    return None


def evaluate_model(
    model: LoadedModel,
    frames: dict[str, pd.DataFrame],
    since: pd.Timestamp,
    costs: TradeCosts,
    draws: int = BOOTSTRAP_DRAWS,
) -> dict:
    """Score a loaded model on candles from `since` (earlier ones only warm the features up); return
    the metrics."""
    label = LabelSpec(model.metadata["target"]["horizon_bars"])
    data = build_dataset(frames, label)
    data = data[data["open_time"] >= since]
    if data.empty:
        raise TrainingError(f"no labelled candles from {since:%Y-%m-%d} on; backfill more history")
    how = Scoring(costs, label.horizon_bars, draws)
    scored = score_rows(model, data)
    return {
        "model": model.version,
        "label": {**asdict(label), "definition": label.describe()},
        "costs": costs.to_dict(),
        "overall": per_symbol(scored, how),
        "months": per_month(scored, how),
    }
