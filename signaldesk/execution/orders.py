"""Orders at the edge: record the intent, send once, follow fills, and resolve lost answers without re-posting."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from signaldesk.exchange.errors import ExchangeError, OrderOutcomeUnknown, OrderRejected
from signaldesk.exchange.model import (
    CLOSE_SETTLE,
    LIMIT,
    MARKET,
    STOP,
    CloseRequest,
    Order,
    OrderRequest,
    is_leverage,
)
from signaldesk.exchange.reconcile import matches
from signaldesk.execution import notices as say
from signaldesk.execution.plan import realized_pnl, vwap
from signaldesk.execution.records import (
    OrderIntent,
    OrderRow,
    insert_fill,
    insert_intent,
    known_exchange_ids,
    load_order,
    load_trade,
    trade_fills,
    update_order,
)

log = logging.getLogger("signaldesk.execution")
# A lost POST may still be processed by the exchange for a moment; until then "not found" proves nothing.
UNKNOWN_PATIENCE = timedelta(minutes=2)
FINAL = {"EXECUTED": "FILLED", "CANCELED": "CANCELED", "EXPIRED": "EXPIRED"}


def exchange_request(intent: OrderIntent) -> OrderRequest | CloseRequest:
    """Return the exchange request of an intent (a leverage close names its position)."""
    price = intent.price if intent.execution_type in (LIMIT, STOP) else None
    if intent.settle == CLOSE_SETTLE and is_leverage(intent.symbol):
        return CloseRequest(
            intent.symbol,
            intent.side,
            intent.execution_type,
            intent.position_id,
            intent.size,
            price,
            intent.time_in_force,
        )
    return OrderRequest(
        intent.symbol, intent.side, intent.execution_type, intent.size, price, intent.time_in_force
    )


def send(
    db, exchange, mode: str, trade_id: int | None, intent: OrderIntent, now: datetime
) -> tuple[OrderRow, list[str]]:
    """Record the order (PLACING), send it once, record the answer; return the row and notices.

    Never re-sends: a lost answer leaves the row UNKNOWN and is resolved from the exchange's own records.
    """
    order_id = insert_intent(db, trade_id, intent, mode, now)
    request = exchange_request(intent)
    try:
        exchange_id = (
            exchange.close_order(request)
            if isinstance(request, CloseRequest)
            else exchange.place_order(request)
        )
    except OrderOutcomeUnknown as exc:
        update_order(db, order_id, now, status="UNKNOWN", error=str(exc)[:300])
        log.warning("order %s outcome unknown: %s", order_id, exc)
        return load_order(db, order_id), resolve_order(db, exchange, load_order(db, order_id), now)
    except (OrderRejected, ExchangeError) as exc:
        update_order(db, order_id, now, status="REJECTED", error=str(exc)[:300])
        return load_order(db, order_id), [say.rejected(trade_id, intent, str(exc))]
    update_order(db, order_id, now, exchange_order_id=exchange_id, status="OPEN")
    row = load_order(db, order_id)
    notices = sync_orders(db, exchange, [row], now)
    return load_order(db, order_id), [say.placed(trade_id, row), *notices]


def order_status(order: Order) -> str:
    """Return the desk status of an exchange order."""
    if order.status in FINAL:
        return FINAL[order.status]
    return "PARTIAL" if order.executed_size > 0 else "OPEN"


def sync_orders(db, exchange, rows: Sequence[OrderRow], now: datetime) -> list[str]:
    """Bring working orders up to date with the exchange: status, executed size and every fill; return notices."""
    ids = [r.exchange_order_id for r in rows if r.exchange_order_id is not None and not _final(r)]
    fetched: dict[int, Order] = {}
    for start in range(0, len(ids), 10):
        fetched.update({o.order_id: o for o in exchange.orders(ids[start : start + 10])})
    notices: list[str] = []
    for row in rows:
        order = fetched.get(row.exchange_order_id)
        if order is not None:
            notices += apply_exchange_state(db, exchange, row, order, now)
    return notices


def _final(row: OrderRow) -> bool:
    """Return True when an order can no longer change."""
    return row.status in ("FILLED", "CANCELED", "EXPIRED", "REJECTED")


def apply_exchange_state(db, exchange, row: OrderRow, order: Order, now: datetime) -> list[str]:
    """Record the exchange's view of one order and its new fills; return notices of what changed."""
    notices: list[str] = []
    new_fills = (
        record_fills(db, exchange, row, now) if order.executed_size > row.executed_size else []
    )
    status = order_status(order)
    update_order(
        db,
        row.id,
        now,
        status=status,
        executed_size=order.executed_size,
        cancel_type=order.cancel_type,
    )
    if new_fills:
        notices.append(say.filled(row.trade_id, row, order.executed_size, vwap(new_fills)))
    if (
        status in ("CANCELED", "EXPIRED")
        and order.executed_size < row.size
        and row.status != status
    ):
        notices.append(say.ended(row.trade_id, row, status, order.cancel_type))
    return notices


def record_fills(db, exchange, row: OrderRow, now: datetime) -> list:
    """Store the executions of one order not stored yet; closing fills carry their realised P/L."""
    trade = load_trade(db, row.trade_id) if row.trade_id is not None else None
    entry_price = (
        vwap([f for f in trade_fills(db, trade.id) if f.purpose == "entry"]) if trade else None
    )
    new = []
    for execution in exchange.executions(row.exchange_order_id):
        pnl = None
        if row.purpose != "entry" and trade is not None and entry_price is not None:
            pnl = realized_pnl(trade.direction, entry_price, execution.price, execution.size)
        if insert_fill(db, row, execution, pnl, now):
            new.append(execution)
    return new


def cancel(db, exchange, row: OrderRow, now: datetime) -> list[str]:
    """Cancel one working order and record where it ended (it may have filled first)."""
    try:
        exchange.cancel_order(row.exchange_order_id)
    except ExchangeError as exc:
        log.warning("cancel of order %s (%s) failed: %s", row.id, row.exchange_order_id, exc)
    return sync_orders(db, exchange, [load_order(db, row.id)], now)


def reprice(db, exchange, row: OrderRow, price: Decimal, now: datetime) -> list[str]:
    """Move a resting order to a new price; a refusal is logged and the next step tries again."""
    try:
        exchange.change_order(row.exchange_order_id, price)
    except ExchangeError as exc:
        log.warning("price change of order %s failed: %s", row.id, exc)
        return []
    update_order(db, row.id, now, price=price)
    return [say.moved(row.trade_id, row.purpose, price)]


# ---- lost answers ---------------------------------------------------------------------------------------------


def candidates(exchange, row: OrderRow, known: set[int]) -> list[Order]:
    """Return exchange orders not known to the desk that look like this row (active first, then recent fills)."""
    price = row.price if row.execution_type != MARKET else None

    def fits(order: Order) -> bool:
        return (
            order.order_id not in known
            and order.execution_type == row.execution_type
            and matches(order, row.side, row.size, price, row.created_at)
        )

    found = [o for o in exchange.active_orders(row.symbol) if fits(o)]
    if not found:
        recent = sorted({e.order_id for e in exchange.latest_executions(row.symbol)} - known)
        for start in range(0, len(recent), 10):
            found += [o for o in exchange.orders(recent[start : start + 10]) if fits(o)]
    return found


def resolve_order(db, exchange, row: OrderRow, now: datetime) -> list[str]:
    """Find the exchange order behind a PLACING/UNKNOWN row and adopt it, or conclude it was never placed."""
    try:
        found = candidates(exchange, row, known_exchange_ids(db))
    except ExchangeError as exc:
        log.warning("could not resolve order %s yet: %s", row.id, exc)
        return []
    if len(found) == 1:
        update_order(
            db,
            row.id,
            now,
            exchange_order_id=found[0].order_id,
            status="OPEN",
            error=f"outcome was unknown; found on the exchange as {found[0].order_id}",
        )
        notices = sync_orders(db, exchange, [load_order(db, row.id)], now)
        return [
            f"Order #{row.id} of trade #{row.trade_id} had no answer; it is on the exchange as "
            f"{found[0].order_id}.",
            *notices,
        ]
    if len(found) > 1:
        update_order(
            db,
            row.id,
            now,
            status="UNKNOWN",
            error=f"{len(found)} exchange orders match; check by hand",
        )
        return [
            f"Order #{row.id} of trade #{row.trade_id} had no answer and {len(found)} exchange orders match it "
            f"({', '.join(str(o.order_id) for o in found)}); please check them on GMO."
        ]
    if now - row.created_at < UNKNOWN_PATIENCE:
        update_order(db, row.id, now, status="UNKNOWN")
        return []
    update_order(
        db,
        row.id,
        now,
        status="CANCELED",
        error="not found on the exchange: the order was never placed",
    )
    return [
        f"Order #{row.id} of trade #{row.trade_id} had no answer and is not on the exchange: treated as never "
        f"placed."
    ]
