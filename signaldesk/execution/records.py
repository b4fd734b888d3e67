"""Trade, order and fill rows: reading them into typed records and writing their changes (tables
trades/orders/fills)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from signaldesk import signals
from signaldesk.clock import from_db, to_db, utc_now
from signaldesk.columns import decimal_or_none, decimal_text, time_or_none, to_column
from signaldesk.storage import writing

WORKING = ("OPEN", "PARTIAL")
UNRESOLVED = ("PLACING", "UNKNOWN")
ORDER_REJECTED = "REJECTED"  # the exchange refused the order: it never existed there
CLOSING_PURPOSES = ("stop", "take_profit_1", "take_profit_2", "exit")


@dataclass(frozen=True)
class TradeRow:
    """One row of `trades`."""

    id: int
    signal_id: int | None
    symbol: str
    direction: str
    status: str
    mode: str
    size: Decimal
    filled_size: Decimal
    remaining_size: Decimal
    entry_price: Decimal | None
    exit_price: Decimal | None
    stop_loss: Decimal
    take_profit_1: Decimal
    take_profit_2: Decimal
    tp1_done: bool
    entry_time: datetime | None
    exit_time: datetime | None
    time_stop_at: datetime | None
    exit_reason: str | None
    pnl_jpy: Decimal | None
    pnl_pct: Decimal | None
    fees_jpy: Decimal
    created_at: datetime
    initial_stop: Decimal | None = None
    exit_requested: str | None = None
    origin: str = "signal"

    @property
    def is_active(self) -> bool:
        """Return True while the trade is pending or open."""
        return self.status in ("pending", "open")


TRADE_COLUMNS = (
    "id, signal_id, symbol, direction, status, mode, size, filled_size, remaining_size, entry_price, "
    "exit_price, stop_loss, take_profit_1, take_profit_2, tp1_done, entry_time, exit_time, time_stop_at, "
    "exit_reason, pnl_jpy, pnl_pct, fees_jpy, created_at, initial_stop, exit_requested, origin"
)


def _trade(row) -> TradeRow:
    """Build a TradeRow from a SELECT of TRADE_COLUMNS."""
    (
        tid,
        sid,
        symbol,
        direction,
        status,
        mode,
        size,
        filled,
        remaining,
        entry,
        exit_,
        stop,
        tp1,
        tp2,
        tp1_done,
        entry_time,
        exit_time,
        time_stop_at,
        reason,
        pnl,
        pct,
        fees,
        created,
        initial_stop,
        exit_requested,
        origin,
    ) = row
    return TradeRow(
        tid,
        sid,
        symbol,
        direction,
        status,
        mode,
        Decimal(size),
        Decimal(filled),
        Decimal(remaining),
        decimal_or_none(entry),
        decimal_or_none(exit_),
        Decimal(stop),
        Decimal(tp1),
        Decimal(tp2),
        bool(tp1_done),
        time_or_none(entry_time),
        time_or_none(exit_time),
        time_or_none(time_stop_at),
        reason,
        decimal_or_none(pnl),
        decimal_or_none(pct),
        Decimal(fees),
        from_db(created),
        decimal_or_none(initial_stop),
        exit_requested,
        origin,
    )


@dataclass(frozen=True)
class OrderRow:
    """One row of `orders`."""

    id: int
    trade_id: int | None
    purpose: str
    symbol: str
    side: str
    settle: str
    execution_type: str
    time_in_force: str | None
    price: Decimal | None
    size: Decimal
    executed_size: Decimal
    status: str
    exchange_order_id: int | None
    cancel_type: str | None
    error: str | None
    attempt: int
    position_id: int | None
    reason: str | None
    created_at: datetime
    cancel_reason: str | None = None
    posted_at: datetime | None = None
    post_ended_at: datetime | None = None

    @property
    def is_working(self) -> bool:
        """Return True while the order rests on the exchange and can still fill."""
        return self.status in WORKING

    @property
    def is_cancelling(self) -> bool:
        """Return True while the desk has asked to cancel this order and the exchange has not
        confirmed it."""
        return self.is_working and self.cancel_reason is not None

    @property
    def protects(self) -> bool:
        """Return True for a resting stop that is not being cancelled: cover on the exchange."""
        return self.purpose == "stop" and self.is_working and self.cancel_reason is None

    @property
    def is_unresolved(self) -> bool:
        """Return True while we do not know whether the exchange has this order."""
        return self.status in UNRESOLVED

    @property
    def open_size(self) -> Decimal:
        """Return the size not yet filled."""
        return self.size - self.executed_size


ORDER_COLUMNS = (
    "id, trade_id, purpose, symbol, side, settle, execution_type, time_in_force, price, size, "
    "executed_size, status, exchange_order_id, cancel_type, error, attempt, position_id, reason, created_at, "
    "cancel_reason, posted_at, post_ended_at"
)


def _order(row) -> OrderRow:
    """Build an OrderRow from a SELECT of ORDER_COLUMNS."""
    (
        oid,
        tid,
        purpose,
        symbol,
        side,
        settle,
        etype,
        tif,
        price,
        size,
        executed,
        status,
        xid,
        cancel_type,
        error,
        attempt,
        position_id,
        reason,
        created,
        cancel_reason,
        posted_at,
        post_ended_at,
    ) = row
    return OrderRow(
        oid,
        tid,
        purpose,
        symbol,
        side,
        settle,
        etype,
        tif,
        decimal_or_none(price),
        Decimal(size),
        Decimal(executed),
        status,
        xid,
        cancel_type,
        error,
        attempt,
        position_id,
        reason,
        from_db(created),
        cancel_reason,
        time_or_none(posted_at),
        time_or_none(post_ended_at),
    )


@dataclass(frozen=True)
class FillRow:
    """One row of `fills` with the purpose of its order."""

    order_id: int
    purpose: str
    exchange_execution_id: int | None
    side: str
    price: Decimal
    size: Decimal
    fee: Decimal
    realized_pnl: Decimal | None
    position_id: int | None
    executed_at: datetime


@dataclass(frozen=True)
class OrderIntent:
    """An order the desk is about to send; becomes an `orders` row (PLACING) before the POST."""

    purpose: str
    symbol: str
    side: str
    settle: str
    execution_type: str
    size: Decimal
    price: Decimal | None = None
    time_in_force: str | None = None
    position_id: int | None = None
    reason: str | None = None
    attempt: int = 1
    losscut_price: Decimal | None = None


def load_trade(db, trade_id: int) -> TradeRow | None:
    """Return one trade, or None."""
    row = db.execute(f"SELECT {TRADE_COLUMNS} FROM trades WHERE id = ?", [trade_id]).fetchone()
    return _trade(row) if row else None


def existing_trade(db, trade_id: int) -> TradeRow:
    """Return one trade the caller knows exists; raise ValueError naming the id when it does not."""
    trade = load_trade(db, trade_id)
    if trade is None:
        raise ValueError(f"trade #{trade_id} does not exist")
    return trade


def load_trade_for_signal(db, signal_id: int) -> TradeRow | None:
    """Return the trade of a signal, or None."""
    row = db.execute(
        f"SELECT {TRADE_COLUMNS} FROM trades WHERE signal_id = ?", [signal_id]
    ).fetchone()
    return _trade(row) if row else None


def active_trades(db, mode: str) -> list[TradeRow]:
    """Return pending and open trades of a mode, oldest first."""
    rows = db.execute(
        f"SELECT {TRADE_COLUMNS} FROM trades WHERE mode = ? AND status IN ('pending', 'open') "
        "ORDER BY id",
        [mode],
    ).fetchall()
    return [_trade(r) for r in rows]


def trade_orders(db, trade_id: int) -> list[OrderRow]:
    """Return every order of a trade, oldest first."""
    rows = db.execute(
        f"SELECT {ORDER_COLUMNS} FROM orders WHERE trade_id = ? ORDER BY id", [trade_id]
    ).fetchall()
    return [_order(r) for r in rows]


def orders_with_status(db, mode: str, statuses: tuple[str, ...]) -> list[OrderRow]:
    """Return every order of a mode in one of the statuses, oldest first."""
    marks = ",".join("?" * len(statuses))
    rows = db.execute(
        f"SELECT {ORDER_COLUMNS} FROM orders WHERE mode = ? AND status IN ({marks}) ORDER BY id",
        [mode, *statuses],
    ).fetchall()
    return [_order(r) for r in rows]


def load_order(db, order_id: int) -> OrderRow:
    """Return one order."""
    return _order(
        db.execute(f"SELECT {ORDER_COLUMNS} FROM orders WHERE id = ?", [order_id]).fetchone()
    )


def trade_fills(db, trade_id: int) -> list[FillRow]:
    """Return every fill of a trade with its order's purpose, in execution order."""
    rows = db.execute(
        "SELECT f.order_id, o.purpose, f.exchange_execution_id, f.side, f.price, f.size, f.fee, f.realized_pnl, "
        "f.position_id, f.executed_at FROM fills f JOIN orders o ON o.id = f.order_id WHERE o.trade_id = ? "
        "ORDER BY f.executed_at, f.id",
        [trade_id],
    ).fetchall()
    return [
        FillRow(
            r[0],
            r[1],
            r[2],
            r[3],
            Decimal(r[4]),
            Decimal(r[5]),
            Decimal(r[6]),
            decimal_or_none(r[7]),
            r[8],
            from_db(r[9]),
        )
        for r in rows
    ]


def known_exchange_ids(db) -> set[int]:
    """Return every exchange order id the desk has recorded."""
    return {
        r[0]
        for r in db.execute(
            "SELECT exchange_order_id FROM orders WHERE exchange_order_id IS NOT NULL"
        )
    }


def insert_trade(
    db, signal_id: int, symbol: str, direction: str, mode: str, size: Decimal, levels, now: datetime
) -> int:
    """Insert a pending trade for a signal and return its id."""
    with writing(db):
        cursor = db.execute(
            "INSERT INTO trades (signal_id, symbol, direction, status, mode, size, stop_loss, initial_stop, "
            "take_profit_1, take_profit_2, created_at, updated_at) "
            "VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                signal_id,
                symbol,
                direction,
                mode,
                decimal_text(size),
                decimal_text(levels.stop_loss),
                decimal_text(levels.stop_loss),
                decimal_text(levels.take_profit_1),
                decimal_text(levels.take_profit_2),
                to_db(now),
                to_db(now),
            ],
        )
    return cursor.lastrowid


def insert_intent(db, trade_id: int | None, intent: OrderIntent, mode: str, now: datetime) -> int:
    """Record an order as PLACING before it is sent; return the row id."""
    with writing(db):
        cursor = db.execute(
            "INSERT INTO orders (trade_id, purpose, symbol, side, settle, execution_type, time_in_force, price, size, "
            "status, attempt, mode, position_id, reason, created_at, updated_at, posted_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'PLACING', ?, ?, ?, ?, ?, ?, ?)",
            [
                trade_id,
                intent.purpose,
                intent.symbol,
                intent.side,
                intent.settle,
                intent.execution_type,
                intent.time_in_force,
                decimal_text(intent.price),
                decimal_text(intent.size),
                intent.attempt,
                mode,
                intent.position_id,
                intent.reason,
                to_db(now),
                to_db(now),
                to_db(utc_now()),  # the wall clock: the exchange stamps the order with its own
            ],
        )
    return cursor.lastrowid


def update_order(db, order_id: int, now: datetime, **values) -> None:
    """Set columns of one order (Decimals stored as text)."""
    _update(db, "orders", order_id, now, values)


def update_trade(db, trade_id: int, now: datetime, **values) -> None:
    """Set columns of one trade (Decimals stored as text, datetimes as UTC text)."""
    _update(db, "trades", trade_id, now, values)


def _update(db, table: str, row_id: int, now: datetime, values: dict) -> None:
    """Update one row by id, converting Decimals and datetimes to the database's text."""
    if not values:
        return
    converted = {k: to_column(v) for k, v in values.items()}
    sets = ", ".join(f"{k} = ?" for k in converted)
    with writing(db):
        db.execute(
            f"UPDATE {table} SET {sets}, updated_at = ? WHERE id = ?",
            [*converted.values(), to_db(now), row_id],
        )


def insert_fill(
    db, order: OrderRow, execution, realized_pnl: Decimal | None, now: datetime
) -> bool:
    """Record one execution of an order once; return True when it was new."""
    with writing(db):
        cursor = db.execute(
            "INSERT INTO fills (order_id, exchange_execution_id, symbol, side, price, size, fee, realized_pnl, "
            "position_id, executed_at, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (exchange_execution_id) DO NOTHING",
            [
                order.id,
                execution.execution_id,
                execution.symbol,
                execution.side,
                decimal_text(execution.price),
                decimal_text(execution.size),
                decimal_text(execution.fee),
                decimal_text(realized_pnl),
                execution.position_id,
                to_db(execution.timestamp),
                to_db(now),
            ],
        )
    return cursor.rowcount == 1


def executed_signals_of_trades(db) -> list[str]:
    """Mark APPROVED signals that already have a trade as EXECUTED (after a crash mid-execution);
    return notices."""
    notices = []
    for signal_id, trade_id in signals.approved_with_trade(db):
        if signals.move(
            db, signal_id, signals.EXECUTED, append_note=f"trade #{trade_id} (recovered)"
        ):
            notices.append(
                f"Signal #{signal_id} was mid-execution at a restart; its trade #{trade_id} is live."
            )
    return notices


def insert_adopted_trade(
    db, position, levels, mode: str, exit_requested: str | None, now: datetime
) -> int:
    """Record an exchange position found without a desk trade as an open trade of origin `adopted`:
    the trade, a filled entry order standing for whatever opened it, and one fill of the position's
    size and price."""
    direction = "LONG" if position.side == "BUY" else "SHORT"
    with writing(db):
        trade_id = db.execute(
            "INSERT INTO trades (symbol, direction, status, mode, size, filled_size, remaining_size, "
            "entry_price, stop_loss, initial_stop, take_profit_1, take_profit_2, entry_time, position_id, "
            "exit_requested, origin, created_at, updated_at) "
            "VALUES (?, ?, 'open', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'adopted', ?, ?)",
            [
                position.symbol,
                direction,
                mode,
                *[decimal_text(position.size)] * 3,
                decimal_text(position.price),
                decimal_text(levels.stop_loss),
                decimal_text(levels.stop_loss),
                decimal_text(levels.take_profit_1),
                decimal_text(levels.take_profit_2),
                to_db(now),
                position.position_id,
                exit_requested,
                to_db(now),
                to_db(now),
            ],
        ).lastrowid
        order_id = db.execute(
            "INSERT INTO orders (trade_id, purpose, symbol, side, settle, execution_type, size, executed_size, "
            "status, mode, position_id, reason, created_at, updated_at) "
            "VALUES (?, 'entry', ?, ?, 'OPEN', 'MARKET', ?, ?, 'FILLED', ?, ?, 'adopted', ?, ?)",
            [
                trade_id,
                position.symbol,
                position.side,
                decimal_text(position.size),
                decimal_text(position.size),
                mode,
                position.position_id,
                to_db(now),
                to_db(now),
            ],
        ).lastrowid
        db.execute(
            "INSERT INTO fills (order_id, symbol, side, price, size, fee, position_id, executed_at, "
            "recorded_at) VALUES (?, ?, ?, ?, ?, '0', ?, ?, ?)",
            [
                order_id,
                position.symbol,
                position.side,
                decimal_text(position.price),
                decimal_text(position.size),
                position.position_id,
                to_db(now),
                to_db(now),
            ],
        )
    return trade_id


def insert_foreign_close(
    db, trade: TradeRow, order, position_id: int, reason: str, now: datetime, purpose: str = "exit"
) -> OrderRow:
    """Record a close the exchange made on a desk position (GMO's loss-cut, or a person on the
    website) as a filled exit order of the trade; its fills are recorded like any other order's."""
    with writing(db):
        order_id = db.execute(
            "INSERT INTO orders (trade_id, purpose, symbol, side, settle, execution_type, price, size, "
            "status, exchange_order_id, mode, position_id, reason, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, 'CLOSE', ?, ?, ?, 'OPEN', ?, ?, ?, ?, ?, ?)",
            [
                trade.id,
                purpose,
                trade.symbol,
                order.side,
                order.execution_type,
                decimal_text(order.price) if order.execution_type != "MARKET" else None,
                decimal_text(order.size),
                order.order_id,
                trade.mode,
                position_id,
                reason,
                to_db(now),
                to_db(now),
            ],
        ).lastrowid
    return load_order(db, order_id)
