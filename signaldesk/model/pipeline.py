"""The training run: leakage check, walk-forward folds with controls, the final model, and its one-time holdout."""

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
    ROUND_TRIP_COST,
    Thresholds,
    score_block,
    suggested_thresholds,
)
from signaldesk.model.inference import LoadedModel
from signaldesk.model.training import (
    BOOST_ROUNDS,
    BOOSTER_PARAMS,
    Fold,
    Window,
    build_dataset,
    fit_pair,
    fold_for_test,
    score_rows,
    shuffled_control_auc,
    walk_forward_folds,
)

CONTROL_SEEDS = (11, 12, 13, 14, 15)


class TrainingError(ValueError):
    """The data or the options cannot give an honest model; the message says what to change."""


@dataclass(frozen=True)
class TrainingOptions:
    """What to train and how to split time."""

    holdout_from: pd.Timestamp
    label: LabelSpec = field(default_factory=LabelSpec)
    thresholds: Thresholds = field(default_factory=Thresholds)
    test_days: int = 91
    calibration_days: int = 61
    min_train_days: int = 180
    gap: pd.Timedelta = pd.Timedelta(days=1)
    params: dict = field(default_factory=lambda: dict(BOOSTER_PARAMS))
    rounds: int = BOOST_ROUNDS


@dataclass(frozen=True)
class TrainingResult:
    """The final model (boosters + calibration), its metadata and the full evaluation report."""

    model: LoadedModel
    metadata: dict
    report: dict


def check_no_lookahead(frames: dict[str, pd.DataFrame], sample_rows: int = 3000) -> None:
    """Raise TrainingError when a feature on truncated history differs from the full history (look-ahead)."""
    for symbol, frame in frames.items():
        head = frame.iloc[:sample_rows]
        leaking = lookahead_features(
            compute_features, head, [len(head) // 3, len(head) // 2, len(head) - 50]
        )
        if leaking:
            raise TrainingError(
                f"{symbol}: features {leaking} look ahead (truncated history differs); refusing"
            )


def with_cutoffs(scored: pd.DataFrame, model: LoadedModel, top_fraction: float) -> pd.DataFrame:
    """Add each side's top-fraction probability cutoff (from the model's own percentile table) to scored rows."""
    cut = {
        side: float(np.quantile(model.percentiles[side], 1 - top_fraction))
        for side in ("long", "short")
    }
    return scored.assign(cutoff_long=cut["long"], cutoff_short=cut["short"])


def evaluate_fold(
    data: pd.DataFrame, fold: Fold, options: TrainingOptions
) -> tuple[LoadedModel, pd.DataFrame, dict]:
    """Fit a fold, score its test window, and return the model, the scored rows and the fold's metrics."""
    model = fit_pair(data, fold, options.params, options.rounds)
    test = data[fold.test.mask(data["open_time"])]
    if test.empty:
        raise TrainingError(f"{fold.name}: no labelled candles in {fold.test.to_dict()}")
    scored = with_cutoffs(score_rows(model, test), model, options.thresholds.top_fraction).assign(
        fold=fold.name
    )
    metrics = score_block(scored, options.label.move, options.thresholds)
    metrics.update(
        fold.to_dict(),
        control_auc=shuffled_control_auc(
            data, fold, test, CONTROL_SEEDS, options.params, options.rounds
        ),
    )
    return model, scored, metrics


def train_and_evaluate(
    frames: dict[str, pd.DataFrame],
    sources: dict[str, str],
    options: TrainingOptions,
    now: datetime,
    progress: Callable[[str], None] = lambda _: None,
) -> TrainingResult:
    """Run the whole training: leakage check, walk-forward, final fit, holdout once; return model and report."""
    progress("checking features for look-ahead on truncated history")
    check_no_lookahead(frames)
    progress("computing features and labels")
    data = build_dataset(frames, options.label)
    start, end = data["open_time"].min(), data["open_time"].max() + pd.Timedelta(minutes=15)
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
    fold_reports, fold_rows = [], []
    for fold in folds:
        progress(
            f"walk-forward {fold.name}: test {fold.test.start:%Y-%m-%d} .. {fold.test.end:%Y-%m-%d}"
        )
        _, scored, metrics = evaluate_fold(data, fold, options)
        fold_reports.append(metrics)
        fold_rows.append(scored)
    pooled_rows = pd.concat(fold_rows, ignore_index=True)
    final = fold_for_test(
        Window(options.holdout_from, end),
        start,
        options.calibration_days * days,
        options.gap,
        "holdout",
    )
    progress(
        f"final model: train {final.train.start:%Y-%m-%d} .. {final.train.end:%Y-%m-%d}, calibrate .. "
        f"{final.calibration.end:%Y-%m-%d}; holdout {options.holdout_from:%Y-%m-%d} .. {end:%Y-%m-%d} (once)"
    )
    model, holdout_rows, holdout = evaluate_fold(data, final, options)
    report = assemble_report(
        frames, sources, options, now, fold_reports, pooled_rows, holdout, holdout_rows
    )
    metadata = assemble_metadata(model, report, options, final, now)
    return TrainingResult(model, metadata, report)


def data_description(frames: dict[str, pd.DataFrame], sources: dict[str, str]) -> dict:
    """Return, per symbol, the candle source, rows, first and last open time and a hash of the values."""
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


def assemble_report(
    frames, sources, options, now, fold_reports, pooled_rows, holdout, holdout_rows
) -> dict:
    """Return the evaluation report as one JSON-ready dict."""
    return {
        "created_at": now.isoformat(),
        "data": data_description(frames, sources),
        "label": {**asdict(options.label), "definition": options.label.describe()},
        "thresholds": asdict(options.thresholds),
        "round_trip_cost": ROUND_TRIP_COST,
        "gap_hours": options.gap.total_seconds() / 3600,
        "walk_forward": {
            "folds": fold_reports,
            "pooled": score_block(pooled_rows, options.label.move, options.thresholds),
            "per_symbol": per_symbol_blocks(pooled_rows, options.label, options.thresholds),
        },
        "holdout": {
            **holdout,
            "per_symbol": per_symbol_blocks(holdout_rows, options.label, options.thresholds),
        },
        "suggested_thresholds": suggested_thresholds(pooled_rows),
    }


def assemble_metadata(
    model: LoadedModel, report: dict, options: TrainingOptions, final: Fold, now: datetime
) -> dict:
    """Return the model version's metadata (everything needed to load, check and explain it)."""
    return {
        "created_at": now.isoformat(),
        "feature_names": list(FEATURE_NAMES),
        "feature_spec_hash": feature_spec_hash(),
        "feature_definitions": {s.name: s.definition for s in FEATURE_SPECS},
        "label": report["label"],
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
        "calibration": {side: model.calibration[side].to_dict() for side in ("long", "short")},
        "confidence_percentiles": {
            side: [float(v) for v in model.percentiles[side]] for side in ("long", "short")
        },
        "thresholds": report["thresholds"],
        "metrics": headline(report),
        "suggested_thresholds": report["suggested_thresholds"],
    }


def headline(report: dict) -> dict:
    """Return the few numbers a person reads first: AUCs, Brier vs base rate, signal frequency, top-decile edge."""

    def brief(block: dict) -> dict:
        return {
            "long_auc": block["long"]["auc"],
            "short_auc": block["short"]["auc"],
            "directional_auc": block["direction"]["directional_auc"],
            "long_brier": block["long"]["brier"],
            "long_base_rate_brier": block["long"]["base_rate_brier"],
            "short_brier": block["short"]["brier"],
            "short_base_rate_brier": block["short"]["base_rate_brier"],
            "signals_per_day_at_thresholds": (block["long"]["at_threshold"]["per_day"] or 0)
            + (block["short"]["at_threshold"]["per_day"] or 0),
            "top_decile_long_return_after_fees": block["long"]["top_fraction"][
                "mean_return_after_fees"
            ],
            "top_decile_short_return_after_fees": block["short"]["top_fraction"][
                "mean_return_after_fees"
            ],
        }

    folds = report["walk_forward"]["folds"]
    return {
        "walk_forward": brief(report["walk_forward"]["pooled"]),
        "holdout": brief(report["holdout"]),
        "control_auc_holdout": report["holdout"]["control_auc"],
        "control_auc_folds": [f["control_auc"] for f in folds],
    }


def training_overlap(metadata: dict, since: pd.Timestamp, until: pd.Timestamp | None) -> str | None:
    """Return a description of how [since, until) overlaps the model's training + calibration window, or None."""
    windows = metadata.get("windows", {})
    seen_start = pd.Timestamp(windows["train"]["start"])
    seen_end = pd.Timestamp(windows["calibration"]["end"])
    if since < seen_end and (until is None or until > seen_start):
        return f"the model saw candles from {seen_start:%Y-%m-%d} to {seen_end:%Y-%m-%d %H:%M} (training + calibration)"
    return None


def evaluate_model(
    model: LoadedModel, frames: dict[str, pd.DataFrame], since: pd.Timestamp, thresholds: Thresholds
) -> dict:
    """Score a loaded model on candles from `since` (earlier ones only warm the features up); return the metrics."""
    label = LabelSpec(model.metadata["label"]["horizon_bars"], model.metadata["label"]["move"])
    data = build_dataset(frames, label)
    data = data[data["open_time"] >= since]
    if data.empty:
        raise TrainingError(f"no labelled candles from {since:%Y-%m-%d} on; backfill more history")
    scored = with_cutoffs(score_rows(model, data), model, thresholds.top_fraction)
    return {
        "model": model.version,
        "label": {**asdict(label), "definition": label.describe()},
        "thresholds": asdict(thresholds),
        "round_trip_cost": ROUND_TRIP_COST,
        "pooled": score_block(scored, label.move, thresholds),
        "per_symbol": per_symbol_blocks(scored, label, thresholds),
    }


def per_symbol_blocks(rows: pd.DataFrame, label: LabelSpec, thresholds: Thresholds) -> dict:
    """Return the metrics of scored rows split by symbol."""
    return {
        symbol: score_block(part, label.move, thresholds) for symbol, part in rows.groupby("symbol")
    }
