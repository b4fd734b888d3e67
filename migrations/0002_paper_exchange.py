"""Paper exchange: accounts, balances, orders, executions, positions and a money ledger (all
prefixed `paper_`).

Same conventions as 0001: UTC ISO text times, Decimal strings for money and sizes. `account`
separates the paper desk from backtest runs sharing one file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from signaldesk.storage import Database

STATEMENTS = [
    """CREATE TABLE paper_accounts (
        account TEXT PRIMARY KEY,
        starting_jpy TEXT NOT NULL,
        created_at TEXT NOT NULL
    )""",
    """CREATE TABLE paper_balances (
        account TEXT NOT NULL REFERENCES paper_accounts (account),
        asset TEXT NOT NULL,
        amount TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (account, asset)
    ) WITHOUT ROWID""",
    # Orders as GMO would report them; `position_id` is the target of a closeOrder, `bulk` marks a
    # closeBulkOrder; `active_from` is when the order (or its last price change) started resting;
    # `checked_until` is the open time of the last bar already compared with it.
    """CREATE TABLE paper_orders (
        order_id INTEGER PRIMARY KEY,
        account TEXT NOT NULL REFERENCES paper_accounts (account),
        symbol TEXT NOT NULL,
        side TEXT NOT NULL CHECK (side IN ('BUY', 'SELL')),
        execution_type TEXT NOT NULL CHECK (execution_type IN ('LIMIT', 'MARKET', 'STOP')),
        settle_type TEXT NOT NULL CHECK (settle_type IN ('OPEN', 'CLOSE')),
        time_in_force TEXT NOT NULL,
        size TEXT NOT NULL,
        executed_size TEXT NOT NULL DEFAULT '0',
        price TEXT NOT NULL,
        losscut_price TEXT NOT NULL DEFAULT '0',
        status TEXT NOT NULL CHECK (status IN ('WAITING', 'ORDERED', 'MODIFYING', 'CANCELLING', 'CANCELED',
                                               'EXECUTED', 'EXPIRED')),
        cancel_type TEXT,
        position_id INTEGER,
        bulk INTEGER NOT NULL DEFAULT 0,
        placed_at TEXT NOT NULL,
        active_from TEXT NOT NULL,
        checked_until TEXT,
        updated_at TEXT NOT NULL
    )""",
    "CREATE INDEX idx_paper_orders_active ON paper_orders (account, status, symbol)",
    """CREATE TABLE paper_positions (
        position_id INTEGER PRIMARY KEY,
        account TEXT NOT NULL REFERENCES paper_accounts (account),
        symbol TEXT NOT NULL,
        side TEXT NOT NULL CHECK (side IN ('BUY', 'SELL')),
        size TEXT NOT NULL,
        price TEXT NOT NULL,
        losscut_price TEXT NOT NULL DEFAULT '0',
        opened_at TEXT NOT NULL,
        closed_at TEXT,
        fee_paid_until TEXT NOT NULL
    )""",
    "CREATE INDEX idx_paper_positions_open ON paper_positions (account, closed_at, symbol)",
    """CREATE TABLE paper_executions (
        execution_id INTEGER PRIMARY KEY,
        account TEXT NOT NULL REFERENCES paper_accounts (account),
        order_id INTEGER NOT NULL REFERENCES paper_orders (order_id),
        position_id INTEGER,
        symbol TEXT NOT NULL,
        side TEXT NOT NULL CHECK (side IN ('BUY', 'SELL')),
        settle_type TEXT NOT NULL CHECK (settle_type IN ('OPEN', 'CLOSE')),
        size TEXT NOT NULL,
        price TEXT NOT NULL,
        loss_gain TEXT NOT NULL,
        fee TEXT NOT NULL,
        maker INTEGER NOT NULL,
        executed_at TEXT NOT NULL
    )""",
    "CREATE INDEX idx_paper_executions_order ON paper_executions (order_id)",
    "CREATE INDEX idx_paper_executions_symbol_time ON paper_executions (account, symbol, executed_at)",
    # Every change of a balance, with why (deposit, trade, fee, leverage_fee, pnl).
    """CREATE TABLE paper_ledger (
        id INTEGER PRIMARY KEY,
        account TEXT NOT NULL REFERENCES paper_accounts (account),
        at TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('deposit', 'trade', 'fee', 'leverage_fee', 'pnl')),
        asset TEXT NOT NULL,
        amount TEXT NOT NULL,
        reference TEXT
    )""",
    "CREATE INDEX idx_paper_ledger_account_at ON paper_ledger (account, at)",
]


def migrate(db: Database) -> None:
    """Create the paper exchange tables."""
    for statement in STATEMENTS:
        db.execute(statement)
