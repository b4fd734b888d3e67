"""Lost answers: find the exchange order behind a PLACING/UNKNOWN row at once, never re-posting it.

GMO has no client order id, so a lost order is recognised by what it was (symbol, side, type, size,
price), by when it can have been created (between the row's creation and the end of its POST: the
desk sends one order at a time) and, for a close, by the position it acts on (an execution names its
`positionId`; a resting close shows in its position's `orderdSize`). Rows are matched oldest first,
each to the earliest order that fits it, so two look-alike trades whose answers were both lost each
keep their own order. A close the exchange does not have was never placed: it is marked so at once,
and is still adopted if it shows up within a few minutes. Nothing is ever re-sent for it: an entry
is never re-posted after an unknown outcome, and GMO refuses a second close beyond the closable
size, so a replacement close can never double one that appears late.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from signaldesk.clock import from_db, to_db, utc_now
from signaldesk.exchange.errors import ExchangeError
from signaldesk.exchange.model import LIMIT, STOP, Execution, Order, Position, is_leverage
from signaldesk.execution.notices import Notice
from signaldesk.execution.orders import sync_orders
from signaldesk.execution.records import (
    ORDER_COLUMNS,
    UNRESOLVED,
    OrderRow,
    _order,
    known_exchange_ids,
    load_order,
    orders_with_status,
    update_order,
)

log = logging.getLogger("signaldesk.execution")
CLOCK_SLACK = timedelta(seconds=2)  # GMO stamps orders with its own clock
LATE_WINDOW = timedelta(
    minutes=2
)  # a close found "never placed" is still adopted if it appears this soon
NEVER_PLACED = "not found on the exchange: never placed"


@dataclass
class Evidence:
    """What the exchange says about one symbol: orders the desk does not know, their executions,
    positions."""

    orders: list[Order]
    executions: dict[int, list[Execution]]
    unexplained: dict[int, Decimal] = field(
        default_factory=dict
    )  # resting close size no desk row explains


def gather(db, exchange, symbol: str, with_positions: bool) -> Evidence:
    """Read active orders, latest executions (and open positions) of one symbol; raise
    ExchangeError."""
    known = known_exchange_ids(db)
    active = [o for o in exchange.active_orders(symbol) if o.order_id not in known]
    executions: dict[int, list[Execution]] = {}
    for execution in exchange.latest_executions(symbol):
        if execution.order_id not in known:
            executions.setdefault(execution.order_id, []).append(execution)
    done_ids = sorted(set(executions) - {o.order_id for o in active})
    done: list[Order] = []
    for start in range(0, len(done_ids), 10):
        done += exchange.orders(done_ids[start : start + 10])
    evidence = Evidence(active + done, executions)
    if with_positions and is_leverage(symbol):
        evidence.unexplained = unexplained_close_size(db, exchange.open_positions(symbol))
    return evidence


def unexplained_close_size(db, positions: Sequence[Position]) -> dict[int, Decimal]:
    """Return, per open position, the resting close size beyond the desk's own known working close
    orders."""
    rows = db.execute(
        "SELECT position_id, size, executed_size FROM orders WHERE settle = 'CLOSE' "
        "AND status IN ('OPEN', 'PARTIAL') AND exchange_order_id IS NOT NULL"
    ).fetchall()
    mine: dict[int, Decimal] = {}
    for position_id, size, executed in rows:
        mine[position_id] = mine.get(position_id, Decimal(0)) + Decimal(size) - Decimal(executed)
    return {p.position_id: p.ordered_size - mine.get(p.position_id, Decimal(0)) for p in positions}


def window(db, row: OrderRow) -> tuple[datetime, datetime]:
    """Return the span in which the row's order can have been created: from just before its POST to
    the end of its POST, else (a crash mid-POST) to the desk's next POST after a restart, else now.
    The POST is stamped by the wall clock; the step's time (`created_at`) starts the span when it is
    earlier: the paper exchange's clock is the replayed market's."""
    start = min(row.created_at, row.posted_at or row.created_at)
    if row.post_ended_at is not None:
        return start, row.post_ended_at
    later = db.execute(
        "SELECT MIN(posted_at) FROM orders WHERE id > ? AND posted_at IS NOT NULL", [row.id]
    ).fetchone()[0]
    return start, from_db(later) if later else utc_now()


def shape_fits(order: Order, row: OrderRow) -> bool:
    """Return True when an exchange order looks like the row (spot orders all report settleType
    OPEN)."""
    same_price = row.execution_type not in (LIMIT, STOP) or order.price == row.price
    same_settle = order.settle_type == row.settle or not is_leverage(row.symbol)
    return (
        order.symbol == row.symbol
        and order.side == row.side
        and order.execution_type == row.execution_type
        and order.size == row.size
        and same_price
        and same_settle
    )


def position_fits(order: Order, row: OrderRow, evidence: Evidence) -> bool:
    """Return True when a close order can be the row's: its executions act on the row's position, or
    (resting, unfilled) the position has resting close size nobody else explains."""
    if row.settle != "CLOSE" or not is_leverage(row.symbol):
        return True
    executed = evidence.executions.get(order.order_id, [])
    if executed:
        return all(e.position_id == row.position_id for e in executed)
    if row.position_id is None:  # a close row always names its position; without one nothing fits
        return False
    open_size = order.size - order.executed_size
    return order.is_active and evidence.unexplained.get(row.position_id, Decimal(0)) >= open_size


def match(db, rows: Sequence[OrderRow], evidence: Evidence, now: datetime) -> dict[int, Order]:
    """Return row id -> exchange order, oldest row first, each taking the earliest order that fits
    it."""
    taken: set[int] = set()
    found: dict[int, Order] = {}
    for row in sorted(rows, key=lambda r: (r.created_at, r.id)):
        start, end = window(db, row)
        start, end = start - CLOCK_SLACK, end + CLOCK_SLACK
        fits = [
            o
            for o in sorted(evidence.orders, key=lambda o: (o.timestamp, o.order_id))
            if o.order_id not in taken
            and start <= o.timestamp <= end
            and shape_fits(o, row)
            and position_fits(o, row, evidence)
        ]
        if fits:
            found[row.id] = fits[0]
            taken.add(fits[0].order_id)
            if row.position_id is not None and fits[0].is_active:
                left = fits[0].size - fits[0].executed_size
                evidence.unexplained[row.position_id] = (
                    evidence.unexplained.get(row.position_id, Decimal(0)) - left
                )
    return found


def adopt(db, exchange, row: OrderRow, order: Order, now: datetime) -> list[str]:
    """Record that the row's order is this exchange order and bring it up to date."""
    update_order(
        db,
        row.id,
        now,
        exchange_order_id=order.order_id,
        status="OPEN",
        error=f"outcome was unknown; found on the exchange as {order.order_id}",
    )
    notices = sync_orders(db, exchange, [load_order(db, row.id)], now)
    text = (
        f"Order #{row.id} of trade #{row.trade_id} had no answer; it is on the exchange as "
        f"{order.order_id}."
    )
    found = Notice(text, "answer_found", row.trade_id, purpose=row.purpose, order_id=order.order_id)
    return [found, *notices]


def conclude_missing(db, row: OrderRow, now: datetime) -> list[str]:
    """Mark a row the exchange does not have as never placed (it is still adopted if it shows up
    late)."""
    if row.status == "CANCELED":
        return []
    update_order(db, row.id, now, status="CANCELED", error=NEVER_PLACED)
    text = (
        f"Order #{row.id} of trade #{row.trade_id} had no answer and is not on the exchange: "
        f"treated as never placed."
    )
    return [Notice(text, "never_placed", row.trade_id, purpose=row.purpose)]


def recently_missing(db, mode: str, now: datetime) -> list[OrderRow]:
    """Return close rows concluded 'never placed' within LATE_WINDOW (a late order is still
    adopted)."""
    rows = db.execute(
        f"SELECT {ORDER_COLUMNS} FROM orders WHERE mode = ? AND status = 'CANCELED' AND error = ? "
        "AND exchange_order_id IS NULL AND created_at >= ? ORDER BY id",
        [mode, NEVER_PLACED, to_db(now - LATE_WINDOW)],
    ).fetchall()
    return [_order(r) for r in rows]


def resolve_symbol(db, exchange, rows: Sequence[OrderRow], now: datetime) -> list[str]:
    """Resolve the unresolved (and recently missing) rows of one symbol together; return notices."""
    symbol = rows[0].symbol
    try:
        evidence = gather(db, exchange, symbol, any(r.settle == "CLOSE" for r in rows))
    except ExchangeError as exc:
        log.warning("could not resolve %s orders yet: %s", symbol, exc)
        return []
    found = match(db, rows, evidence, now)
    notices: list[str] = []
    for row in rows:
        if row.id in found:
            notices += adopt(db, exchange, row, found[row.id], now)
        else:
            notices += conclude_missing(db, row, now)
    return notices


def resolve_all(db, exchange, mode: str, now: datetime) -> list[str]:
    """Resolve every order whose POST outcome is unknown (PLACING after a crash, UNKNOWN after a
    lost answer)."""
    rows = orders_with_status(db, mode, UNRESOLVED) + recently_missing(db, mode, now)
    notices: list[str] = []
    for symbol in sorted({r.symbol for r in rows}):
        notices += resolve_symbol(db, exchange, [r for r in rows if r.symbol == symbol], now)
    return notices


def resolve_order(db, exchange, row: OrderRow, now: datetime) -> list[str]:
    """Resolve one lost answer at once, together with every other unresolved row of its symbol."""
    rows = [
        r
        for r in orders_with_status(db, _mode_of(db, row.id), UNRESOLVED)
        if r.symbol == row.symbol
    ]
    return resolve_symbol(db, exchange, rows or [row], now)


def _mode_of(db, order_id: int) -> str:
    """Return the mode (paper/live) of one order row."""
    return db.execute("SELECT mode FROM orders WHERE id = ?", [order_id]).fetchone()[0]
