"""Research behind the model design, walk-forward on the shared data (never the 2025 holdout): which
part of the gain comes from the target and which from the features, and whether a ">= 0.3% within
the hour" event model earns a place as a volatility gate. Prints figures; the model report itself
comes from `signaldesk train`.

    nice -n 10 .venv/bin/python bench/research_direction.py [--data ../shared/data] [--draws 300]

Designs, each fitted per fold (the train command's quarterly folds, 1-day gaps, before 2025-01-01):
  v1            two +-0.3% close-at-one-hour event heads on the v1 features (score P(long) -
  P(short)) v1 features   one up-vs-down model on the v1 features (the target changed, the features
  did not) new           one up-vs-down model on the 12 scale-free features (the shipped design)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jobs.train import frames_from_csv  # noqa: E402
from signaldesk.features import (  # noqa: E402
    BASELINE_FEATURE_NAMES,
    FEATURE_NAMES,
    baseline_features,
    compute_features,
)
from signaldesk.labels import LabelSpec, direction_labels, move_within  # noqa: E402
from signaldesk.model.baseline import baseline_dataset, fit_baseline  # noqa: E402
from signaldesk.model.calibration import fit_platt  # noqa: E402
from signaldesk.model.evaluation import (  # noqa: E402
    TradeCosts,
    day_codes,
    operating_metrics,
    resampled_day_weights,
    sign_auc,
    weighted_auc,
)
from signaldesk.model.operating import choose_operating_point  # noqa: E402
from signaldesk.model.training import (  # noqa: E402
    BOOST_ROUNDS,
    BOOSTER_PARAMS,
    calendar_days,
    fit_booster,
    labelled_rows,
    walk_forward_folds,
    window_rows,
)

HOLDOUT = pd.Timestamp("2025-01-01", tz="UTC")
DAY = pd.Timedelta(days=1)
LABEL = LabelSpec()


def dataset(frames, features) -> pd.DataFrame:
    """Return features, direction and the within-the-hour move label of every candle."""
    return labelled_rows(
        frames, features, [lambda f: direction_labels(f, LABEL), lambda f: move_within(f, LABEL)]
    )


def fit_head(data, fold, names, outcome: str):
    """Fit and Platt-calibrate one booster on a fold; return a scorer of rows."""
    train = window_rows(data, fold.train, outcome)
    held = window_rows(data, fold.calibration, outcome)
    booster = fit_booster(train, train[outcome].to_numpy(), BOOSTER_PARAMS, BOOST_ROUNDS, names)
    raw = booster.predict(held[list(names)].to_numpy(float), raw_score=True)
    platt = fit_platt(raw, held[outcome].to_numpy())
    return lambda rows: platt.apply(
        booster.predict(rows[list(names)].to_numpy(float), raw_score=True)
    )


def with_side(rows, score, held_score, held_days) -> pd.DataFrame:
    """Return rows with a score and the side of its own operating point (1.5 a day)."""
    point = choose_operating_point(held_score, held_days, 1.5)
    return rows.assign(score=score, side=point.sides(score))


def walk_forward(frames) -> dict[str, pd.DataFrame]:
    """Return each design's scored test rows over all folds (plus P(move) for the new design)."""
    new, old = dataset(frames, compute_features), dataset(frames, baseline_features)
    v1 = baseline_dataset(frames, LABEL)
    folds = walk_forward_folds(new["open_time"].min(), HOLDOUT, 91 * DAY, 61 * DAY, 180 * DAY, DAY)
    parts: dict[str, list] = {"v1": [], "v1 features": [], "new": []}
    for fold in folds:
        print(f"fold {fold.test.start:%Y-%m-%d} .. {fold.test.end:%Y-%m-%d}", flush=True)
        held = {k: window_rows(d, fold.calibration, None) for k, d in (("new", new), ("old", old))}
        days = calendar_days(held["new"])
        for name, data, names in (
            ("new", new, FEATURE_NAMES),
            ("v1 features", old, BASELINE_FEATURE_NAMES),
        ):
            up = fit_head(data, fold, names, "up")
            test = data[fold.test.mask(data["open_time"])]
            key = "new" if name == "new" else "old"
            scored = with_side(test, up(test), up(held[key]), days)
            if name == "new":
                move = fit_head(data, fold, names, "move")
                scored = scored.assign(p_move=move(test))
            parts[name].append(scored)
        model = fit_baseline(v1, fold, 1.5)
        test = v1[fold.test.mask(v1["open_time"])]
        parts["v1"].append(
            test.assign(
                score=model.scores(test), side=model.operating_point.sides(model.scores(test))
            )
        )
    return {name: pd.concat(rows, ignore_index=True) for name, rows in parts.items()}


def paired(a: pd.DataFrame, b: pd.DataFrame, draws: int) -> tuple[float, list[float]]:
    """Return the sign AUC difference a - b on their common rows and its 95% interval (days
    resampled)."""
    both = a.merge(
        b[["symbol", "open_time", "score"]], on=["symbol", "open_time"], suffixes=("", "_b")
    )
    both = both[both["up"].notna()]
    codes, n_days = day_codes(both)
    up = both["up"].to_numpy(float)
    orders = [np.argsort(both[c].to_numpy(), kind="stable") for c in ("score", "score_b")]
    diffs = [
        weighted_auc(up[orders[0]], w[codes[orders[0]]])
        - weighted_auc(up[orders[1]], w[codes[orders[1]]])
        for w in resampled_day_weights(n_days, draws, 7)
    ]
    point = sign_auc(up, both["score"].to_numpy()) - sign_auc(up, both["score_b"].to_numpy())
    return point, list(np.percentile(diffs, [2.5, 97.5]))


def gate_table(rows: pd.DataFrame) -> None:
    """Print the operating point's signals split by tercile of P(move): does the event model pick
    better ones?"""
    fired = rows[rows["side"] != 0].copy()
    fired["tercile"] = pd.qcut(fired["p_move"], 3, labels=["low", "mid", "high"])
    costs = TradeCosts()
    print(
        "\nvolatility gate: operating-point signals by tercile of P(>= 0.3% move within the hour)"
    )
    print(
        f"  event model AUC on all test candles: {sign_auc(rows['move'].to_numpy(), rows['p_move'].to_numpy()):.3f} "
        f"(base rate {rows['move'].mean():.2f})"
    )
    for tercile, part in fired.groupby("tercile", observed=True):
        m = operating_metrics(part, "side", costs, 4, 0, 1)
        print(
            f"  {tercile:4}: {m['signals']:4} signals, mean P(move) {part['p_move'].mean():.2f}, hit "
            f"{m['hit_rate']:.0%}, gross {m['gross_bps']:+.1f} bps, net {m['net_bps']:+.1f} bps"
        )


def main() -> None:
    """Print the walk-forward comparison and the event-gate table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / ".." / "shared" / "data")
    parser.add_argument("--draws", type=int, default=300)
    args = parser.parse_args()
    frames, _ = frames_from_csv(args.data, ["BTC_JPY", "ETH_JPY"], None, HOLDOUT)
    scored = walk_forward(frames)
    costs = TradeCosts()
    print("\nwalk-forward 2023-10 .. 2024-12, both symbols pooled")
    for name, rows in scored.items():
        m = operating_metrics(rows, "side", costs, 4, args.draws, 1)
        print(
            f"  {name:12} sign AUC {sign_auc(rows['up'].to_numpy(), rows['score'].to_numpy()):.4f}; operating "
            f"point {m['per_day']:.2f}/day, hit {m['hit_rate']:.0%}, net {m['net_bps']:+.1f} bps "
            f"[{m['net_ci_bps'][0]:+.1f}, {m['net_ci_bps'][1]:+.1f}]"
        )
    for a, b, what in (("v1 features", "v1", "the target"), ("new", "v1 features", "the features")):
        point, (low, high) = paired(scored[a], scored[b], args.draws)
        print(f"  {what:12} ({a} - {b}): sign AUC {point:+.4f} [{low:+.4f}, {high:+.4f}]")
    gate_table(scored["new"])


if __name__ == "__main__":
    main()
