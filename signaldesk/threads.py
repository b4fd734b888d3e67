"""Where each trade's thread lives in the chat: its status message, what it last showed, and whether
its closing message was sent (the bot repairs both from these rows after a crash)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from signaldesk.clock import to_db
from signaldesk.storage import writing


@dataclass(frozen=True)
class Thread:
    """One row of `trade_threads`."""

    trade_id: int
    chat_id: int
    message_id: int | None
    shown: str | None
    closed_told: bool


def load(db, trade_id: int) -> Thread | None:
    """Return a trade's thread, or None when nothing was sent about it yet."""
    row = db.execute(
        "SELECT trade_id, chat_id, message_id, shown, closed_told FROM trade_threads "
        "WHERE trade_id = ?",
        [trade_id],
    ).fetchone()
    if not row:
        return None
    trade_id, chat_id, message_id, shown, closed_told = row
    return Thread(trade_id, chat_id, message_id, shown, bool(closed_told))


def record_status(db, trade_id: int, chat_id: int, message_id: int, shown: str, now) -> None:
    """Store the trade's status message and what it shows."""
    with writing(db):
        db.execute(
            "INSERT INTO trade_threads (trade_id, chat_id, message_id, shown, updated_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (trade_id) DO UPDATE SET chat_id = excluded.chat_id, "
            "message_id = excluded.message_id, shown = excluded.shown, "
            "updated_at = excluded.updated_at",
            [trade_id, chat_id, message_id, shown, to_db(now)],
        )


def mark_closed_told(db, trade_id: int, chat_id: int, now: datetime) -> None:
    """Record that the trade's closing message was sent."""
    with writing(db):
        db.execute(
            "INSERT INTO trade_threads (trade_id, chat_id, closed_told, updated_at) "
            "VALUES (?, ?, 1, ?) ON CONFLICT (trade_id) DO UPDATE SET closed_told = 1, "
            "updated_at = excluded.updated_at",
            [trade_id, chat_id, to_db(now)],
        )


def owing(db, mode: str) -> list[int]:
    """Return trades whose thread may owe an update: active ones, and closed or cancelled ones whose
    thread was started but whose closing message (or last edit) may not have gone out."""
    rows = db.execute(
        "SELECT t.id FROM trades t LEFT JOIN trade_threads h ON h.trade_id = t.id "
        "WHERE t.mode = ? AND t.signal_id IS NOT NULL AND (t.status IN ('pending', 'open') "
        "OR (h.trade_id IS NOT NULL AND (h.closed_told = 0 OR h.shown IS NULL))) ORDER BY t.id",
        [mode],
    ).fetchall()
    return [r[0] for r in rows]
