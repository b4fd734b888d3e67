"""Initial schema: the original design's tables plus what ARCHITECTURE.md §6 adds.

Conventions: times are UTC ISO-8601 text with milliseconds (`2026-01-01T00:00:00.000+00:00`), JST
dates are `YYYY-MM-DD` text; prices, sizes, fees and P/L are Decimal strings (TEXT); model scores
and features are REAL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from signaldesk.storage import Database

STATEMENTS = [
    # Market history: closed candles only, one row per symbol, interval and open time.
    """CREATE TABLE candles (
        symbol TEXT NOT NULL,
        interval TEXT NOT NULL,
        open_time TEXT NOT NULL,
        open TEXT NOT NULL,
        high TEXT NOT NULL,
        low TEXT NOT NULL,
        close TEXT NOT NULL,
        volume TEXT NOT NULL,
        source TEXT NOT NULL,
        fetched_at TEXT NOT NULL,
        PRIMARY KEY (symbol, interval, open_time)
    ) WITHOUT ROWID""",
    # One row per symbol and scored candle: prediction, verdict and, when it passed, the proposed
    # trade.
    """CREATE TABLE signals (
        id INTEGER PRIMARY KEY,
        created_at TEXT NOT NULL,
        symbol TEXT NOT NULL,
        candle_time TEXT NOT NULL,
        direction TEXT CHECK (direction IN ('LONG', 'SHORT')),
        confidence REAL,
        prob_long REAL,
        prob_short REAL,
        confidence_rank REAL,
        features TEXT NOT NULL,
        model_version TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('LOGGED', 'FILTERED', 'PENDING', 'APPROVED', 'REJECTED',
                                               'EXPIRED', 'EXECUTED', 'BLOCKED', 'FAILED')),
        reasons TEXT NOT NULL DEFAULT '[]',
        close_price TEXT,
        atr TEXT,
        entry_price TEXT,
        stop_loss TEXT,
        take_profit_1 TEXT,
        take_profit_2 TEXT,
        size TEXT,
        risk_jpy TEXT,
        expires_at TEXT,
        approved_by TEXT,
        decided_at TEXT,
        decision_note TEXT,
        telegram_chat_id INTEGER,
        telegram_message_id INTEGER,
        announced_at TEXT,
        outcome_return REAL,
        outcome_up INTEGER,
        resolved_at TEXT,
        UNIQUE (symbol, candle_time)
    )""",
    "CREATE INDEX idx_signals_status_expires ON signals (status, expires_at)",
    "CREATE INDEX idx_signals_created ON signals (created_at)",
    "CREATE INDEX idx_signals_unresolved ON signals (resolved_at, candle_time)",
    # A trade: the life of one approved signal from entry to exit.
    """CREATE TABLE trades (
        id INTEGER PRIMARY KEY,
        signal_id INTEGER UNIQUE REFERENCES signals (id),
        symbol TEXT NOT NULL,
        direction TEXT NOT NULL CHECK (direction IN ('LONG', 'SHORT')),
        status TEXT NOT NULL CHECK (status IN ('pending', 'open', 'closed', 'cancelled')),
        mode TEXT NOT NULL CHECK (mode IN ('paper', 'live', 'backtest')),
        size TEXT NOT NULL,
        filled_size TEXT NOT NULL DEFAULT '0',
        remaining_size TEXT NOT NULL DEFAULT '0',
        entry_price TEXT,
        exit_price TEXT,
        stop_loss TEXT,
        take_profit_1 TEXT,
        take_profit_2 TEXT,
        tp1_done INTEGER NOT NULL DEFAULT 0,
        entry_time TEXT,
        exit_time TEXT,
        time_stop_at TEXT,
        exit_reason TEXT CHECK (exit_reason IN ('tp1', 'tp2', 'stop_loss', 'time_stop', 'manual', 'emergency')),
        pnl_jpy TEXT,
        pnl_pct TEXT,
        fees_jpy TEXT NOT NULL DEFAULT '0',
        position_id INTEGER,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    "CREATE INDEX idx_trades_status ON trades (status)",
    "CREATE INDEX idx_trades_entry_time ON trades (entry_time)",
    "CREATE INDEX idx_trades_exit_time ON trades (exit_time)",
    # Every order the desk sends; the row exists (PLACING) before the POST, so a crash never loses
    # one.
    """CREATE TABLE orders (
        id INTEGER PRIMARY KEY,
        trade_id INTEGER REFERENCES trades (id),
        purpose TEXT NOT NULL CHECK (purpose IN ('entry', 'stop', 'take_profit_1', 'take_profit_2', 'exit')),
        symbol TEXT NOT NULL,
        side TEXT NOT NULL CHECK (side IN ('BUY', 'SELL')),
        settle TEXT NOT NULL DEFAULT 'OPEN' CHECK (settle IN ('OPEN', 'CLOSE')),
        execution_type TEXT NOT NULL CHECK (execution_type IN ('LIMIT', 'MARKET', 'STOP')),
        time_in_force TEXT,
        price TEXT,
        size TEXT NOT NULL,
        executed_size TEXT NOT NULL DEFAULT '0',
        status TEXT NOT NULL CHECK (status IN ('PLACING', 'OPEN', 'PARTIAL', 'FILLED', 'CANCELED', 'EXPIRED',
                                               'UNKNOWN', 'REJECTED')),
        exchange_order_id INTEGER UNIQUE,
        cancel_type TEXT,
        error TEXT,
        attempt INTEGER NOT NULL DEFAULT 1,
        mode TEXT NOT NULL CHECK (mode IN ('paper', 'live', 'backtest')),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    "CREATE INDEX idx_orders_status ON orders (status)",
    "CREATE INDEX idx_orders_trade ON orders (trade_id)",
    # Every execution reported by the exchange (fee > 0 paid, < 0 maker rebate received).
    """CREATE TABLE fills (
        id INTEGER PRIMARY KEY,
        order_id INTEGER NOT NULL REFERENCES orders (id),
        exchange_execution_id INTEGER UNIQUE,
        symbol TEXT NOT NULL,
        side TEXT NOT NULL CHECK (side IN ('BUY', 'SELL')),
        price TEXT NOT NULL,
        size TEXT NOT NULL,
        fee TEXT NOT NULL,
        realized_pnl TEXT,
        position_id INTEGER,
        executed_at TEXT NOT NULL,
        recorded_at TEXT NOT NULL
    )""",
    "CREATE INDEX idx_fills_order ON fills (order_id)",
    "CREATE INDEX idx_fills_executed ON fills (executed_at)",
    # One row per JST day, written with the morning report.
    """CREATE TABLE daily_summary (
        date TEXT PRIMARY KEY,
        total_trades INTEGER NOT NULL,
        winning_trades INTEGER NOT NULL,
        losing_trades INTEGER NOT NULL,
        win_rate REAL,
        total_pnl_jpy TEXT NOT NULL,
        fees_jpy TEXT NOT NULL,
        profit_factor REAL,
        max_drawdown_jpy TEXT,
        sharpe REAL,
        signals_generated INTEGER NOT NULL,
        signals_approved INTEGER NOT NULL,
        signals_rejected INTEGER NOT NULL,
        signals_expired INTEGER NOT NULL,
        missed_return_pct REAL,
        equity_jpy TEXT,
        model_auc REAL,
        created_at TEXT NOT NULL
    )""",
    # Live accuracy of the model per JST day, version, symbol and direction.
    """CREATE TABLE model_performance (
        id INTEGER PRIMARY KEY,
        date TEXT NOT NULL,
        model_version TEXT NOT NULL,
        symbol TEXT NOT NULL,
        direction TEXT NOT NULL CHECK (direction IN ('LONG', 'SHORT')),
        predictions INTEGER NOT NULL,
        positives INTEGER NOT NULL,
        accuracy REAL,
        auc REAL,
        brier REAL,
        updated_at TEXT NOT NULL,
        UNIQUE (date, model_version, symbol, direction)
    )""",
    # Bybit liquidations aggregated per minute and liquidated side ('long' = longs were liquidated).
    """CREATE TABLE liquidation_minutes (
        symbol TEXT NOT NULL,
        contract TEXT NOT NULL,
        minute TEXT NOT NULL,
        side TEXT NOT NULL CHECK (side IN ('long', 'short')),
        count INTEGER NOT NULL,
        notional_usd TEXT NOT NULL,
        max_single_usd TEXT NOT NULL,
        PRIMARY KEY (symbol, minute, side)
    ) WITHOUT ROWID""",
    """CREATE TABLE liquidation_spikes (
        id INTEGER PRIMARY KEY,
        symbol TEXT NOT NULL,
        minute TEXT NOT NULL,
        side TEXT NOT NULL CHECK (side IN ('long', 'short')),
        count INTEGER NOT NULL,
        notional_usd TEXT NOT NULL,
        baseline_usd TEXT NOT NULL,
        ratio REAL,
        rule TEXT NOT NULL,
        detected_at TEXT NOT NULL,
        UNIQUE (symbol, minute, side)
    )""",
    "CREATE INDEX idx_liquidation_spikes_symbol_minute ON liquidation_spikes (symbol, minute)",
    # Blind time of the listener (the stream has no history).
    """CREATE TABLE listener_gaps (
        id INTEGER PRIMARY KEY,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        reason TEXT NOT NULL
    )""",
    "CREATE INDEX idx_listener_gaps_started ON listener_gaps (started_at)",
    # Every run of a batch job.
    """CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        status TEXT NOT NULL CHECK (status IN ('running', 'ok', 'failed', 'skipped')),
        candle_time TEXT,
        symbols TEXT,
        counts TEXT,
        durations TEXT,
        error TEXT
    )""",
    "CREATE INDEX idx_runs_kind_started ON runs (kind, started_at)",
    # Small shared state: trading RUNNING/HALTED and why, heartbeats, failure counters.
    """CREATE TABLE system_state (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        updated_by TEXT NOT NULL
    )""",
    # Who did what, kept forever (never rotated, append-only).
    """CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        event TEXT NOT NULL,
        actor TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '{}'
    )""",
    "CREATE INDEX idx_audit_log_at ON audit_log (at)",
    "CREATE INDEX idx_audit_log_event ON audit_log (event, at)",
    """CREATE TRIGGER audit_log_append_only_update BEFORE UPDATE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""",
    """CREATE TRIGGER audit_log_append_only_delete BEFORE DELETE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""",
    # Alerts for the bot to deliver (critical loudly, warnings silently).
    """CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        created_at TEXT NOT NULL,
        severity TEXT NOT NULL CHECK (severity IN ('critical', 'warning', 'info')),
        kind TEXT NOT NULL,
        text TEXT NOT NULL,
        dedupe_key TEXT UNIQUE,
        sent_at TEXT,
        sent_via TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT
    )""",
    "CREATE INDEX idx_outbox_unsent ON outbox (sent_at, id)",
]


def migrate(db: Database) -> None:
    """Create the initial tables, indexes and triggers, and seed the trading state."""
    for statement in STATEMENTS:
        db.execute(statement)
    db.execute(
        "INSERT INTO system_state (key, value, updated_at, updated_by) "
        "VALUES ('trading', 'RUNNING', strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'), 'migration')"
    )
