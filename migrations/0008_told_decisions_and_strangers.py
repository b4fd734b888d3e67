"""What the trader was last told about each signal, and a bounded tally of updates dropped from
strangers.

`signals.told_status` is the status whose answer reached the trader (card edited, notice sent). A
decided signal whose `told_status` differs from its `status` still owes the trader an answer; the
bot delivers it, also after a crash. Rows decided before this migration count as told.

`stranger_drops` counts updates from people who are not allowed, one row per stranger and hour; a
closed hour becomes one audit row with its count, and its tally row is deleted (the audit log stays
append-only and bounded).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from signaldesk.storage import Database

DECIDED = "('APPROVED', 'REJECTED', 'EXPIRED', 'EXECUTED', 'BLOCKED', 'FAILED')"


def migrate(db: Database) -> None:
    """Add signals.told_status (filled for existing rows), its partial index and the stranger_drops
    table."""
    db.execute("ALTER TABLE signals ADD COLUMN told_status TEXT")
    db.execute(f"UPDATE signals SET told_status = status WHERE status IN {DECIDED}")
    db.execute(
        "CREATE INDEX idx_signals_untold ON signals (id) "
        f"WHERE status IN {DECIDED} AND told_status IS NOT status"
    )
    db.execute(
        """CREATE TABLE stranger_drops (
            user_id INTEGER NOT NULL,
            hour TEXT NOT NULL,
            chat_id INTEGER,
            first_at TEXT NOT NULL,
            last_at TEXT NOT NULL,
            dropped INTEGER NOT NULL,
            kinds TEXT NOT NULL DEFAULT '{}',
            sample TEXT,
            PRIMARY KEY (user_id, hour)
        )"""
    )
