"""The alert outbox: rows the cycle and listener queue, the bot delivers (critical loudly, warnings
silently)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from signaldesk.clock import to_db
from signaldesk.columns import decimal_text, json_or
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
    notice: dict | None = None  # {"kind", "trade_id", "values"} of a Notice, for the bot to render


def notice_json(text: str) -> str | None:
    """Return the JSON of a Notice's data (kind, trade, values), or None for plain text."""
    kind = getattr(text, "kind", None)
    if kind is None:
        return None
    data = {"kind": kind, "trade_id": getattr(text, "trade_id", None),
            "values": dict(getattr(text, "values", {}))}  # fmt: skip
    return json.dumps(data, default=_plain, ensure_ascii=False)


def _plain(value: Any) -> str | None:
    """Write a Decimal as fixed-point text and a time as its column text."""
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, datetime):
        return to_db(value)
    raise TypeError(f"{type(value).__name__} is not a notice value")


def queue_alert(
    db: Database, severity: str, kind: str, text: str, now: datetime, dedupe_key: str | None = None
) -> bool:
    """Queue an alert; with a dedupe key, a second alert with the same key is dropped. Return True
    if queued.

    A `Notice` keeps its data (kind and values) next to its English text so the bot can say it in
    the trader's language."""
    if severity not in SEVERITIES:
        raise ValueError(f"severity {severity!r}: allowed {', '.join(SEVERITIES)}")
    with writing(db):
        cursor = db.execute(
            "INSERT INTO outbox (created_at, severity, kind, text, dedupe_key, notice) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING",
            [to_db(now), severity, kind, str(text), dedupe_key, notice_json(text)],
        )
    return cursor.rowcount == 1


def unsent(db: Database, limit: int = 20) -> list[Alert]:
    """Return alerts not yet delivered, oldest first."""
    rows = db.execute(
        "SELECT id, created_at, severity, kind, text, notice FROM outbox WHERE sent_at IS NULL "
        "ORDER BY id LIMIT ?",
        [limit],
    ).fetchall()
    return [Alert(r[0], r[1], r[2], r[3], r[4], json_or(r[5], {}) or None) for r in rows]


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
