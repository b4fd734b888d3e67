"""Orders at the edge: round and record the intent, send once, follow fills and cancels, never
re-post."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from signaldesk.clock import utc_now
from signaldesk.exchange.errors import ExchangeError, OrderOutcomeUnknown, OrderRejected
from signaldesk.exchange.model import (
    BUY,
    CLOSE_SETTLE,
    LIMIT,
    SELL,
    STOP,
    CloseRequest,
    Order,
    OrderRequest,
    SymbolRules,
    is_leverage,
)
from signaldesk.exchange.precision import order_price, protective_price, round_size
from signaldesk.execution import notices as say
from signaldesk.execution.plan import realized_pnl, vwap
from signaldesk.execution.records import (
    OrderIntent,
    OrderRow,
    insert_fill,
    insert_intent,
    load_order,
    load_trade,
    trade_fills,
    update_order,
)

log = logging.getLogger("signaldesk.execution")
FINAL = {"EXECUTED": "FILLED", "CANCELED": "CANCELED", "EXPIRED": "EXPIRED"}
# GMO cancels asynchronously (CANCELLING, then CANCELED): how long one step waits for the
# confirmation.
CANCEL_WAITS = (0.05, 0.1, 0.2, 0.3, 0.4)


def on_grid(intent: OrderIntent, rules: SymbolRules) -> OrderIntent:
    """Return the intent with its size on the step and its prices on the tick, each in the safe
    direction."""
    price = intent.price
    if price is not None and intent.execution_type in (LIMIT, STOP):
        price = order_price(price, intent.side, intent.execution_type, rules)
    losscut = intent.losscut_price
    if losscut is not None:
        losscut = protective_price(losscut, SELL if intent.side == BUY else BUY, rules)
    size = round_size(intent.size, rules)
    return dataclasses.replace(intent, size=size, price=price, losscut_price=losscut)


def exchange_request(intent: OrderIntent) -> OrderRequest | CloseRequest:
    """Return the exchange request of an intent (a leverage close names its position; raise
    ValueError for one that names none)."""
    price = intent.price if intent.execution_type in (LIMIT, STOP) else None
    if intent.settle == CLOSE_SETTLE and is_leverage(intent.symbol):
        if intent.position_id is None:
            raise ValueError(f"{intent.purpose} close of {intent.symbol} names no position")
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
        intent.symbol,
        intent.side,
        intent.execution_type,
        intent.size,
        price,
        intent.time_in_force,
        intent.losscut_price,
    )


def send(
    db, exchange, mode: str, trade_id: int | None, intent: OrderIntent, now: datetime
) -> tuple[OrderRow, list[str]]:
    """Round the order onto the symbol's grid, record it (PLACING), send it once and record the
    answer.

    Never re-sends: a lost answer leaves the row UNKNOWN and is resolved from the exchange's own
    records.
    """
    intent = on_grid(intent, exchange.symbol_rules()[intent.symbol])
    request = exchange_request(intent)
    order_id = insert_intent(db, trade_id, intent, mode, now)
    try:
        exchange_id = (
            exchange.close_order(request)
            if isinstance(request, CloseRequest)
            else exchange.place_order(request)
        )
    except OrderOutcomeUnknown as exc:
        # the wall clock, like `posted_at`: together they bound the order's creation
        ended = utc_now()
        update_order(db, order_id, now, status="UNKNOWN", error=str(exc)[:300], post_ended_at=ended)
        log.warning("order %s outcome unknown: %s", order_id, exc)
        from signaldesk.execution.resolve import resolve_order

        return load_order(db, order_id), resolve_order(db, exchange, load_order(db, order_id), now)
    except (OrderRejected, ExchangeError) as exc:
        update_order(db, order_id, now, status="REJECTED", error=str(exc)[:300])
        return load_order(db, order_id), [say.rejected(trade_id, intent, str(exc))]
    update_order(db, order_id, now, exchange_order_id=exchange_id, status="OPEN")
    row = load_order(db, order_id)
    # a stop rests until the market reaches it; any other order may have traded on arrival
    notices = [] if intent.execution_type == STOP else sync_orders(db, exchange, [row], now)
    return load_order(db, order_id), [say.placed(trade_id, row), *notices]


def order_status(order: Order) -> str:
    """Return the desk status of an exchange order (CANCELLING stays working until GMO confirms
    it)."""
    if order.status in FINAL:
        return FINAL[order.status]
    return "PARTIAL" if order.executed_size > 0 else "OPEN"


def sync_orders(db, exchange, rows: Sequence[OrderRow], now: datetime) -> list[str]:
    """Bring orders up to date with the exchange: status, executed size and every fill; return
    notices."""
    ids = [r.exchange_order_id for r in rows if r.exchange_order_id is not None and not _final(r)]
    fetched: dict[int, Order] = {}
    for start in range(0, len(ids), 10):
        fetched.update({o.order_id: o for o in exchange.orders(ids[start : start + 10])})
    notices: list[str] = []
    for row in rows:
        order = None if row.exchange_order_id is None else fetched.get(row.exchange_order_id)
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
    columns = {
        "status": status,
        "executed_size": order.executed_size,
        "cancel_type": order.cancel_type,
    }
    if row.cancel_reason and order.is_active and order.status != "CANCELLING":
        # the cancel never took (refused, or the desk died sending it): the order protects again
        columns["cancel_reason"] = None
    update_order(db, row.id, now, **columns)
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


def cancel(
    db, exchange, row: OrderRow, now: datetime, why: str = "cancelled by the desk", sleep=time.sleep
) -> list[str]:
    """Ask the exchange to cancel one working order (the reason is recorded first), then record
    where it is: CANCELLING stays working until GMO confirms; it may also have filled first. An
    order GMO is still MODIFYING refuses a cancel (ERR-5122): it is asked again a moment later."""
    update_order(db, row.id, now, cancel_reason=why[:200])
    for pause in (0, *CANCEL_WAITS[:3]):
        sleep(pause)
        try:
            exchange.cancel_order(row.exchange_order_id)
        except (
            OrderRejected
        ) as exc:  # ERR-5122: cancelling, modifying or final; the read says which
            log.info("cancel of order %s (%s): %s", row.id, row.exchange_order_id, exc)
        except ExchangeError as exc:  # may not have arrived: the order still rests and protects
            update_order(db, row.id, now, cancel_reason=None)
            log.warning("cancel of order %s (%s) failed: %s", row.id, row.exchange_order_id, exc)
            return []
        found = exchange.orders([row.exchange_order_id])
        if not any(o.status == "MODIFYING" for o in found):
            break
    notices = [
        n for o in found for n in apply_exchange_state(db, exchange, load_order(db, row.id), o, now)
    ]
    if any(o.is_active and o.status != "CANCELLING" for o in found):
        update_order(db, row.id, now, cancel_reason=None)  # refused: the order still protects
    return notices


def await_cancels(
    db, exchange, order_ids: Sequence[int], now: datetime, sleep=time.sleep
) -> list[str]:
    """Wait briefly (about a second at most) until the exchange confirms the cancels; return
    notices."""
    notices: list[str] = []
    for pause in CANCEL_WAITS:
        waiting = [load_order(db, i) for i in order_ids]
        waiting = [r for r in waiting if r.is_cancelling]
        if not waiting:
            break
        sleep(pause)
        notices += sync_orders(db, exchange, waiting, now)
    return notices


def reprice(db, exchange, row: OrderRow, price: Decimal, now: datetime) -> list[str]:
    """Move a resting order to a new price; a refusal is logged and the next step tries again."""
    rules = exchange.symbol_rules()[row.symbol]
    price = order_price(price, row.side, row.execution_type, rules)
    try:
        exchange.change_order(row.exchange_order_id, price, symbol=row.symbol)
    except OrderRejected as exc:
        log.warning("price change of order %s failed: %s", row.id, exc)
        return []
    update_order(db, row.id, now, price=price)
    return [say.moved(row.trade_id, row.purpose, price)]


def move_losscut(db, exchange, symbol: str, position_id: int, price: Decimal) -> list[str]:
    """Set a position's loss-cut price on the exchange; a refusal is logged (the old one keeps
    guarding)."""
    try:
        exchange.change_losscut_price(position_id, price, symbol=symbol)
    except OrderRejected as exc:
        log.warning("loss-cut change of position %s failed: %s", position_id, exc)
    return []
