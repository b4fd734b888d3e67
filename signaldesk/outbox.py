"""The alert outbox: rows the cycle and listener queue, the bot delivers (critical loudly, warnings silently)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from signaldesk.clock import to_db
from signaldesk.storage import writing

if TYPE_CHECKING:
    from signaldesk.storage import Database

SEVERITIES = ("critical", "warning", "info")


@dataclass(frozen=True)
class Alert:
    """One queued alert."""

    id: int
    created_at: str
    severity: str
    kind: str
    text: str


def queue_alert(
    db: Database, severity: str, kind: str, text: str, now: datetime, dedupe_key: str | None = None
) -> bool:
    """Queue an alert; with a dedupe key, a second alert with the same key is dropped. Return True if queued."""
    if severity not in SEVERITIES:
        raise ValueError(f"severity {severity!r}: allowed {', '.join(SEVERITIES)}")
    with writing(db):
        cursor = db.execute(
            "INSERT INTO outbox (created_at, severity, kind, text, dedupe_key) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (dedupe_key) DO NOTHING",
            [to_db(now), severity, kind, text, dedupe_key],
        )
    return cursor.rowcount == 1


def unsent(db: Database, limit: int = 20) -> list[Alert]:
    """Return alerts not yet delivered, oldest first."""
    rows = db.execute(
        "SELECT id, created_at, severity, kind, text FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT ?",
        [limit],
    ).fetchall()
    return [Alert(*r) for r in rows]


def mark_sent(db: Database, alert_id: int, now: datetime, via: str) -> bool:
    """Mark an alert delivered (once); return True if this call marked it."""
    with writing(db):
        cursor = db.execute(
            "UPDATE outbox SET sent_at = ?, sent_via = ?, attempts = attempts + 1 WHERE id = ? AND sent_at IS NULL",
            [to_db(now), via, alert_id],
        )
    return cursor.rowcount == 1


def mark_failed(db: Database, alert_id: int, error: str) -> None:
    """Count a failed delivery attempt and keep the error text."""
    with writing(db):
        db.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?",
            [error[:500], alert_id],
        )
