"""Resolving an order POST whose answer was lost: read active orders and latest executions, never re-post."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from signaldesk.exchange.base import Exchange
from signaldesk.exchange.model import Order

# GMO stamps orders with its own clock; allow for a little skew between our `placed_after` and theirs.
CLOCK_SLACK = timedelta(seconds=5)


def matches(
    order: Order, side: str, size: Decimal, price: Decimal | None, placed_after: datetime
) -> bool:
    """Return True when an order looks like the one we sent (same side, size, price; placed after we sent it)."""
    same_price = price is None or order.price == price
    return (
        order.side == side
        and order.size == size
        and same_price
        and order.timestamp >= placed_after - CLOCK_SLACK
    )


def resolve_unknown_order(
    exchange: Exchange,
    symbol: str,
    side: str,
    size: Decimal,
    price: Decimal | None,
    placed_after: datetime,
) -> Order | None:
    """Return the order a lost POST created (resting or already filled), or None when GMO has no such order.

    Looks first at active orders, then at the orders behind the latest executions. Raises the exchange's
    errors if it cannot read them: the caller keeps the order UNKNOWN and tries again later.
    """
    candidates = [
        o for o in exchange.active_orders(symbol) if matches(o, side, size, price, placed_after)
    ]
    if not candidates:
        recent = {
            e.order_id
            for e in exchange.latest_executions(symbol)
            if e.side == side and e.timestamp >= placed_after - CLOCK_SLACK
        }
        if recent:
            candidates = [
                o
                for o in exchange.orders(sorted(recent))
                if matches(o, side, size, price, placed_after)
            ]
    return max(candidates, key=lambda o: (o.timestamp, o.order_id)) if candidates else None
