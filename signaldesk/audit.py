"""The audit log: approvals, rejections, orders, halts and unauthorized attempts, kept forever in SQLite."""

from __future__ import annotations

import json
import logging
from datetime import datetime

from signaldesk.clock import to_db
from signaldesk.storage import writing

log = logging.getLogger("signaldesk.audit")


def record(db, event: str, actor: str | int, detail: dict, now: datetime) -> int:
    """Append one audit event and log it; return its id."""
    text = json.dumps(detail, default=str, sort_keys=True)
    with writing(db):
        cursor = db.execute(
            "INSERT INTO audit_log (at, event, actor, detail) VALUES (?, ?, ?, ?)",
            [to_db(now), event, str(actor), text],
        )
    log.info("audit %s by %s %s", event, actor, text)
    return cursor.lastrowid


def events(db, event: str | None = None, limit: int = 100) -> list[dict]:
    """Return the latest audit events, newest first, optionally of one kind."""
    sql = "SELECT id, at, event, actor, detail FROM audit_log"
    params: list = []
    if event:
        sql += " WHERE event = ?"
        params.append(event)
    sql += " ORDER BY id DESC LIMIT ?"
    params.append(limit)
    rows = db.execute(sql, params).fetchall()
    return [
        {"id": r[0], "at": r[1], "event": r[2], "actor": r[3], "detail": json.loads(r[4])}
        for r in rows
    ]
