"""Execution: the leverage position a close order acts on, and why an exit order was sent.

A trade can hold several GMO positions (one per entry order after re-quotes), and each needs its own
stop; `orders.position_id` ties a close order to its position. `orders.reason` keeps the exit reason
of an `exit` order (`time_stop`, `manual`, `emergency`, `stop_loss`) so the trade's exit reason is
read, not guessed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from signaldesk.storage import Database


def migrate(db: Database) -> None:
    """Add position_id and reason to orders."""
    db.execute("ALTER TABLE orders ADD COLUMN position_id INTEGER")
    db.execute("ALTER TABLE orders ADD COLUMN reason TEXT")
