"""An index for the live-AUC check: resolved predictions of one model since a moment.

`outcomes.trailing_auc` runs every cycle and reads a model's predictions of the last 7 days; without
this index it scans the whole signals table (70,000 rows a year for two symbols): 36 ms a cycle
after six months, 5 ms with it (measured on the 2025-H1 backtest database).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from signaldesk.storage import Database


def migrate(db: Database) -> None:
    """Index signals by model version and candle time."""
    db.execute("CREATE INDEX idx_signals_model_candle ON signals (model_version, candle_time)")
