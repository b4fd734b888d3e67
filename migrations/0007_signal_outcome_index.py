"""A covering index for model accountability: a model's resolved predictions read from the index
alone.

The daily live-AUC check (`outcomes.trailing_auc`, a week of predictions) and `update_performance`
(one symbol's JST day) read only the probabilities and the outcome of each prediction, but with
`idx_signals_model_candle` SQLite fetched every whole row, features and reasons included (~1.5 KB
each): ~5 ms for the week's 1,344 rows. This index carries the columns those queries read, so they
never touch the rows; it replaces the narrower one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from signaldesk.storage import Database


def migrate(db: Database) -> None:
    """Index signals by model, candle time and symbol, with the outcome and both probabilities."""
    db.execute(
        "CREATE INDEX idx_signals_model_outcomes ON signals "
        "(model_version, candle_time, symbol, outcome_return, prob_long, prob_short)"
    )
    db.execute("DROP INDEX idx_signals_model_candle")
