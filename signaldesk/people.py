"""The people who decide, by name: Telegram first name and username as last seen, per user id."""

from __future__ import annotations

from datetime import datetime

from signaldesk.clock import to_db
from signaldesk.storage import writing


def remember(db, user_id: int, first_name: str | None, username: str | None, now: datetime) -> None:
    """Store (or update) how a person is called."""
    with writing(db):
        db.execute(
            "INSERT INTO people (user_id, first_name, username, seen_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (user_id) DO UPDATE SET first_name = excluded.first_name, "
            "username = excluded.username, seen_at = excluded.seen_at",
            [user_id, first_name, username, to_db(now)],
        )


def name_of(db, actor: str | None) -> str:
    """Return how to call the person behind an audit actor (a numeric user id), else the actor."""
    if not actor or not actor.isdigit():
        return actor or ""
    row = db.execute(
        "SELECT first_name, username FROM people WHERE user_id = ?", [int(actor)]
    ).fetchone()
    return display_name(actor, *(row or (None, None)))


def display_name(actor: str, first_name: str | None, username: str | None) -> str:
    """Return `Taro (@taro)`, `Taro`, `@taro`, or the id when nothing else is known."""
    if first_name and username:
        return f"{first_name} (@{username})"
    return first_name or (f"@{username}" if username else actor)
