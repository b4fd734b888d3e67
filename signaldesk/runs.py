"""Batch job runs (table `runs`): start, finish with status, counts and durations; the last
successful one."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

from signaldesk.clock import from_db, to_db
from signaldesk.storage import inserted_id, writing

if TYPE_CHECKING:
    from signaldesk.storage import Database


def start_run(db: Database, kind: str, now: datetime, symbols: tuple[str, ...] = ()) -> int:
    """Record that a run started; return its id."""
    with writing(db):
        cursor = db.execute(
            "INSERT INTO runs (kind, started_at, status, symbols) VALUES (?, ?, 'running', ?)",
            [kind, to_db(now), ",".join(symbols)],
        )
    return inserted_id(cursor)


def finish_run(
    db: Database,
    run_id: int,
    status: str,
    now: datetime,
    *,
    candle_time: datetime | None = None,
    counts: dict | None = None,
    durations: dict | None = None,
    error: str | None = None,
) -> None:
    """Record how a run ended (ok, failed or skipped), with its counts, stage durations and
    error."""
    with writing(db):
        db.execute(
            "UPDATE runs SET finished_at = ?, status = ?, candle_time = ?, counts = ?, durations = ?, error = ? "
            "WHERE id = ?",
            [
                to_db(now),
                status,
                to_db(candle_time) if candle_time else None,
                json.dumps(counts or {}, default=str),
                json.dumps(durations or {}),
                error,
                run_id,
            ],
        )


def last_success(db: Database, kind: str) -> datetime | None:
    """Return when the last successful run of a kind finished, or None."""
    row = db.execute(
        "SELECT MAX(finished_at) FROM runs WHERE kind = ? AND status = 'ok'", [kind]
    ).fetchone()
    return from_db(row[0]) if row and row[0] else None
