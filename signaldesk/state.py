"""Shared system state: the trading halt flag and its reason, heartbeats and counters (table
`system_state`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from signaldesk.clock import from_db, to_db
from signaldesk.storage import writing

if TYPE_CHECKING:
    import sqlite3

    from signaldesk.storage import Database

RUNNING, HALTED = "RUNNING", "HALTED"
TRADING_KEYS = ("trading", "halt_reason")  # what `trading_state` reads


@dataclass(frozen=True)
class TradingState:
    """Whether trading is allowed, and why not."""

    halted: bool
    reason: str
    since: datetime | None
    by: str


def get_value(db: Database | sqlite3.Connection, key: str) -> str | None:
    """Return one state value, or None (a bare connection will do: `signaldesk restore` reads
    one)."""
    row = db.execute("SELECT value FROM system_state WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def set_value(db: Database, key: str, value: str, now: datetime, by: str) -> None:
    """Insert or replace one state value."""
    with writing(db):
        db.execute(
            "INSERT INTO system_state (key, value, updated_at, updated_by) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at, "
            "updated_by = excluded.updated_by",
            [key, value, to_db(now), by],
        )


def trading_state(db: Database) -> TradingState:
    """Return the current RUNNING/HALTED state with its reason."""
    return trading_state_in(state_rows(db, TRADING_KEYS))


def state_rows(db: Database, keys: tuple[str, ...]) -> dict[str, tuple]:
    """Return (value, updated_at, updated_by) of each stored key, read in one query."""
    marks = ",".join("?" * len(keys))
    rows = db.execute(
        f"SELECT key, value, updated_at, updated_by FROM system_state WHERE key IN ({marks})",
        list(keys),
    ).fetchall()
    return {row[0]: tuple(row[1:]) for row in rows}


def trading_state_in(rows: dict[str, tuple]) -> TradingState:
    """Return the trading state held in rows of `state_rows` (read with TRADING_KEYS)."""
    row = rows.get("trading")
    if row is None:
        return TradingState(False, "", None, "")
    reason = rows.get("halt_reason", (None,))[0] or ""
    return TradingState(
        row[0] == HALTED, reason if row[0] == HALTED else "", from_db(row[1]), row[2]
    )


def halt(db: Database, reason: str, now: datetime, by: str) -> bool:
    """Halt trading with a reason; return True when this call changed the state."""
    from signaldesk.audit import record

    with writing(db):
        changed = db.execute(
            "UPDATE system_state SET value = ?, updated_at = ?, updated_by = ? WHERE key = 'trading' AND value != ?",
            [HALTED, to_db(now), by, HALTED],
        ).rowcount
        if changed:
            set_value(db, "halt_reason", reason, now, by)
            record(db, "halt", by, {"reason": reason}, now)
    return bool(changed)


def resume(db: Database, now: datetime, by: str) -> bool:
    """Lift a halt; return True when this call changed the state."""
    from signaldesk.audit import record

    with writing(db):
        changed = db.execute(
            "UPDATE system_state SET value = ?, updated_at = ?, updated_by = ? WHERE key = 'trading' AND value != ?",
            [RUNNING, to_db(now), by, RUNNING],
        ).rowcount
        if changed:
            set_value(db, "halt_reason", "", now, by)
            record(db, "resume", by, {}, now)
    return bool(changed)


def beat(db: Database, process: str, now: datetime) -> None:
    """Record a heartbeat of a long-running process (`bot`, `listener`)."""
    set_value(db, f"heartbeat:{process}", to_db(now), now, process)


def last_beat(db: Database | sqlite3.Connection, process: str) -> datetime | None:
    """Return the last heartbeat of a process, or None if it never beat."""
    value = get_value(db, f"heartbeat:{process}")
    return from_db(value) if value else None
