"""The outcome figures equal their definitions to the last bit: the AUC is the pairwise
Mann-Whitney share (ties half), model_performance holds count, accuracy, Brier and AUC of each
(JST day, model, symbol) alone.

Inputs are synthetic (seeded probabilities and returns, labelled as such): the edge cases real
data rarely shows (ties, one class, empty days, several models and symbols on one day).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from signaldesk.clock import to_db
from signaldesk.outcomes import auc, update_performance

DAY_START = datetime(2025, 6, 1, 15, 0, tzinfo=UTC)  # 2025-06-02 00:00 in Japan


def pairwise_auc(events: list[int], scores: list[float]) -> float | None:
    """Return the Mann-Whitney share of (up, down) pairs the score ordered right, ties half:
    exact, then rounded once."""
    ups = [s for s, e in zip(scores, events, strict=True) if e]
    downs = [s for s, e in zip(scores, events, strict=True) if not e]
    if not ups or not downs:
        return None
    wins = sum(Fraction(int(u > d)) + Fraction(int(u == d), 2) for u in ups for d in downs)
    return float(wins / (len(ups) * len(downs)))


@pytest.mark.parametrize("levels", [2, 3, 7, 50, None])  # None: no ties
def test_auc_is_the_exact_pairwise_share_with_ties(levels):
    rng = random.Random(levels or 0)
    for n in range(0, 60):
        scores = [rng.randrange(levels) / levels if levels else rng.random() for _ in range(n)]
        share = rng.choice([0.05, 0.5, 0.95])
        events = [int(rng.random() < share) for _ in range(n)]
        assert auc(events, scores) == pairwise_auc(events, scores), (n, events, scores)


def test_auc_of_one_class_or_nothing_is_none():
    assert auc([], []) is None
    assert auc([1], [0.3]) is None
    assert auc([0, 0, 0], [0.1, 0.9, 0.5]) is None
    assert auc([1, 1, 1], [0.5, 0.5, 0.5]) is None
    assert auc([1, 0], [0.5, 0.5]) == 0.5


def add_day(db, model: str, symbol: str, rng: random.Random, resolved_every: int) -> None:
    """Insert 96 candles of seeded predictions for one JST day, every n-th one left unresolved."""
    rows = []
    for n in range(96):
        moment = DAY_START + timedelta(minutes=15 * n)
        prob_long = round(rng.random(), 2)  # rounded: ties among the scores
        ret = None if n % resolved_every == 0 else rng.choice([-0.01, 0.0, 0.002, rng.gauss(0, 1)])
        rows.append([to_db(moment), symbol, to_db(moment), prob_long, 1 - prob_long, model, ret])
    db.conn.executemany(
        "INSERT INTO signals (created_at, symbol, candle_time, prob_long, prob_short, "
        "model_version, status, outcome_return, features) VALUES (?, ?, ?, ?, ?, ?, 'LOGGED', ?, '{}')",
        rows,
    )
    db.conn.commit()


def expected_figures(db, model: str, symbol: str, direction: str) -> tuple:
    """Return (predictions, positives, accuracy, auc, brier) of one day by their definitions."""
    column = "prob_long" if direction == "LONG" else "prob_short"
    rows = db.execute(
        f"SELECT {column}, outcome_return FROM signals WHERE model_version = ? AND symbol = ? "
        "AND outcome_return IS NOT NULL ORDER BY candle_time",
        [model, symbol],
    ).fetchall()
    probs = [p for p, _r in rows]
    events = [int(r > 0) if direction == "LONG" else int(r < 0) for _p, r in rows]
    if not rows:
        return 0, 0, None, None, None
    right = sum(int(p >= 0.5) == e for p, e in zip(probs, events, strict=True))
    brier = sum((p - e) ** 2 for p, e in zip(probs, events, strict=True))  # in candle order
    return (
        len(rows),
        sum(events),
        right / len(rows),
        pairwise_auc(events, probs),
        brier / len(rows),
    )


def test_performance_rows_hold_each_day_model_and_symbol_alone(db):
    rng = random.Random(19)
    keys = [("m1", "BTC_JPY", 1), ("m1", "ETH_JPY", 3), ("m2", "XRP_JPY", 5), ("m2", "SOL_JPY", 7)]
    for model, symbol, every in keys:
        add_day(db, model, symbol, rng, every)
    add_day(db, "m1", "LTC_JPY", rng, 2)  # the same model and day, not touched: left out
    touched = [("2025-06-02", model, symbol) for model, symbol, _every in keys]
    touched.append(("2025-06-03", "m1", "BTC_JPY"))  # a day with no resolved rows
    now = DAY_START + timedelta(days=1, hours=2)

    assert update_performance(db, touched, now) == 2 * len(touched)

    stored = {
        row[:4]: row[4:]
        for row in db.execute(
            "SELECT date, model_version, symbol, direction, predictions, positives, accuracy, "
            "auc, brier, updated_at FROM model_performance"
        ).fetchall()
    }
    assert len(stored) == 2 * len(touched)  # nothing for LTC_JPY
    for model, symbol, _every in keys:
        for direction in ("LONG", "SHORT"):
            figures = stored[("2025-06-02", model, symbol, direction)]
            # brier compared bit for bit: an aggregate summed in another order would differ
            assert figures == (*expected_figures(db, model, symbol, direction), to_db(now))
    for direction in ("LONG", "SHORT"):
        assert stored[("2025-06-03", "m1", "BTC_JPY", direction)] == (
            0,
            0,
            None,
            None,
            None,
            to_db(now),
        )
