"""Money told truly: leverage fees booked per trade, equity snapshots, and what unchosen signals
would have made.

- `position_fees`: one row per desk trade, GMO position and 06:00 JST boundary it was held
  across: the size, the trading day's close, the rate and the fee in whole yen
  (signaldesk.fees). Trade P/L, reports and loss limits read these rows; in paper mode they
  equal the paper ledger's `leverage_fee` rows.
- `equity_snapshots`: equity (with unrealised P/L and the open positions) as the cycle saw it,
  every cycle, so a report reads equity at any past moment instead of the moment it is sent.
- `would_have`: the desk's own plan of a signal nobody traded (rejected, expired, filtered,
  blocked) replayed on the candles that followed with the paper exchange and the execution code:
  its JPY outcome.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from signaldesk.storage import Database

STATEMENTS = [
    """CREATE TABLE position_fees (
        id INTEGER PRIMARY KEY,
        trade_id INTEGER NOT NULL REFERENCES trades (id),
        mode TEXT NOT NULL,
        symbol TEXT NOT NULL,
        position_id INTEGER,
        boundary TEXT NOT NULL,
        trading_day TEXT NOT NULL,
        size TEXT NOT NULL,
        close_price TEXT NOT NULL,
        rate TEXT NOT NULL,
        fee_jpy TEXT NOT NULL,
        booked_at TEXT NOT NULL,
        UNIQUE (trade_id, position_id, boundary)
    )""",
    "CREATE INDEX idx_position_fees_boundary ON position_fees (mode, boundary)",
    """CREATE TABLE equity_snapshots (
        id INTEGER PRIMARY KEY,
        taken_at TEXT NOT NULL,
        mode TEXT NOT NULL,
        equity_jpy TEXT NOT NULL,
        unrealised_jpy TEXT NOT NULL,
        positions TEXT NOT NULL DEFAULT '[]',
        source TEXT NOT NULL,
        UNIQUE (mode, taken_at)
    )""",
    """CREATE TABLE would_have (
        signal_id INTEGER PRIMARY KEY REFERENCES signals (id),
        status TEXT NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('closed', 'not_filled', 'refused', 'no_plan')),
        detail TEXT NOT NULL DEFAULT '',
        size TEXT,
        entry_price TEXT,
        entry_time TEXT,
        exit_price TEXT,
        exit_time TEXT,
        exit_reason TEXT,
        fees_jpy TEXT NOT NULL DEFAULT '0',
        leverage_fees_jpy TEXT NOT NULL DEFAULT '0',
        pnl_jpy TEXT NOT NULL DEFAULT '0',
        simulated_at TEXT NOT NULL
    )""",
]


def migrate(db: Database) -> None:
    """Create the fee, equity-snapshot and would-have tables."""
    for statement in STATEMENTS:
        db.execute(statement)
