"""Live model accountability: resolve predictions once their horizon has passed, keep `model_performance` (how
well P(up) told up from down), and count how often the model fired."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from signaldesk.clock import JST, from_db, to_db
from signaldesk.storage import writing

MIN_ROWS_FOR_AUC = 100


def auc(outcomes: list[int], scores: list[float]) -> float | None:
    """Return the ROC AUC (Mann-Whitney, ties shared), or None when only one class is present."""
    positives = sum(outcomes)
    negatives = len(outcomes) - positives
    if not positives or not negatives:
        return None
    order = sorted(range(len(scores)), key=scores.__getitem__)
    ranks = [0.0] * len(scores)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    rank_sum = sum(r for r, o in zip(ranks, outcomes, strict=True) if o)
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def went_its_way(direction: str, forward_return: float) -> int:
    """Return 1 when the price went the direction's way over the horizon (up for LONG, down for SHORT), else 0."""
    return int(forward_return > 0) if direction == "LONG" else int(forward_return < 0)


def resolve_outcomes(db, horizon_bars: int, now: datetime) -> list[tuple[str, str, str]]:
    """Fill forward returns of predictions whose horizon has closed; return the (date, model, symbol) touched."""
    horizon = timedelta(minutes=15 * horizon_bars)
    cutoff = now - horizon - timedelta(minutes=15)
    rows = db.execute(
        "SELECT s.id, s.candle_time, s.close_price, s.model_version, s.symbol, c.close FROM signals s "
        "JOIN candles c ON c.symbol = s.symbol AND c.interval = '15m' "
        "AND c.open_time = strftime('%Y-%m-%dT%H:%M:%f+00:00', s.candle_time, ?) "
        "WHERE s.resolved_at IS NULL AND s.prob_long IS NOT NULL AND s.close_price IS NOT NULL "
        "AND s.candle_time <= ?",
        [f"+{int(horizon.total_seconds())} seconds", to_db(cutoff)],
    ).fetchall()
    touched = set()
    with writing(db):
        for signal_id, candle_time, close, model, symbol, future_close in rows:
            ret = float(Decimal(future_close) / Decimal(close) - 1)
            db.execute(
                "UPDATE signals SET outcome_return = ?, outcome_up = ?, resolved_at = ? WHERE id = ?",
                [ret, int(ret > 0), to_db(now), signal_id],
            )
            touched.add((from_db(candle_time).astimezone(JST).date().isoformat(), model, symbol))
    return sorted(touched)


def _day_bounds(day: str) -> tuple[str, str]:
    """Return the UTC text bounds of a JST calendar date."""
    start = datetime.fromisoformat(day).replace(tzinfo=JST)
    return to_db(start), to_db(start + timedelta(days=1))


def update_performance(db, touched: list[tuple[str, str, str]], now: datetime) -> int:
    """Recompute the model_performance rows of each touched (JST date, model, symbol); return rows written.

    Per direction: predictions = resolved candles, positives = those that went the direction's way, accuracy =
    share where the side with P >= 0.5 was right, AUC and Brier of the direction's probability.
    """
    written = 0
    with writing(db):
        for day, model, symbol in touched:
            start, end = _day_bounds(day)
            rows = db.execute(
                "SELECT prob_long, prob_short, outcome_return FROM signals WHERE model_version = ? AND symbol = ? "
                "AND candle_time >= ? AND candle_time < ? AND outcome_return IS NOT NULL",
                [model, symbol, start, end],
            ).fetchall()
            for direction, column in (("LONG", 0), ("SHORT", 1)):
                _write_performance(
                    db,
                    day,
                    model,
                    symbol,
                    direction,
                    [r[column] for r in rows],
                    [went_its_way(direction, r[2]) for r in rows],
                    now,
                )
                written += 1
    return written


def _write_performance(db, day, model, symbol, direction, probs, events, now) -> None:
    """Upsert one model_performance row."""
    n = len(probs)
    accuracy = (
        sum(int(p >= 0.5) == e for p, e in zip(probs, events, strict=True)) / n if n else None
    )
    brier = sum((p - e) ** 2 for p, e in zip(probs, events, strict=True)) / n if n else None
    db.execute(
        "INSERT INTO model_performance (date, model_version, symbol, direction, predictions, positives, accuracy, "
        "auc, brier, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (date, model_version, symbol, "
        "direction) DO UPDATE SET predictions = excluded.predictions, positives = excluded.positives, "
        "accuracy = excluded.accuracy, auc = excluded.auc, brier = excluded.brier, updated_at = excluded.updated_at",
        [
            day,
            model,
            symbol,
            direction,
            n,
            sum(events),
            accuracy,
            auc(events, probs),
            brier,
            to_db(now),
        ],
    )


def trailing_auc(db, model: str, since: datetime) -> float | None:
    """Return the live sign AUC: how well prob_long (P(up)) ranked resolved candles that rose above those that fell."""
    rows = db.execute(
        "SELECT prob_long, outcome_return FROM signals WHERE model_version = ? "
        "AND outcome_return IS NOT NULL AND outcome_return != 0 AND candle_time >= ?",
        [model, to_db(since)],
    ).fetchall()
    if len(rows) < MIN_ROWS_FOR_AUC:
        return None
    return auc([int(r[1] > 0) for r in rows], [r[0] for r in rows])


def firing_counts(db, model: str, since: datetime) -> tuple[int, int]:
    """Return (candles the model fired on, candles it scored) since `since`: fired = passed threshold and rank."""
    row = db.execute(
        "SELECT COUNT(*), COALESCE(SUM(status != 'LOGGED'), 0) FROM signals WHERE model_version = ? "
        "AND prob_long IS NOT NULL AND candle_time >= ?",
        [model, to_db(since)],
    ).fetchone()
    return int(row[1]), int(row[0])
