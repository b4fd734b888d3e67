"""Live model accountability: resolve predictions once their horizon has passed, keep
`model_performance` (how well P(up) told up from down), and count how often the model fired."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from signaldesk import signals
from signaldesk.clock import JST, from_db, to_db
from signaldesk.columns import to_column
from signaldesk.storage import writing

if TYPE_CHECKING:
    from signaldesk.signals import Signal
    from signaldesk.storage import Database

MIN_ROWS_FOR_AUC = 100

Key = tuple[str, str, str]  # (JST date, model version, symbol)
Pair = tuple[datetime, Key]  # a key and a moment that touched it
# A prediction as stored: (reference, candle_time, close_price, model_version, symbol).
Prediction = tuple[Any, str, str, str, str]
Outcome = tuple[Any, float, int, datetime]  # (reference, return, up, resolved at)


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
) -> list[Pair]:
    """Resolve predictions as one `resolve_outcomes` call at each of the increasing `moments` would,
    in one pass.

    Each prediction is resolved at the first moment its horizon has closed by (`resolved_at` is that
    moment); return (moment, (date, model, symbol)) for every key touched, in the order the calls
    would have touched them.
    """
    if not moments:
        return []
    cutoffs = horizon_cutoffs(horizon_bars, moments)
    predictions = db.execute(
        "SELECT id, candle_time, close_price, model_version, symbol FROM signals "
        "WHERE resolved_at IS NULL AND prob_long IS NOT NULL AND close_price IS NOT NULL "
        "AND candle_time <= ?",
        [cutoffs[-1]],
    ).fetchall()
    closes = horizon_closes(db, horizon_bars, predictions)
    outcomes, touched = resolve(predictions, closes, moments, cutoffs)
    if outcomes:
        stamps: dict[datetime, str] = {}  # per call: each moment's text is rendered once
        with writing(db):
            db.conn.executemany(
                "UPDATE signals SET outcome_return = ?, outcome_up = ?, resolved_at = ? WHERE id = ?",
                [
                    (ret, up, stamps.get(at) or stamps.setdefault(at, to_db(at)), signal_id)
                    for signal_id, ret, up, at in outcomes
                ],
            )
    return sorted(touched)


def horizon_cutoffs(horizon_bars: int, moments: Sequence[datetime]) -> list[str]:
    """Return, per moment, the last candle time (stored text) whose horizon has closed by then."""
    closed_by = timedelta(minutes=15 * (horizon_bars + 1))  # the horizon, and its candle's close
    return [to_db(moment - closed_by) for moment in moments]


def horizon_open_time(candle_time: str, horizon_bars: int) -> str:
    """Return the open time (stored text) of the candle whose close ends a prediction's horizon."""
    return to_db(from_db(candle_time) + timedelta(minutes=15 * horizon_bars))


def forward_return(close: str, horizon_close: str) -> float:
    """Return the return from a prediction's close to its horizon's close (stored texts): exact in
    Decimal, rounded to a float once."""
    return float(Decimal(horizon_close) / Decimal(close) - 1)


def horizon_closes(
    db: Database, horizon_bars: int, predictions: Iterable[Prediction]
) -> dict[tuple[str, str], str]:
    """Return the close of each prediction's horizon candle, by (symbol, candle time); a candle
    missing from `candles` is missing here."""
    wanted: dict[str, dict[str, str]] = {}  # symbol -> horizon open time -> candle time
    opens: dict[str, str] = {}
    for _ref, candle_time, _close, _model, symbol in predictions:
        at = opens.get(candle_time) or opens.setdefault(
            candle_time, horizon_open_time(candle_time, horizon_bars)
        )
        wanted.setdefault(symbol, {})[at] = candle_time
    closes = {}
    for symbol, candle_times in wanted.items():
        times = list(candle_times)
        for start in range(0, len(times), 500):  # well below SQLite's limit on parameters
            chunk = times[start : start + 500]
            rows = db.execute(
                "SELECT open_time, close FROM candles WHERE symbol = ? AND interval = '15m' "
                f"AND open_time IN ({', '.join('?' * len(chunk))})",
                [symbol, *chunk],
            )
            closes.update({(symbol, candle_times[t]): close for t, close in rows})
    return closes


def resolve(
    predictions: Iterable[Prediction],
    closes: Mapping[tuple[str, str], str],
    moments: Sequence[datetime],
    cutoffs: Sequence[str],
) -> tuple[list[Outcome], set[Pair]]:
    """Return the outcome of each prediction whose horizon has closed by the last moment and whose
    horizon candle is known, resolved at the first moment that covers it, and the pairs touched."""
    days: dict[str, str] = {}  # per call: each candle's JST day is rendered once
    outcomes, touched = [], set()
    for ref, candle_time, close, model, symbol in predictions:
        at = bisect.bisect_left(cutoffs, candle_time)
        horizon_close = closes.get((symbol, candle_time))
        if at == len(cutoffs) or horizon_close is None:
            continue
        day = days.get(candle_time) or days.setdefault(candle_time, _jst_day(candle_time))
        ret = forward_return(close, horizon_close)
        outcomes.append((ref, ret, int(ret > 0), moments[at]))
        touched.add((moments[at], (day, model, symbol)))
    return outcomes, touched


def arriving_outcomes(
    db: Database, horizon_bars: int, moments: Sequence[datetime], arriving: Sequence[Signal]
) -> tuple[dict[int, tuple[float, int, datetime]], set[Pair]]:
    """Return, by position, the outcomes new rows will have once resolved through `moments`, and
    the pairs they touch: what `resolve_outcomes_through` would find after inserting them."""
    if not moments:
        return {}, set()
    predictions = [
        (n, to_column(s.candle_time), to_column(s.close_price), s.model_version, s.symbol)
        for n, s in enumerate(arriving)
        if s.resolved_at is None and s.prob_long is not None and s.close_price is not None
    ]
    cutoffs = horizon_cutoffs(horizon_bars, moments)
    predictions = [p for p in predictions if p[1] <= cutoffs[-1]]
    outcomes, touched = resolve(
        predictions, horizon_closes(db, horizon_bars, predictions), moments, cutoffs
    )
    return {n: (ret, up, at) for n, ret, up, at in outcomes}, touched


def _jst_day(candle_time: str) -> str:
    """Return the JST calendar date of a stored UTC time."""
    return from_db(candle_time).astimezone(JST).date().isoformat()


def score_outcomes_through(
    db: Database, horizon_bars: int, moments: Sequence[datetime], arriving: Sequence[Signal] = ()
) -> None:
    """Insert the `arriving` rows, then resolve and score as one `resolve_outcomes` +
    `update_performance` call at each moment would.

    Arriving rows whose horizon closes by the last moment are written with their outcomes when no
    row of theirs is stored yet (then each is new), which saves updating them. Each touched (date,
    model, symbol) is scored once, at the last moment that touched it: its rows are final by then,
    so the stored figures and `updated_at` are those of the last per-moment call.
    """
    with writing(db):  # one commit for all
        outcomes: dict[int, tuple[float, int, datetime]] = {}
        pairs: set[Pair] = set()
        if arriving and not signals.any_stored(db, arriving):
            outcomes, pairs = arriving_outcomes(db, horizon_bars, moments, arriving)
        if arriving:
            signals.insert_all(db, arriving, outcomes)
        pairs.update(resolve_outcomes_through(db, horizon_bars, moments))
        ordered = sorted(pairs)
        last = {key: moment for moment, key in ordered}
        first_touch = dict.fromkeys(key for _moment, key in ordered)  # new rows keep their id order
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
