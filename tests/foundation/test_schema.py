"""The migrated schema: exact tables, columns and indexes, WAL mode, and refusal of pending
migrations."""

from __future__ import annotations

import sqlite3

import pytest

from signaldesk.storage import (
    SchemaError,
    apply_migrations,
    open_current_db,
    open_db,
    pending_migrations,
)

EXPECTED_COLUMNS = {
    "candles": [
        "symbol",
        "interval",
        "open_time",
        "open",
        "high",
        "low",
        "close",
        "volume",
        "source",
        "fetched_at",
    ],
    "signals": [
        "id",
        "created_at",
        "symbol",
        "candle_time",
        "direction",
        "confidence",
        "prob_long",
        "prob_short",
        "confidence_rank",
        "features",
        "model_version",
        "status",
        "reasons",
        "close_price",
        "atr",
        "entry_price",
        "stop_loss",
        "take_profit_1",
        "take_profit_2",
        "size",
        "risk_jpy",
        "expires_at",
        "approved_by",
        "decided_at",
        "decision_note",
        "telegram_chat_id",
        "telegram_message_id",
        "announced_at",
        "outcome_return",
        "outcome_up",
        "resolved_at",
        "told_status",
    ],
    "trades": [
        "id",
        "signal_id",
        "symbol",
        "direction",
        "status",
        "mode",
        "size",
        "filled_size",
        "remaining_size",
        "entry_price",
        "exit_price",
        "stop_loss",
        "take_profit_1",
        "take_profit_2",
        "tp1_done",
        "entry_time",
        "exit_time",
        "time_stop_at",
        "exit_reason",
        "pnl_jpy",
        "pnl_pct",
        "fees_jpy",
        "position_id",
        "created_at",
        "updated_at",
        "initial_stop",
        "exit_requested",
        "origin",
    ],
    "orders": [
        "id",
        "trade_id",
        "purpose",
        "symbol",
        "side",
        "settle",
        "execution_type",
        "time_in_force",
        "price",
        "size",
        "executed_size",
        "status",
        "exchange_order_id",
        "cancel_type",
        "error",
        "attempt",
        "mode",
        "created_at",
        "updated_at",
        "position_id",
        "reason",
        "cancel_reason",
        "posted_at",
        "post_ended_at",
    ],
    "fills": [
        "id",
        "order_id",
        "exchange_execution_id",
        "symbol",
        "side",
        "price",
        "size",
        "fee",
        "realized_pnl",
        "position_id",
        "executed_at",
        "recorded_at",
    ],
    "daily_summary": [
        "date",
        "total_trades",
        "winning_trades",
        "losing_trades",
        "win_rate",
        "total_pnl_jpy",
        "fees_jpy",
        "profit_factor",
        "max_drawdown_jpy",
        "sharpe",
        "signals_generated",
        "signals_approved",
        "signals_rejected",
        "signals_expired",
        "missed_return_pct",
        "equity_jpy",
        "model_auc",
        "created_at",
    ],
    "model_performance": [
        "id",
        "date",
        "model_version",
        "symbol",
        "direction",
        "predictions",
        "positives",
        "accuracy",
        "auc",
        "brier",
        "updated_at",
    ],
    "liquidation_minutes": [
        "symbol",
        "contract",
        "minute",
        "side",
        "count",
        "notional_usd",
        "max_single_usd",
    ],
    "liquidation_spikes": [
        "id",
        "symbol",
        "minute",
        "side",
        "count",
        "notional_usd",
        "baseline_usd",
        "ratio",
        "rule",
        "detected_at",
    ],
    "listener_gaps": ["id", "started_at", "ended_at", "reason"],
    "runs": [
        "id",
        "kind",
        "started_at",
        "finished_at",
        "status",
        "candle_time",
        "symbols",
        "counts",
        "durations",
        "error",
    ],
    "system_state": ["key", "value", "updated_at", "updated_by"],
    "audit_log": ["id", "at", "event", "actor", "detail"],
    "outbox": [
        "id",
        "created_at",
        "severity",
        "kind",
        "text",
        "dedupe_key",
        "sent_at",
        "sent_via",
        "attempts",
        "last_error",
        "notice",
    ],
    "_sqlite_migrations": ["id", "migration_set", "name", "applied_at"],
    # issue 17: the people who decide, by name, and each trade's thread in the chat
    "people": ["user_id", "first_name", "username", "seen_at"],
    "trade_threads": ["trade_id", "chat_id", "message_id", "shown", "closed_told", "updated_at"],
    # the paper exchange's own book-keeping (0002)
    "paper_accounts": ["account", "starting_jpy", "created_at"],
    "paper_balances": ["account", "asset", "amount", "updated_at"],
    "paper_orders": [
        "order_id",
        "account",
        "symbol",
        "side",
        "execution_type",
        "settle_type",
        "time_in_force",
        "size",
        "executed_size",
        "price",
        "losscut_price",
        "status",
        "cancel_type",
        "position_id",
        "bulk",
        "placed_at",
        "active_from",
        "checked_until",
        "updated_at",
        "order_type",
    ],
    "paper_positions": [
        "position_id",
        "account",
        "symbol",
        "side",
        "size",
        "price",
        "losscut_price",
        "opened_at",
        "closed_at",
        "fee_paid_until",
    ],
    "paper_executions": [
        "execution_id",
        "account",
        "order_id",
        "position_id",
        "symbol",
        "side",
        "settle_type",
        "size",
        "price",
        "loss_gain",
        "fee",
        "maker",
        "executed_at",
    ],
    "paper_ledger": ["id", "account", "at", "kind", "asset", "amount", "reference"],
    "stranger_drops": [
        "user_id",
        "hour",
        "chat_id",
        "first_at",
        "last_at",
        "dropped",
        "kinds",
        "sample",
    ],
    # leverage fees per trade, equity snapshots, would-have outcomes (0009)
    "position_fees": [
        "id",
        "trade_id",
        "mode",
        "symbol",
        "position_id",
        "boundary",
        "trading_day",
        "size",
        "close_price",
        "rate",
        "fee_jpy",
        "booked_at",
    ],
    "equity_snapshots": [
        "id",
        "taken_at",
        "mode",
        "equity_jpy",
        "unrealised_jpy",
        "positions",
        "source",
    ],
    "would_have": [
        "signal_id",
        "status",
        "outcome",
        "detail",
        "size",
        "entry_price",
        "entry_time",
        "exit_price",
        "exit_time",
        "exit_reason",
        "fees_jpy",
        "leverage_fees_jpy",
        "pnl_jpy",
        "simulated_at",
    ],
}

EXPECTED_INDEXES = {
    "idx_signals_status_expires",
    "idx_signals_created",
    "idx_signals_unresolved",
    "idx_signals_model_outcomes",
    "idx_signals_untold",
    "idx_trades_status",
    "idx_trades_entry_time",
    "idx_trades_exit_time",
    "idx_trades_mode_status_exit",  # 0013: the risk snapshot's losing streak
    "idx_trades_mode_created",  # 0013: the risk snapshot's trades today
    "idx_orders_status",
    "idx_orders_trade",
    "idx_fills_order",
    "idx_fills_executed",
    "idx_liquidation_spikes_symbol_minute",
    "idx_listener_gaps_started",
    "idx_runs_kind_started",
    "idx_audit_log_at",
    "idx_audit_log_event",
    "idx_outbox_unsent",
    "idx_paper_executions_order",
    "idx_paper_executions_symbol_time",
    "idx_paper_ledger_account_at",
    "idx_paper_orders_active",
    "idx_paper_positions_open",
    "idx_position_fees_boundary",
    "idx__sqlite_migrations_migration_set_name",
}


def _tables(conn) -> dict[str, list[str]]:
    """Return every user table with its columns in order."""
    names = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    return {n: [c[1] for c in conn.execute(f"PRAGMA table_info('{n}')")] for n in names}


def _named_indexes(conn) -> set[str]:
    """Return the explicitly created indexes (not the automatic ones behind UNIQUE/PRIMARY KEY)."""
    return {
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        )
    }


def test_blank_database_migrated_has_exactly_the_expected_schema(tmp_path):
    db = open_db(tmp_path / "fresh.sqlite3")
    apply_migrations(db)
    tables = _tables(db.conn)
    assert tables == EXPECTED_COLUMNS
    assert _named_indexes(db.conn) == EXPECTED_INDEXES
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert (
        db.execute("SELECT value FROM system_state WHERE key = 'trading'").fetchone()[0]
        == "RUNNING"
    )


def test_migrate_is_idempotent(tmp_path):
    db = open_db(tmp_path / "fresh.sqlite3")
    first = apply_migrations(db)
    assert first and first[0] == "0001_initial"
    assert apply_migrations(db) == []
    assert pending_migrations(db) == []


def test_process_refuses_database_with_pending_migrations(tmp_path):
    path = tmp_path / "old.sqlite3"
    open_db(path).close()
    with pytest.raises(SchemaError) as refused:
        open_current_db(path)
    assert "signaldesk migrate" in str(refused.value)
    assert "0001_initial" in str(refused.value)


def test_audit_log_is_append_only(db):
    db.execute(
        "INSERT INTO audit_log (at, event, actor) VALUES ('2026-01-01T00:00:00.000+00:00', 'halt', 'x')"
    )
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM audit_log")


def test_foreign_keys_are_enforced(db):
    with pytest.raises(sqlite3.IntegrityError):
        db.execute(
            "INSERT INTO fills (order_id, symbol, side, price, size, fee, executed_at, recorded_at) "
            "VALUES (999, 'BTC_JPY', 'BUY', '1', '1', '0', 'x', 'x')"
        )
