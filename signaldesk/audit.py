"""The audit log: approvals, rejections, orders, halts and unauthorized attempts, kept forever in
SQLite."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import TYPE_CHECKING

from signaldesk.clock import to_db
from signaldesk.storage import inserted_id, writing

if TYPE_CHECKING:
    from signaldesk.storage import Database

log = logging.getLogger("signaldesk.audit")


def record(db: Database, event: str, actor: str | int, detail: dict, now: datetime) -> int:
    """Append one audit event and log it; return its id."""
    text = json.dumps(detail, default=str, sort_keys=True)
    with writing(db):
        cursor = db.execute(
            "INSERT INTO audit_log (at, event, actor, detail) VALUES (?, ?, ?, ?)",
            [to_db(now), event, str(actor), text],
        )
    log.info("audit %s by %s %s", event, actor, text)
    return inserted_id(cursor)


def events(db: Database, event: str | None = None, limit: int = 100) -> list[dict]:
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


# ---- strangers: a bounded tally instead of one row per update ------------------------------------

OTHERS = 0  # the tally row of strangers beyond the hourly cap of distinct ids


def _hour(moment: datetime) -> str:
    """Return the UTC hour a moment falls in, as stored (YYYY-MM-DDTHH)."""
    return to_db(moment)[:13]


def count_stranger(
    db: Database,
    user_id: int | None,
    chat_id: int | None,
    kind: str,
    sample: str | None,
    now: datetime,
    per_hour: int = 100,
) -> bool:
    """Count one dropped update of a stranger in this hour's tally; return True when it opened a
    tally row.

    At most `per_hour` strangers get a row of their own per hour; the rest are counted together
    (user id 0).
    """
    hour = _hour(now)
    with writing(db):
        who = _tally_row_of(db, user_id or OTHERS, hour, per_hour)
        opened = not db.execute(
            "SELECT 1 FROM stranger_drops WHERE user_id = ? AND hour = ?", [who, hour]
        ).fetchone()
        db.execute(
            "INSERT INTO stranger_drops (user_id, hour, chat_id, first_at, last_at, dropped, "
            "kinds, sample) VALUES (?, ?, ?, ?, ?, 1, json_object(?, 1), ?) "
            "ON CONFLICT (user_id, hour) DO UPDATE SET "
            "last_at = excluded.last_at, dropped = dropped + 1, "
            "kinds = json_set(kinds, '$.' || ?, COALESCE(json_extract(kinds, '$.' || ?), 0) + 1)",
            [who, hour, chat_id, to_db(now), to_db(now), kind, (sample or "")[:100] or None,
             kind, kind],
        )  # fmt: skip
    return opened


def _tally_row_of(db: Database, user_id: int, hour: str, per_hour: int) -> int:
    """Return the tally row a stranger counts in: their own, or OTHERS once the hour has `per_hour`
    of them."""
    if (
        user_id == OTHERS
        or db.execute(
            "SELECT 1 FROM stranger_drops WHERE user_id = ? AND hour = ?", [user_id, hour]
        ).fetchone()
    ):
        return user_id
    count = db.execute("SELECT COUNT(*) FROM stranger_drops WHERE hour = ?", [hour]).fetchone()[0]
    return OTHERS if count >= per_hour else user_id


def audit_strangers(db: Database, now: datetime) -> int:
    """Turn every closed hour's tally into one audit row per stranger (with the count) and clear it;
    return rows."""
    hour = _hour(now)
    if not db.execute("SELECT 1 FROM stranger_drops WHERE hour < ? LIMIT 1", [hour]).fetchone():
        return 0  # the usual case: no write lock taken
    with writing(db):
        rows = db.execute(
            "SELECT user_id, hour, chat_id, first_at, last_at, dropped, kinds, sample "
            "FROM stranger_drops WHERE hour < ? ORDER BY hour, user_id",
            [hour],
        ).fetchall()
        for user_id, at_hour, chat_id, first, last, dropped, kinds, sample in rows:
            detail = {
                "user_id": user_id or None, "chat_id": chat_id, "hour_utc": at_hour,
                "first_at": first, "last_at": last, "dropped": dropped,
                "kinds": json.loads(kinds), "sample": sample,
            }  # fmt: skip
            record(db, "unauthorized", user_id or "others", detail, now)
        db.execute("DELETE FROM stranger_drops WHERE hour < ?", [hour])
    return len(rows)
