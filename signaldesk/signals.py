"""The signal: one row per symbol and scored candle, its statuses and the only transitions allowed
between them.

Every read and write of the `signals` table goes through this module. A status changes only by
compare-and-set (`move`): the UPDATE names the one status it may leave, so two processes or two taps
cannot both move a signal, and the caller acts only when it was the one whose UPDATE changed the
row.

    LOGGED | FILTERED | PENDING -> APPROVED | REJECTED | EXPIRED;  APPROVED -> EXECUTED | BLOCKED |
    FAILED
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from decimal import Decimal
from itertools import groupby
from typing import TYPE_CHECKING, Any

from signaldesk.clock import to_db
from signaldesk.columns import decimal_or_none, json_or, time_or_none, to_column
from signaldesk.storage import writing

if TYPE_CHECKING:
    from signaldesk.storage import Database

LOGGED, FILTERED, PENDING = "LOGGED", "FILTERED", "PENDING"
APPROVED, REJECTED, EXPIRED = "APPROVED", "REJECTED", "EXPIRED"
EXECUTED, BLOCKED, FAILED = "EXECUTED", "BLOCKED", "FAILED"
STATUSES = (LOGGED, FILTERED, PENDING, APPROVED, REJECTED, EXPIRED, EXECUTED, BLOCKED, FAILED)
# The only moves a signal can make; every target has exactly one source.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    PENDING: (APPROVED, REJECTED, EXPIRED),
    APPROVED: (EXECUTED, BLOCKED, FAILED),
}
# Statuses of a signal the person said yes to, and of every signal that was proposed to the person.
APPROVED_STATUSES = (APPROVED, EXECUTED, BLOCKED, FAILED)
PROPOSED_STATUSES = (PENDING, REJECTED, EXPIRED, *APPROVED_STATUSES)
# Statuses a person (or the clock) has decided; each owes the trader an answer until `told_status`
# says it was given.
DECIDED_STATUSES = (APPROVED, REJECTED, EXPIRED, EXECUTED, BLOCKED, FAILED)
TIMEOUT_ACTOR = "timeout"
# A signal that came outside the trader's active hours: expired at once without being offered.
HELD_ACTOR = "held"

DECIMAL_COLUMNS = (
    "close_price",
    "atr",
    "entry_price",
    "stop_loss",
    "take_profit_1",
    "take_profit_2",
    "size",
    "risk_jpy",
)
TIME_COLUMNS = (
    "created_at",
    "candle_time",
    "expires_at",
    "decided_at",
    "announced_at",
    "resolved_at",
)
# /modify may change these; risk_jpy follows from them.
PLAN_COLUMNS = ("entry_price", "stop_loss", "take_profit_1", "take_profit_2", "size", "risk_jpy")


class TransitionError(ValueError):
    """A status change the state machine does not allow (a programming error, never a person's)."""


@dataclass(frozen=True, kw_only=True)
class Signal:
    """One row of `signals`: the model's verdict on one symbol at one candle and, once proposed, its
    trade plan."""

    id: int | None = None
    created_at: datetime
    symbol: str
    candle_time: datetime
    direction: str | None = None
    confidence: float | None = None
    prob_long: float | None = None
    prob_short: float | None = None
    confidence_rank: float | None = None
    features: dict = field(default_factory=dict)
    model_version: str
    status: str
    reasons: list = field(default_factory=list)
    close_price: Decimal | None = None
    atr: Decimal | None = None
    entry_price: Decimal | None = None
    stop_loss: Decimal | None = None
    take_profit_1: Decimal | None = None
    take_profit_2: Decimal | None = None
    size: Decimal | None = None
    risk_jpy: Decimal | None = None
    expires_at: datetime | None = None
    approved_by: str | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None
    telegram_chat_id: int | None = None
    telegram_message_id: int | None = None
    announced_at: datetime | None = None
    outcome_return: float | None = None
    outcome_up: int | None = None
    resolved_at: datetime | None = None
    told_status: str | None = None

    def is_open(self, now: datetime) -> bool:
        """Return True while the signal can still be decided."""
        return self.status == PENDING and self.expires_at is not None and self.expires_at > now

    @property
    def owes_answer(self) -> bool:
        """Return True when the signal was decided and the trader has not been told that status
        yet."""
        return self.status in DECIDED_STATUSES and self.told_status != self.status

    def with_changes(self, **values: Any) -> Signal:
        """Return a copy with some columns changed (the row is not touched)."""
        return replace(self, **values)


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Signal))
# Columns whose values are not written as they are: Decimals, times and JSON.
CONVERTED_COLUMNS = (*DECIMAL_COLUMNS, *TIME_COLUMNS, "features", "reasons")


def from_row(row: dict) -> Signal:
    """Build a Signal from a row keyed by column name."""
    values = dict(row)
    for name in DECIMAL_COLUMNS:
        values[name] = decimal_or_none(values[name])
    for name in TIME_COLUMNS:
        values[name] = time_or_none(values[name])
    values["features"] = json_or(values["features"], {})
    values["reasons"] = json_or(values["reasons"], [])
    return Signal(**values)


def _row_of(signal: Signal) -> dict[str, Any]:
    """Return the column values of a signal for an INSERT (the id only when it has one)."""
    row = dict(vars(signal))  # every column, in COLUMNS' order; the rest are plain values
    for name in CONVERTED_COLUMNS:
        row[name] = to_column(row[name])
    if signal.id is None:
        del row["id"]
    return row


def source_of(status: str) -> str:
    """Return the one status a signal must have to move to `status`; raise TransitionError for a
    non-target."""
    for source, targets in TRANSITIONS.items():
        if status in targets:
            return source
    raise TransitionError(f"no signal moves to {status!r}; allowed targets: {_targets()}")


def _targets() -> str:
    return ", ".join(t for targets in TRANSITIONS.values() for t in targets)


def insert(db: Database, signal: Signal) -> int | None:
    """Write a new signal; return its id, or None when a row for the same symbol and candle already
    exists."""
    row = _row_of(signal)
    with writing(db):
        cursor = db.execute(
            f"INSERT INTO signals ({', '.join(row)}) VALUES ({', '.join('?' * len(row))}) "
            "ON CONFLICT (symbol, candle_time) DO NOTHING",
            list(row.values()),
        )
    return cursor.lastrowid if cursor.rowcount == 1 else None


def insert_all(
    db: Database,
    signals: Iterable[Signal],
    outcomes: Mapping[int, tuple[float, int, datetime]] | None = None,
) -> int:
    """Write new signals in one transaction, leaving existing (symbol, candle) rows unchanged;
    return rows new.

    `outcomes` maps a signal's position to its (outcome_return, outcome_up, resolved_at), written
    with it (a copy of each frozen Signal would cost more than the row it fills).
    """
    new = 0
    values: Iterable[dict[str, Any]] = map(_row_of, signals)
    if outcomes:
        values = (_with_outcome(row, outcomes.get(n)) for n, row in enumerate(values))
    with writing(db):
        # consecutive rows with the same columns (with or without an id): one statement, in order
        for columns, rows in groupby(values, key=tuple):
            marks = ", ".join("?" * len(columns))
            new += db.conn.executemany(
                f"INSERT INTO signals ({', '.join(columns)}) VALUES ({marks}) "
                "ON CONFLICT (symbol, candle_time) DO NOTHING",
                [list(row.values()) for row in rows],
            ).rowcount
    return new


def _with_outcome(row: dict[str, Any], outcome: tuple[float, int, datetime] | None) -> dict:
    """Return a row with its outcome columns filled in when it has one."""
    if outcome is not None:
        row["outcome_return"], row["outcome_up"], resolved_at = outcome
        row["resolved_at"] = to_db(resolved_at)
    return row


def any_stored(db: Database, signals: Sequence[Signal]) -> bool:
    """Return True when a row exists for a symbol of `signals` within the span of their candles."""
    spans: dict[str, list[datetime]] = {}
    for signal in signals:
        spans.setdefault(signal.symbol, []).append(signal.candle_time)
    return any(
        db.execute(
            "SELECT 1 FROM signals WHERE symbol = ? AND candle_time BETWEEN ? AND ? LIMIT 1",
            [symbol, to_db(min(times)), to_db(max(times))],
        ).fetchone()
        for symbol, times in spans.items()
    )


def select(db: Database, where: str, params: Iterable[Any] = ()) -> list[Signal]:
    """Return the signals matching a WHERE clause (with its ORDER BY, if any)."""
    cursor = db.execute(f"SELECT {', '.join(COLUMNS)} FROM signals WHERE {where}", list(params))
    return [from_row(dict(zip(COLUMNS, r, strict=True))) for r in cursor.fetchall()]


def read_columns(
    db: Database, columns: Sequence[str], where: str, params: Iterable[Any] = ()
) -> list[tuple]:
    """Return some raw columns of the matching signals (for reports over many rows); the names are
    checked."""
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown:
        raise ValueError(f"not signal columns: {', '.join(unknown)}")
    return db.execute(
        f"SELECT {', '.join(columns)} FROM signals WHERE {where}", list(params)
    ).fetchall()


def stored_id(signal: Signal) -> int:
    """Return the id of a signal read from the database; raise ValueError for one never saved."""
    if signal.id is None:
        raise ValueError(f"{signal.symbol} signal at {signal.created_at} was never saved: no id")
    return signal.id


def load(db: Database, signal_id: int) -> Signal | None:
    """Return one signal, or None when there is no such id."""
    found = select(db, "id = ?", [signal_id])
    return found[0] if found else None


def pending(db: Database, now: datetime) -> list[Signal]:
    """Return signals that can still be decided, oldest first."""
    return select(db, "status = ? AND expires_at > ? ORDER BY id", [PENDING, to_db(now)])


def unannounced(db: Database, now: datetime) -> list[Signal]:
    """Return open signals that have not been announced yet, oldest first."""
    return select(
        db,
        "status = ? AND announced_at IS NULL AND expires_at > ? ORDER BY id",
        [PENDING, to_db(now)],
    )


def past_window(db: Database, now: datetime) -> list[Signal]:
    """Return pending signals whose approval window has closed, oldest first."""
    return select(db, "status = ? AND expires_at <= ? ORDER BY id", [PENDING, to_db(now)])


def move(
    db: Database,
    signal_id: int,
    status: str,
    *,
    open_at: datetime | None = None,
    append_note: str | None = None,
    **values: Any,
) -> bool:
    """Move a signal to `status` from its one allowed source by compare-and-set; return True if this
    call did.

    `open_at` also requires the approval window to be open at that moment; `append_note` is added to
    the decision note; `values` are other columns to set in the same UPDATE.
    """
    sets = {"status": status, **{k: to_column(v) for k, v in values.items()}}
    assignments = [f"{k} = ?" for k in sets]
    params = list(sets.values())
    if append_note is not None:
        assignments.append("decision_note = COALESCE(decision_note || ' | ', '') || ?")
        params.append(append_note)
    where, params = "id = ? AND status = ?", [*params, signal_id, source_of(status)]
    if open_at is not None:
        where, params = f"{where} AND expires_at > ?", [*params, to_db(open_at)]
    with writing(db):
        return (
            db.execute(
                f"UPDATE signals SET {', '.join(assignments)} WHERE {where}", params
            ).rowcount
            == 1
        )


def hold(db: Database, signal_id: int, now: datetime, note: str) -> bool:
    """Expire a pending signal at once because it came outside the trader's active hours (nothing to
    tell: no card was posted); return True if this call moved it."""
    return move(db, signal_id, EXPIRED, approved_by=HELD_ACTOR, decided_at=now,
                told_status=EXPIRED, append_note=note)  # fmt: skip


def held(db: Database, start: datetime, end: datetime) -> list[Signal]:
    """Return the signals held outside the active hours that were created in [start, end)."""
    return select(
        db,
        "status = ? AND approved_by = ? AND created_at >= ? AND created_at < ? ORDER BY id",
        [EXPIRED, HELD_ACTOR, to_db(start), to_db(end)],
    )


def change_plan(
    db: Database, signal_id: int, now: datetime, plan: dict[str, Decimal | None]
) -> bool:
    """Set plan columns of a signal that is still open at `now` (compare-and-set); return True if
    changed."""
    unknown = set(plan) - set(PLAN_COLUMNS)
    if unknown:
        raise ValueError(f"not plan columns: {', '.join(sorted(unknown))}")
    sets = {k: to_column(v) for k, v in plan.items()}
    with writing(db):
        return (
            db.execute(
                f"UPDATE signals SET {', '.join(f'{k} = ?' for k in sets)} "
                "WHERE id = ? AND status = ? AND expires_at > ?",
                [*sets.values(), signal_id, PENDING, to_db(now)],
            ).rowcount
            == 1
        )


def claim_announcement(db: Database, signal_id: int, now: datetime) -> bool:
    """Claim the right to announce a signal (compare-and-set); True for exactly one caller."""
    with writing(db):
        return (
            db.execute(
                "UPDATE signals SET announced_at = ? WHERE id = ? AND status = ? AND announced_at IS NULL",
                [to_db(now), signal_id, PENDING],
            ).rowcount
            == 1
        )


def record_announcement(db: Database, signal_id: int, chat_id: int, message_id: int) -> None:
    """Store where the announcement was posted, so later edits find it."""
    with writing(db):
        db.execute(
            "UPDATE signals SET telegram_chat_id = ?, telegram_message_id = ? WHERE id = ?",
            [chat_id, message_id, signal_id],
        )


def release_announcement(db: Database, signal_id: int) -> None:
    """Give back a claim whose message could not be sent, so the next round retries it."""
    with writing(db):
        db.execute(
            "UPDATE signals SET announced_at = NULL WHERE id = ? AND telegram_message_id IS NULL",
            [signal_id],
        )


def status_counts(
    db: Database,
    start: datetime | None = None,
    end: datetime | None = None,
    *,
    statuses: Iterable[str] = STATUSES,
    approved_by: str | None = None,
) -> dict[str, int]:
    """Return how many signals (created in [start, end), decided by someone) have each status."""
    wanted = list(statuses)
    where, params = [f"status IN ({', '.join('?' * len(wanted))})"], list(wanted)
    for clause, value in (("created_at >= ?", start), ("created_at < ?", end)):
        if value is not None:
            where.append(clause)
            params.append(to_db(value))
    if approved_by is not None:
        where.append("approved_by = ?")
        params.append(approved_by)
    sql = f"SELECT status, count(*) FROM signals WHERE {' AND '.join(where)} GROUP BY status"
    return dict(db.execute(sql, params).fetchall())


def approved_with_trade(db: Database) -> list[tuple[int, int]]:
    """Return (signal id, trade id) of APPROVED signals whose trade exists and was not cancelled."""
    return db.execute(
        "SELECT s.id, t.id FROM signals s JOIN trades t ON t.signal_id = s.id "
        "WHERE s.status = ? AND t.status != 'cancelled' ORDER BY s.id",
        [APPROVED],
    ).fetchall()


def approved_with_cancelled_trade(db: Database) -> list[tuple[int, int]]:
    """Return (signal id, trade id) of APPROVED signals whose only trade was cancelled (its entry
    never lived)."""
    return db.execute(
        "SELECT s.id, t.id FROM signals s JOIN trades t ON t.signal_id = s.id "
        "WHERE s.status = ? AND t.status = 'cancelled' ORDER BY s.id",
        [APPROVED],
    ).fetchall()


def approved_without_trade(db: Database) -> list[Signal]:
    """Return APPROVED signals that have no trade yet (no entry order was ever recorded), oldest
    first."""
    return select(
        db,
        "status = ? AND NOT EXISTS (SELECT 1 FROM trades t WHERE t.signal_id = signals.id) "
        "ORDER BY id",
        [APPROVED],
    )


def untold(db: Database, limit: int = 50) -> list[Signal]:
    """Return decided signals whose answer has not reached the trader yet, oldest first."""
    # Literal statuses (module constants), so SQLite can use the partial index idx_signals_untold.
    decided = ", ".join(f"'{status}'" for status in DECIDED_STATUSES)
    return select(
        db, f"status IN ({decided}) AND told_status IS NOT status ORDER BY id LIMIT ?", [limit]
    )


def mark_told(db: Database, signal_id: int, status: str) -> bool:
    """Record that the trader was told `status`; a no-op (False) when the signal has moved on
    since."""
    with writing(db):
        return (
            db.execute(
                "UPDATE signals SET told_status = ? WHERE id = ? AND status = ?",
                [status, signal_id, status],
            ).rowcount
            == 1
        )


def release_unposted_claims(db: Database) -> list[int]:
    """Give back announcement claims of pending signals whose message id was never stored (a crash
    mid-send)."""
    with writing(db):
        ids = [
            r[0]
            for r in db.execute(
                "SELECT id FROM signals WHERE status = ? AND announced_at IS NOT NULL "
                "AND telegram_message_id IS NULL ORDER BY id",
                [PENDING],
            )
        ]
        for signal_id in ids:
            release_announcement(db, signal_id)
    return ids
