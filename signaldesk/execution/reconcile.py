"""Reconciliation: resolve orders with unknown outcomes, adopt unknown positions, then compare the
desk's orders and positions with GMO's (matched by order and position id, never by look-alike)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from signaldesk.exchange.model import Asset, Order, Position, is_leverage
from signaldesk.execution.adopt import adopt_orphans
from signaldesk.execution.manage import DESK_LOCK, read_positions, resolve_unresolved, settle_trade
from signaldesk.execution.orders import sync_orders
from signaldesk.execution.plan import holdings
from signaldesk.execution.records import (
    UNRESOLVED,
    TradeRow,
    active_trades,
    executed_signals_of_trades,
    known_exchange_ids,
    orders_with_status,
    trade_fills,
    trade_orders,
)


@dataclass(frozen=True)
class ReconcileReport:
    """Differences between the desk and the exchange that a person should look at, and what was
    fixed."""

    differences: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    resolved_orders: list[int] = field(default_factory=list)


def reconcile(db, exchange, settings, now: datetime) -> ReconcileReport:
    """Resolve PLACING/UNKNOWN orders, sync every working order, and report what differs from the
    exchange."""
    with DESK_LOCK:
        before = [o.id for o in orders_with_status(db, settings.mode, UNRESOLVED)]
        notices = resolve_unresolved(db, exchange, settings.mode, now)
        still = {o.id for o in orders_with_status(db, settings.mode, UNRESOLVED)}
        for trade in active_trades(db, settings.mode):
            notices += sync_orders(
                db, exchange, [o for o in trade_orders(db, trade.id) if o.is_working], now
            )
        positions = read_positions(exchange, settings.strategy.symbols)
        notices += adopt_orphans(db, exchange, settings, positions, now)
        trades = active_trades(db, settings.mode)
        differences = [
            f"Order #{i} still has an unknown outcome; it will be checked again."
            for i in sorted(still)
        ]
        differences += exchange_differences(db, exchange, settings, trades)
        notices += executed_signals_of_trades(db)
        rules = exchange.symbol_rules()
        for trade in trades:
            book = exchange.order_book(trade.symbol)
            notices += settle_trade(
                db, exchange, settings, rules[trade.symbol], trade.id, book, now
            )
        return ReconcileReport(differences, notices, [i for i in before if i not in still])


def exchange_differences(db, exchange, settings, trades: Sequence[TradeRow]) -> list[str]:
    """Return differences in active orders and positions between the desk's records and the
    exchange."""
    symbols = sorted(set(settings.strategy.symbols) | {t.symbol for t in trades})
    desk = {s: _desk_holdings(db, [t for t in trades if t.symbol == s]) for s in symbols}
    known = known_exchange_ids(db)
    differences = []
    for symbol in symbols:
        differences += unknown_orders(exchange.active_orders(symbol), known)
        if is_leverage(symbol):
            differences += position_differences(desk[symbol], exchange.open_positions(symbol))
    spot = [s for s in symbols if not is_leverage(s)]
    if spot:
        differences += coin_differences(desk, exchange.assets(), spot)
    return differences


def _desk_holdings(db, trades: Sequence[TradeRow]) -> dict[int | None, tuple[int, Decimal]]:
    """Return the desk's open size per position: position id -> (trade id, size)."""
    held = {}
    for trade in trades:
        for holding in holdings(trade_fills(db, trade.id)):
            held[holding.position_id] = (trade.id, holding.size)
    return held


def unknown_orders(active: Sequence[Order], known: set[int]) -> list[str]:
    """Return a difference per active exchange order the desk never sent."""
    return [
        f"Order {o.order_id} ({o.side} {o.size} {o.symbol} {o.execution_type} at {o.price}) is on the exchange "
        f"but not in the desk's records."
        for o in active
        if o.order_id not in known
    ]


def position_differences(
    desk: dict[int | None, tuple[int, Decimal]], positions: Sequence[Position]
) -> list[str]:
    """Return differences between the desk's positions and the exchange's open positions of one
    symbol."""
    on_exchange: dict[int | None, Position] = {p.position_id: p for p in positions}
    differences = []
    for position_id, (trade_id, size) in desk.items():
        position = on_exchange.get(position_id)
        if position is None:
            differences.append(
                f"Trade #{trade_id}: position {position_id} ({size}) is not open on the exchange "
                f"(closed by hand or loss-cut?)."
            )
        elif position.size != size:
            differences.append(
                f"Trade #{trade_id}: position {position_id} is {position.size} on the exchange, "
                f"{size} in the desk's records."
            )
    differences += [
        f"Position {p.position_id} ({p.side} {p.size} {p.symbol} at {p.price}) is on the exchange but is "
        f"not a desk trade."
        for p in positions
        if p.position_id not in desk
    ]
    return differences


def coin_differences(
    desk: dict[str, dict], assets: Sequence[Asset], spot: Sequence[str]
) -> list[str]:
    """Return a difference per spot coin whose balance is below what the desk's open trades hold."""
    balances = {a.symbol: a.amount for a in assets}
    differences = []
    for symbol in spot:
        held = sum((size for _, size in desk[symbol].values()), Decimal(0))
        if balances.get(symbol, Decimal(0)) < held:
            differences.append(
                f"{symbol}: the desk's open trades hold {held}, the balance is "
                f"{balances.get(symbol, Decimal(0))}."
            )
    return differences
