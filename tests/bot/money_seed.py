"""Seeded money rows for report and command tests: a closed trade with its orders and fills (so the
ledger and the trade agree), a leverage fee, an equity snapshot, a would-have outcome. Hand-made,
labelled synthetic."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal

from signaldesk.clock import to_db


def _insert(db, table: str, row: dict) -> int:
    with db.conn:
        cursor = db.conn.execute(
            f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
            list(row.values()),
        )
    return cursor.lastrowid


def seed_closed_trade(
    db,
    exit_time: datetime,
    gross: str,
    fee: str = "0",
    leverage_fee: str = "0",
    symbol: str = "BTC_JPY",
    direction: str = "LONG",
    reason: str = "tp2",
    held: timedelta = timedelta(hours=2),
    position_id: int | None = None,
    fee_at: datetime | None = None,
) -> int:
    """Insert a closed trade whose entry and exit fills and (optional) leverage fee (booked at
    `fee_at`, by default a minute after the entry) add up to its P/L."""
    entry_time = exit_time - held
    net = Decimal(gross) - Decimal(fee) - Decimal(leverage_fee)
    trade_id = _insert(
        db,
        "trades",
        {
            "symbol": symbol,
            "direction": direction,
            "status": "closed",
            "mode": "paper",
            "size": "0.01",
            "filled_size": "0.01",
            "remaining_size": "0",
            "entry_price": "15000000",
            "exit_price": "15100000",
            "stop_loss": "14900000",
            "take_profit_1": "15100000",
            "take_profit_2": "15200000",
            "entry_time": to_db(entry_time),
            "exit_time": to_db(exit_time),
            "exit_reason": reason,
            "pnl_jpy": str(net),
            "pnl_pct": str((net / Decimal("150000") * 100).quantize(Decimal("0.0001"))),
            "fees_jpy": str(Decimal(fee) + Decimal(leverage_fee)),
            "position_id": position_id,
            "created_at": to_db(entry_time),
            "updated_at": to_db(exit_time),
        },
    )
    for purpose, at, pnl, side in (
        ("entry", entry_time, None, "BUY"),
        ("take_profit_2", exit_time, gross, "SELL"),
    ):
        order = _insert(
            db,
            "orders",
            {
                "trade_id": trade_id,
                "purpose": purpose,
                "symbol": symbol,
                "side": side,
                "settle": "OPEN" if purpose == "entry" else "CLOSE",
                "execution_type": "LIMIT",
                "size": "0.01",
                "executed_size": "0.01",
                "status": "FILLED",
                "mode": "paper",
                "position_id": position_id,
                "created_at": to_db(at),
                "updated_at": to_db(at),
            },
        )
        _insert(
            db,
            "fills",
            {
                "order_id": order,
                "symbol": symbol,
                "side": side,
                "price": "15000000",
                "size": "0.01",
                "fee": "0" if purpose == "entry" else fee,
                "realized_pnl": pnl,
                "position_id": position_id,
                "executed_at": to_db(at),
                "recorded_at": to_db(at),
            },
        )
    if Decimal(leverage_fee):
        at = fee_at or entry_time + timedelta(minutes=1)
        seed_fee(db, trade_id, at, leverage_fee, symbol, position_id)
    return trade_id


def seed_fee(db, trade_id: int, boundary: datetime, fee: str, symbol="BTC_JPY", position_id=None):
    """Insert one booked leverage fee at a boundary."""
    _insert(
        db,
        "position_fees",
        {
            "trade_id": trade_id,
            "mode": "paper",
            "symbol": symbol,
            "position_id": position_id,
            "boundary": to_db(boundary),
            "trading_day": boundary.date().isoformat(),
            "size": "0.01",
            "close_price": "15000000",
            "rate": "0.0004",
            "fee_jpy": fee,
            "booked_at": to_db(boundary),
        },
    )


def seed_snapshot(db, at: datetime, equity: str, unrealised: str = "0", positions=()) -> None:
    """Insert one paper equity snapshot."""
    _insert(
        db,
        "equity_snapshots",
        {
            "taken_at": to_db(at),
            "mode": "paper",
            "equity_jpy": equity,
            "unrealised_jpy": unrealised,
            "positions": json.dumps(list(positions)),
            "source": "test",
        },
    )


def seed_would_have(db, signal_id: int, outcome: str, pnl: str, reason: str | None = "stop_loss"):
    """Insert one would-have outcome."""
    _insert(
        db,
        "would_have",
        {
            "signal_id": signal_id,
            "status": "REJECTED",
            "outcome": outcome,
            "exit_reason": reason if outcome == "closed" else None,
            "pnl_jpy": pnl,
            "simulated_at": "2026-03-10T00:00:00.000+00:00",
        },
    )
