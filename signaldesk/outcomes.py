"""Live model accountability: resolve predictions once their horizon has passed, keep
`model_performance` (how well P(up) told up from down), and count how often the model fired."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from signaldesk.clock import JST, from_db, to_db
from signaldesk.storage import writing

if TYPE_CHECKING:
    from signaldesk.storage import Database

MIN_ROWS_FOR_AUC = 100

Key = tuple[str, str, str]  # (JST date, model version, symbol)


def auc(outcomes: Sequence[int], scores: Sequence[float]) -> float | None:
    """Return the ROC AUC (Mann-Whitney, ties shared), or None when only one class is present."""
    import numpy as np

    events = np.fromiter(outcomes, bool, len(outcomes))  # from a list: twice asarray's speed
    positives = int(np.count_nonzero(events))
    negatives = len(events) - positives
    if not positives or not negatives:
        return None
    values = np.fromiter(scores, float, len(scores))
    order = np.argsort(values)
    ranked = values[order]
    starts = np.flatnonzero(np.concatenate(([True], ranked[1:] != ranked[:-1])))
    ends = np.append(starts[1:], len(ranked))
    # A tie group holds the 1-based ranks start + 1 .. end and shares their mean, (start + 1 + end)
    # / 2: summed doubled, as integers, the rank sum is exact.
    hits = np.add.reduceat(events[order].astype(np.int64), starts)
    rank_sum = int((hits * (starts + ends + 1)).sum()) / 2
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def went_its_way(direction: str, forward_return: float) -> int:
    """Return 1 when the price went the direction's way over the horizon (up for LONG, down for
    SHORT), else 0."""
    return int(forward_return > 0) if direction == "LONG" else int(forward_return < 0)


def resolve_outcomes(db: Database, horizon_bars: int, now: datetime) -> list[Key]:
    """Fill forward returns of predictions whose horizon has closed; return the (date, model,
    symbol) touched."""
    return sorted({key for _moment, key in resolve_outcomes_through(db, horizon_bars, [now])})


def resolve_outcomes_through(
    db: Database, horizon_bars: int, moments: Sequence[datetime]
) -> list[tuple[datetime, Key]]:
    """Resolve predictions as one `resolve_outcomes` call at each of the increasing `moments` would,
    in one pass.

    Each prediction is resolved at the first moment its horizon has closed by (`resolved_at` is that
    moment); return (moment, (date, model, symbol)) for every key touched, in the order the calls
    would have touched them.
    """
    if not moments:
        return []
    horizon = timedelta(minutes=15 * horizon_bars)
    cutoffs = [to_db(m - horizon - timedelta(minutes=15)) for m in moments]
    rows = db.execute(
        "SELECT s.id, s.candle_time, s.close_price, s.model_version, s.symbol, c.close FROM signals s "
        "JOIN candles c ON c.symbol = s.symbol AND c.interval = '15m' "
        "AND c.open_time = strftime('%Y-%m-%dT%H:%M:%f+00:00', s.candle_time, ?) "
        "WHERE s.resolved_at IS NULL AND s.prob_long IS NOT NULL AND s.close_price IS NOT NULL "
        "AND s.candle_time <= ?",
        [f"+{int(horizon.total_seconds())} seconds", cutoffs[-1]],
    ).fetchall()
    stamps: dict[int, str] = {}  # per call: each moment's and candle's text is rendered once
    days: dict[str, str] = {}
    updates, touched = [], set()
    for signal_id, candle_time, close, model, symbol, future_close in rows:
        at = bisect.bisect_left(cutoffs, candle_time)
        stamp = stamps.get(at) or stamps.setdefault(at, to_db(moments[at]))
        day = days.get(candle_time) or days.setdefault(candle_time, _jst_day(candle_time))
        ret = float(Decimal(future_close) / Decimal(close) - 1)
        updates.append((ret, int(ret > 0), stamp, signal_id))
        touched.add((moments[at], (day, model, symbol)))
    if updates:
        with writing(db):
            db.conn.executemany(
                "UPDATE signals SET outcome_return = ?, outcome_up = ?, resolved_at = ? WHERE id = ?",
                updates,
            )
    return sorted(touched)


def _jst_day(candle_time: str) -> str:
    """Return the JST calendar date of a stored UTC time."""
    return from_db(candle_time).astimezone(JST).date().isoformat()


def score_outcomes_through(db: Database, horizon_bars: int, moments: Sequence[datetime]) -> None:
    """Resolve and score as one `resolve_outcomes` + `update_performance` call at each moment would.

    Each touched (date, model, symbol) is scored once, at the last moment that touched it: its rows
    are final by then, so the stored figures and `updated_at` are those of the last per-moment call.
    """
    with writing(db):  # one commit for both
        pairs = resolve_outcomes_through(db, horizon_bars, moments)
        last = {key: moment for moment, key in pairs}
        first_touch = dict.fromkeys(key for _moment, key in pairs)  # new rows keep their id order
        _score(db, [(key, last[key]) for key in first_touch])


def _day_bounds(day: str) -> tuple[str, str]:
    """Return the UTC text bounds of a JST calendar date."""
    start = datetime.fromisoformat(day).replace(tzinfo=JST)
    return to_db(start), to_db(start + timedelta(days=1))


def update_performance(db: Database, touched: list[Key], now: datetime) -> int:
    """Recompute the model_performance rows of each touched (JST date, model, symbol); return rows
    written.

    Per direction: predictions = resolved candles, positives = those that went the direction's way,
    accuracy = share where the side with P >= 0.5 was right, AUC and Brier of the direction's
    probability.
    """
    return _score(db, [(key, now) for key in touched])


def _score(db: Database, scored: list[tuple[Key, datetime]]) -> int:
    """Write both directions' model_performance rows of each (key, as of), in order; return rows
    written."""
    if not scored:
        return 0
    resolved = _resolved(db, [key for key, _now in scored])
    with writing(db):
        for key, now in scored:
            probs_long, probs_short, returns = resolved[key]
            rose = [int(r > 0) for r in returns]  # went_its_way, inline: it runs once a row
            fell = [int(r < 0) for r in returns]
            _write_performance(db, key, "LONG", probs_long, rose, now)
            _write_performance(db, key, "SHORT", probs_short, fell, now)
    return 2 * len(scored)


def _resolved(db: Database, keys: list[Key]) -> dict[Key, tuple[list, list, list]]:
    """Return each key's resolved (prob_long, prob_short, outcome_return) columns in candle order,
    one query per (date, model) for all its symbols."""
    found: dict[Key, tuple[list, list, list]] = {key: ([], [], []) for key in keys}
    for day, model in dict.fromkeys((day, model) for day, model, _symbol in keys):
        start, end = _day_bounds(day)
        rows = db.execute(
            "SELECT symbol, prob_long, prob_short, outcome_return FROM signals "
            "WHERE model_version = ? AND candle_time >= ? AND candle_time < ? "
            "AND outcome_return IS NOT NULL ORDER BY candle_time",
            [model, start, end],
        ).fetchall()
        for symbol, prob_long, prob_short, outcome_return in rows:
            columns = found.get((day, model, symbol))
            if columns is not None:
                columns[0].append(prob_long)
                columns[1].append(prob_short)
                columns[2].append(outcome_return)
    return found


def _write_performance(
    db: Database, key: Key, direction: str, probs: list, events: list[int], now: datetime
) -> None:
    """Upsert one model_performance row."""
    n = len(probs)
    accuracy = (
        sum([int(p >= 0.5) == e for p, e in zip(probs, events, strict=True)]) / n if n else None
    )
    brier = sum([(p - e) ** 2 for p, e in zip(probs, events, strict=True)]) / n if n else None
    db.execute(
        "INSERT INTO model_performance (date, model_version, symbol, direction, predictions, positives, accuracy, "
        "auc, brier, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (date, model_version, symbol, "
        "direction) DO UPDATE SET predictions = excluded.predictions, positives = excluded.positives, "
        "accuracy = excluded.accuracy, auc = excluded.auc, brier = excluded.brier, updated_at = excluded.updated_at",
        [*key, direction, n, sum(events), accuracy, auc(events, probs), brier, to_db(now)],
    )


def trailing_auc(db: Database, model: str, since: datetime) -> float | None:
    """Return the live sign AUC: how well prob_long (P(up)) ranked resolved candles that rose above
    those that fell."""
    rows = db.execute(
        "SELECT prob_long, outcome_return > 0 FROM signals WHERE model_version = ? "
        "AND outcome_return IS NOT NULL AND outcome_return != 0 AND candle_time >= ?",
        [model, to_db(since)],
    ).fetchall()
    if len(rows) < MIN_ROWS_FOR_AUC:
        return None
    return auc([row[1] for row in rows], [row[0] for row in rows])


def firing_counts(db: Database, model: str, since: datetime) -> tuple[int, int]:
    """Return (candles the model fired on, candles it scored) since `since`: fired = passed
    threshold and rank."""
    row = db.execute(
        "SELECT COUNT(*), COALESCE(SUM(status != 'LOGGED'), 0) FROM signals WHERE model_version = ? "
        "AND prob_long IS NOT NULL AND candle_time >= ?",
        [model, to_db(since)],
    ).fetchone()
    return int(row[1]), int(row[0])
