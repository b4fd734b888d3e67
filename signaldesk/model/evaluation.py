"""Honest evaluation of scored candles: sign AUC, calibration, and the operating point's hit rate
and edge after costs, with bootstrap intervals over days (a day's candles move together, so days are
the unit resampled)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

CALIBRATION_BINS = 10
BOOTSTRAP_DRAWS = 200
BPS = 1e4


@dataclass(frozen=True)
class TradeCosts:
    """What one round trip costs, as a fraction of the price.

    GMO Coin leverage BTC_JPY / ETH_JPY charge no maker or taker fee; the spread (4.3 bps, the
    median bitFlyer BTC/JPY spread in the shared ticker sample, also the replay's) is paid once per
    round trip (half in, half out); the leverage fee (0.04 % of the position a day) is charged when
    the hold crosses 06:00 JST.
    """

    fee_rate: float = 0.0
    spread_bps: float = 4.3
    leverage_fee_per_day: float = 0.0004

    def per_trade(self, open_times: pd.Series, horizon_bars: int) -> np.ndarray:
        """Return the cost of a trade entered at each candle's close and held `horizon_bars`
        candles."""
        entry = pd.DatetimeIndex(open_times) + pd.Timedelta(minutes=15)
        exit_ = entry + pd.Timedelta(minutes=15 * horizon_bars)
        rollover = pd.Timedelta(hours=21)  # 06:00 JST in UTC
        crosses = (exit_ - rollover).floor("D") > (entry - rollover).floor("D")
        return (
            2 * self.fee_rate
            + self.spread_bps / BPS
            + self.leverage_fee_per_day * np.asarray(crosses, dtype=float)
        )

    def describe(self) -> str:
        """Return the assumption in one line."""
        return (
            f"fees {self.fee_rate:.2%} a side (GMO leverage), spread {self.spread_bps:g} bps a round trip "
            f"(stated assumption), leverage fee {self.leverage_fee_per_day:.2%} when the hold crosses 06:00 JST"
        )

    def to_dict(self) -> dict:
        """Return the assumption as metadata."""
        return {**asdict(self), "definition": self.describe()}


def sign_auc(up: np.ndarray, score: np.ndarray) -> float | None:
    """Return the ROC AUC of score for up (1) vs down (0), rows with an unknown direction left
    out."""
    from sklearn.metrics import roc_auc_score

    up, score = np.asarray(up, dtype=float), np.asarray(score, dtype=float)
    known = ~np.isnan(up)
    up, score = up[known], score[known]
    return float(roc_auc_score(up, score)) if 0 < up.sum() < len(up) else None


def day_codes(rows: pd.DataFrame) -> tuple[np.ndarray, int]:
    """Return each row's UTC day as a code 0..n-1, and n."""
    codes, days = pd.factorize(rows["open_time"].dt.floor("D"), sort=True)
    return codes, len(days)


def resampled_day_weights(n_days: int, draws: int, seed: int) -> np.ndarray:
    """Return, per draw, how often each day is picked when days are resampled with replacement."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, n_days, (draws, n_days))
    return np.stack([np.bincount(p, minlength=n_days) for p in picks])


def weighted_auc(up_sorted: np.ndarray, weights: np.ndarray) -> float | None:
    """Return the AUC of rows sorted by score, each counted `weights` times (ties broken by the sort
    order)."""
    negatives = weights * (1.0 - up_sorted)
    positives = weights * up_sorted
    below = np.cumsum(negatives) - negatives
    total = positives.sum() * negatives.sum()
    return float((positives * below).sum() / total) if total > 0 else None


def auc_interval(
    up: np.ndarray, score: np.ndarray, codes: np.ndarray, n_days: int, draws: int, seed: int
) -> list[float] | None:
    """Return the 95% interval of the sign AUC when days are resampled with replacement."""
    if draws <= 0 or n_days < 2:
        return None
    known = ~np.isnan(up)
    order = np.argsort(score[known], kind="stable")
    up_sorted, day_of = up[known][order], codes[known][order]
    values = [
        weighted_auc(up_sorted, w[day_of]) for w in resampled_day_weights(n_days, draws, seed)
    ]
    found = [v for v in values if v is not None]
    return [float(v) for v in np.percentile(found, [2.5, 97.5])] if found else None


def mean_interval(
    values: np.ndarray, day_of_value: np.ndarray, n_days: int, draws: int, seed: int
) -> list[float] | None:
    """Return the 95% interval of a mean over signals when the block's days are resampled with
    replacement."""
    if draws <= 0 or len(values) == 0 or n_days < 2:
        return None
    sums = np.bincount(day_of_value, weights=values, minlength=n_days)
    counts = np.bincount(day_of_value, minlength=n_days)
    weights = resampled_day_weights(n_days, draws, seed)
    totals, numbers = weights @ sums, weights @ counts
    means = totals[numbers > 0] / numbers[numbers > 0]
    return [float(v) for v in np.percentile(means, [2.5, 97.5])] if len(means) else None


def operating_metrics(
    rows: pd.DataFrame, side: str, costs: TradeCosts, horizon_bars: int, draws: int, seed: int
) -> dict:
    """Return how often the operating point fires per day and side, its hit rate and gross / net
    edge (bps)."""
    codes, n_days = day_codes(rows)
    firing = (rows[side] != 0).to_numpy()
    fired = rows[firing]
    directed = (fired["forward_return"] * fired[side]).to_numpy()
    net = directed - costs.per_trade(fired["open_time"], horizon_bars)
    count = len(fired)
    return {
        "signals": count,
        "per_day": count / n_days if n_days else None,
        "long_per_day": int((fired[side] > 0).sum()) / n_days if n_days else None,
        "short_per_day": int((fired[side] < 0).sum()) / n_days if n_days else None,
        "hit_rate": float(np.mean(directed > 0)) if count else None,
        "gross_bps": float(directed.mean() * BPS) if count else None,
        "net_bps": float(net.mean() * BPS) if count else None,
        "net_ci_bps": _scaled(mean_interval(net, codes[firing], n_days, draws, seed)),
        "median_win_bps": _median_bps(directed[directed > 0]),
        "median_loss_bps": _median_bps(directed[directed <= 0]),
    }


def _scaled(interval: list[float] | None) -> list[float] | None:
    """Return an interval of fractions in basis points."""
    return None if interval is None else [v * BPS for v in interval]


def _median_bps(values: np.ndarray) -> float | None:
    """Return the median in basis points, or None when empty."""
    return float(np.median(values) * BPS) if len(values) else None


def calibration_table(
    prob: np.ndarray, outcome: np.ndarray, bins: int = CALIBRATION_BINS
) -> list[dict]:
    """Return, per predicted-probability bin of width 1/bins, the count, mean prediction and
    observed rate."""
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


def probability_metrics(prob: np.ndarray, up: np.ndarray) -> dict:
    """Return Brier score against the base rate's, and the calibration table, of P(up)."""
    known = ~np.isnan(up)
    prob, up = prob[known], up[known]
    base = float(up.mean()) if len(up) else None
    return {
        "share_up": base,
        "brier": float(np.mean((prob - up) ** 2)) if len(up) else None,
        "base_rate_brier": base * (1 - base) if base is not None else None,
        "calibration": calibration_table(prob, up),
    }


def control_auc(rows: pd.DataFrame) -> dict | None:
    """Return the sign AUC of the shuffled-label controls (mean over seeds, and each seed), or
    None."""
    columns = [c for c in rows.columns if c.startswith("control_")]
    if not columns:
        return None
    runs = [sign_auc(rows["up"].to_numpy(), rows[c].to_numpy()) for c in columns]
    known = [r for r in runs if r is not None]
    return {"mean": float(np.mean(known)) if known else None, "runs": runs}


@dataclass(frozen=True)
class Scoring:
    """How to score a block: which columns hold the design's score and side, costs, horizon,
    bootstrap."""

    costs: TradeCosts
    horizon_bars: int
    draws: int = BOOTSTRAP_DRAWS
    seed: int = 1
    score: str = "prob_up"
    side: str = "side"


def block_metrics(rows: pd.DataFrame, how: Scoring) -> dict:
    """Return every metric of a block of scored, labelled candles (pooled over its symbols)."""
    up, score = rows["up"].to_numpy(dtype=float), rows[how.score].to_numpy(dtype=float)
    codes, n_days = day_codes(rows)
    block = {
        "rows": int(len(rows)),
        "days": int(rows["open_time"].dt.floor("D").nunique()),
        "first": rows["open_time"].min().isoformat(),
        "last": rows["open_time"].max().isoformat(),
        "sign_auc": sign_auc(up, score),
        "sign_auc_ci": auc_interval(up, score, codes, n_days, how.draws, how.seed),
        "operating_point": operating_metrics(
            rows, how.side, how.costs, how.horizon_bars, how.draws, how.seed
        ),
        "control_auc": control_auc(rows),
    }
    if how.score == "prob_up":
        block["probability"] = probability_metrics(score, up)
    return block


def per_symbol(rows: pd.DataFrame, how: Scoring) -> dict:
    """Return block metrics for all symbols together ('all') and for each symbol."""
    return {
        "all": block_metrics(rows, how),
        **{symbol: block_metrics(part, how) for symbol, part in rows.groupby("symbol")},
    }


def per_month(rows: pd.DataFrame, how: Scoring) -> list[dict]:
    """Return block metrics per UTC month, for all symbols together and for each symbol."""
    months = rows["open_time"].dt.strftime("%Y-%m").to_numpy()
    return [
        {"month": month, "symbol": symbol, **block}
        for month, part in rows.groupby(months)
        for symbol, block in per_symbol(part, how).items()
    ]
