"""Alerts in the trader's language: an outbox row keeps the data of the notice it was made from.

`notice` is JSON `{"kind", "trade_id", "values"}` (NULL for a plain-text alert); the bot renders it
in the trader's language and falls back to `text` (English) for kinds it does not know.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from signaldesk.storage import Database


def migrate(db: Database) -> None:
    """Add outbox.notice."""
    db.execute("ALTER TABLE outbox ADD COLUMN notice TEXT")
