"""Trade management decisions (pure): given a trade, its orders, its fills and the book, what should happen next."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from signaldesk.exchange.model import (
    BUY,
    CLOSE_SETTLE,
    FAS,
    LIMIT,
    MARKET,
    OPEN_SETTLE,
    SELL,
    SOK,
    STOP,
    OrderBook,
    SymbolRules,
    accepts_post_only,
)
from signaldesk.execution.records import CLOSING_PURPOSES, FillRow, OrderIntent, OrderRow, TradeRow
from signaldesk.sizing import LONG, direction_sign, floor_to_step, round_to_tick

ZERO = Decimal(0)
TAKE_PROFITS = ("take_profit_1", "take_profit_2")
EXIT_REASONS = {"stop": "stop_loss", "take_profit_1": "tp1", "take_profit_2": "tp2"}


@dataclass(frozen=True)
class Holding:
    """The open size of a trade in one leverage position (position_id None for spot)."""

    position_id: int | None
    size: Decimal


@dataclass(frozen=True)
class Place:
    """Send a new order."""

    intent: OrderIntent


@dataclass(frozen=True)
class Cancel:
    """Cancel a working order (orders.id)."""

    order_id: int
    why: str


@dataclass(frozen=True)
class Reprice:
    """Move a working order (orders.id) to a new price."""

    order_id: int
    price: Decimal


Action = Place | Cancel | Reprice


def entry_side(direction: str) -> str:
    """Return the order side that opens a trade."""
    return BUY if direction == LONG else SELL


def exit_side(direction: str) -> str:
    """Return the order side that closes a trade."""
    return SELL if direction == LONG else BUY


def passive_price(side: str, book: OrderBook, tick: Decimal) -> Decimal | None:
    """Return the best price that does not cross (BUY at best bid, SELL at best ask) on the tick grid, or None."""
    levels = book.bids if side == BUY else book.asks
    return round_to_tick(levels[0].price, tick, up=side == SELL) if levels else None


def limit_time_in_force(symbol: str) -> str:
    """Return SOK (post-only) where the symbol accepts it, else FAS."""
    return SOK if accepts_post_only(symbol) else FAS


def entry_intent(
    symbol: str, direction: str, size: Decimal, price: Decimal, attempt: int = 1
) -> OrderIntent:
    """Return a passive limit entry order."""
    return OrderIntent(
        "entry",
        symbol,
        entry_side(direction),
        OPEN_SETTLE,
        LIMIT,
        size,
        price,
        limit_time_in_force(symbol),
        attempt=attempt,
    )


def vwap(fills: Sequence[FillRow]) -> Decimal | None:
    """Return the size-weighted average price of fills, None when there are none."""
    size = sum((f.size for f in fills), ZERO)
    return sum((f.price * f.size for f in fills), ZERO) / size if size else None


def holdings(fills: Sequence[FillRow]) -> list[Holding]:
    """Return the open size per position: entry fills minus closing fills."""
    sizes: dict[int | None, Decimal] = {}
    for fill in fills:
        sign = 1 if fill.purpose == "entry" else -1
        sizes[fill.position_id] = sizes.get(fill.position_id, ZERO) + sign * fill.size
    return [Holding(pid, size) for pid, size in sizes.items() if size > 0]


def realized_pnl(direction: str, entry_price: Decimal, price: Decimal, size: Decimal) -> Decimal:
    """Return the P/L in JPY of closing `size` at `price` (fees excluded)."""
    return direction_sign(direction) * (price - entry_price) * size


def break_even(direction: str, entry_price: Decimal, tick: Decimal) -> Decimal:
    """Return the break-even stop price on the tick grid, rounded so the stop never locks in a loss."""
    return round_to_tick(entry_price, tick, up=direction == LONG)


def reached(direction: str, level: Decimal, book: OrderBook) -> bool:
    """Return True when the price we could close at has reached a take-profit level."""
    if direction == LONG:
        return bool(book.bids) and book.best_bid >= level
    return bool(book.asks) and book.best_ask <= level


def stop_crossed(direction: str, stop: Decimal, book: OrderBook) -> bool:
    """Return True when the price we could close at is at or beyond the stop (a STOP there would fire at once)."""
    if direction == LONG:
        return bool(book.bids) and book.best_bid <= stop
    return bool(book.asks) and book.best_ask >= stop


# ---- entry ----------------------------------------------------------------------------------------------------


def entry_step(
    trade: TradeRow,
    orders: Sequence[OrderRow],
    book: OrderBook,
    rules: SymbolRules,
    risk,
    now: datetime,
) -> tuple[list[Action], bool]:
    """Return entry actions (cancel at window end, re-quote after EXPIRED_SOK) and whether the entry is finished."""
    entries = [o for o in orders if o.purpose == "entry"]
    if not entries:
        return [], True
    deadline = trade.created_at + timedelta(minutes=risk.entry_window_minutes)
    working = [o for o in entries if o.is_working or o.is_unresolved]
    if working:
        late = [
            Cancel(o.id, "entry window ended") for o in working if o.is_working and now >= deadline
        ]
        return late, False
    last = entries[-1]
    left = floor_to_step(
        trade.size - sum((o.executed_size for o in entries), ZERO), rules.size_step
    )
    price = passive_price(entry_side(trade.direction), book, rules.tick_size)
    requote = (
        last.status == "EXPIRED"
        and last.cancel_type == "EXPIRED_SOK"
        and last.attempt <= risk.max_requotes
        and now < deadline
        and left >= rules.min_size
    )
    if requote and price is not None:
        return [
            Place(entry_intent(trade.symbol, trade.direction, left, price, last.attempt + 1))
        ], False
    return [], not requote


# ---- protection and exits -------------------------------------------------------------------------------------


def close_intent(
    trade: TradeRow,
    purpose: str,
    holding: Holding,
    size: Decimal,
    execution_type: str,
    price: Decimal | None = None,
    reason: str | None = None,
) -> OrderIntent:
    """Return an order closing (part of) one holding."""
    tif = limit_time_in_force(trade.symbol) if execution_type == LIMIT else None
    return OrderIntent(
        purpose,
        trade.symbol,
        exit_side(trade.direction),
        CLOSE_SETTLE,
        execution_type,
        size,
        price,
        tif,
        holding.position_id,
        reason,
    )


def tp1_size(trade: TradeRow, open_size: Decimal, rules: SymbolRules, risk) -> Decimal:
    """Return the size taken at take-profit 1: the configured fraction, or everything when a part would be too small."""
    part = floor_to_step(trade.filled_size * risk.take_profit_1_fraction, rules.size_step)
    if part < rules.min_size or open_size - part < rules.min_size:
        return open_size
    return min(part, open_size)


def allocate(total: Decimal, holds: Sequence[Holding]) -> dict[int | None, Decimal]:
    """Split a size over holdings, filling the first ones first."""
    shares: dict[int | None, Decimal] = {}
    for holding in holds:
        share = min(holding.size, total)
        if share > 0:
            shares[holding.position_id] = share
        total -= share
    return shares


def take_profit_due(
    trade: TradeRow,
    working: Sequence[OrderRow],
    holds: Sequence[Holding],
    book: OrderBook,
    rules: SymbolRules,
    risk,
) -> tuple[str, dict[int | None, Decimal]]:
    """Return the take-profit to start now (purpose and size per position), or ('', {})."""
    if any(o.purpose in TAKE_PROFITS for o in working):
        return "", {}
    open_size = sum((h.size for h in holds), ZERO)
    if not trade.tp1_done and reached(trade.direction, trade.take_profit_1, book):
        return "take_profit_1", allocate(tp1_size(trade, open_size, rules, risk), holds)
    if trade.tp1_done and reached(trade.direction, trade.take_profit_2, book):
        return "take_profit_2", allocate(open_size, holds)
    return "", {}


def stop_actions(
    trade: TradeRow, holding: Holding, stops: Sequence[OrderRow], size: Decimal
) -> tuple[list[Action], list[Action]]:
    """Return (cancels/reprices, placements) that leave exactly one stop of `size` at the trade's stop price."""
    if size <= 0:
        return [Cancel(o.id, "no size left to protect") for o in stops], []
    if len(stops) == 1 and stops[0].open_size == size:
        same = stops[0].price == trade.stop_loss
        return ([] if same else [Reprice(stops[0].id, trade.stop_loss)]), []
    cancels: list[Action] = [Cancel(o.id, "stop resized") for o in stops]
    return cancels, [Place(close_intent(trade, "stop", holding, size, STOP, trade.stop_loss))]


def holding_actions(
    trade: TradeRow,
    holding: Holding,
    mine: Sequence[OrderRow],
    new_tp: tuple[str, Decimal],
    book: OrderBook,
    tick: Decimal,
    time_up: bool,
) -> list[Action]:
    """Return what one holding needs: a stop for what no take-profit covers, a take-profit, or an exit."""
    stops = [o for o in mine if o.purpose == "stop"]
    tps = [o for o in mine if o.purpose in TAKE_PROFITS]
    if any(o.purpose == "exit" for o in mine):
        return []
    if time_up:
        return [Cancel(o.id, "time stop") for o in [*stops, *tps]] + [
            Place(close_intent(trade, "exit", holding, holding.size, MARKET, reason="time_stop"))
        ]
    if stop_crossed(trade.direction, trade.stop_loss, book):
        good = [o for o in stops if o.price == trade.stop_loss]
        actions: list[Action] = [
            Cancel(o.id, "price is through the stop") for o in [*tps, *stops] if o not in good
        ]
        rest = holding.size - sum((o.open_size for o in good), ZERO)
        if rest > 0:
            actions.append(
                Place(close_intent(trade, "exit", holding, rest, MARKET, reason="stop_loss"))
            )
        return actions
    purpose, tp = new_tp
    stop_size = holding.size - sum((o.open_size for o in tps), ZERO) - tp
    cancels, places = stop_actions(trade, holding, stops, stop_size)
    tp_price = passive_price(exit_side(trade.direction), book, tick)
    take = (
        [Place(close_intent(trade, purpose, holding, tp, LIMIT, tp_price))]
        if tp > 0 and tp_price
        else []
    )
    return cancels + take + places


def closing_actions(
    trade: TradeRow,
    orders: Sequence[OrderRow],
    holds: Sequence[Holding],
    book: OrderBook,
    rules: SymbolRules,
    risk,
    now: datetime,
    entry_done: bool,
) -> list[Action]:
    """Return the protection, take-profit, time-stop and clean-up actions of a trade."""
    working = [o for o in orders if o.is_working and o.purpose in CLOSING_PURPOSES]
    time_up = entry_done and trade.time_stop_at is not None and now >= trade.time_stop_at
    purpose, shares = (
        ("", {})
        if time_up or not entry_done
        else take_profit_due(trade, working, holds, book, rules, risk)
    )
    actions: list[Action] = []
    for holding in holds:
        mine = [o for o in working if o.position_id == holding.position_id]
        tp = (purpose, shares.get(holding.position_id, ZERO))
        actions += holding_actions(trade, holding, mine, tp, book, rules.tick_size, time_up)
    held = {h.position_id for h in holds}
    actions += [
        Cancel(o.id, "position already closed") for o in working if o.position_id not in held
    ]
    return actions


def plan_trade(
    trade: TradeRow,
    orders: Sequence[OrderRow],
    fills: Sequence[FillRow],
    book: OrderBook,
    rules: SymbolRules,
    risk,
    now: datetime,
) -> list[Action]:
    """Return every action a trade needs now; nothing while one of its orders has an unknown outcome."""
    if any(o.is_unresolved for o in orders) or not trade.is_active:
        return []
    entry_actions, entry_done = entry_step(trade, orders, book, rules, risk, now)
    return entry_actions + closing_actions(
        trade, orders, holdings(fills), book, rules, risk, now, entry_done
    )


# ---- the trade row from its fills -----------------------------------------------------------------------------


def exit_reason(fills: Sequence[FillRow], orders: Sequence[OrderRow]) -> str:
    """Return why a trade closed: the purpose (or, for an exit order, the reason) of its last closing fill."""
    closing = [f for f in fills if f.purpose != "entry"]
    order = next(o for o in orders if o.id == closing[-1].order_id)
    return EXIT_REASONS.get(order.purpose) or order.reason or "manual"


def trade_changes(
    trade: TradeRow,
    orders: Sequence[OrderRow],
    fills: Sequence[FillRow],
    entry_done: bool,
    rules: SymbolRules,
    risk,
    leverage_fees: Decimal = ZERO,
) -> dict:
    """Return the trade columns implied by its fills and booked leverage fees: sizes, prices,
    fees, break-even stop, status and result."""
    entries = [f for f in fills if f.purpose == "entry"]
    closes = [f for f in fills if f.purpose != "entry"]
    filled = sum((f.size for f in entries), ZERO)
    remaining = filled - sum((f.size for f in closes), ZERO)
    changes: dict = {
        "filled_size": filled,
        "remaining_size": remaining,
        "fees_jpy": sum((f.fee for f in fills), ZERO) + leverage_fees,
    }
    if entries:
        entry_price = vwap(entries)
        changes.update(
            entry_price=entry_price,
            entry_time=entries[0].executed_at,
            status="open",
            position_id=entries[0].position_id,
            time_stop_at=entries[0].executed_at + timedelta(hours=risk.time_stop_hours),
        )
        tp1_working = any(
            o.purpose == "take_profit_1" and (o.is_working or o.is_unresolved) for o in orders
        )
        if (
            any(f.purpose == "take_profit_1" for f in closes)
            and not tp1_working
            and not trade.tp1_done
        ):
            changes.update(
                tp1_done=1, stop_loss=break_even(trade.direction, entry_price, rules.tick_size)
            )
    if entry_done and not entries:
        changes["status"] = "cancelled"
    elif entry_done and remaining <= 0:
        changes.update(_result(trade, orders, entries, closes, changes["fees_jpy"]))
    return changes


def _result(
    trade: TradeRow,
    orders: Sequence[OrderRow],
    entries: Sequence[FillRow],
    closes: Sequence[FillRow],
    fees: Decimal,
) -> dict:
    """Return the closing columns: exit price and time, reason, P/L in JPY and percent."""
    pnl = sum((f.realized_pnl or ZERO for f in closes), ZERO) - fees
    cost = vwap(entries) * sum((f.size for f in entries), ZERO)
    return {
        "status": "closed",
        "exit_price": vwap(closes),
        "exit_time": closes[-1].executed_at,
        "exit_reason": exit_reason([*entries, *closes], orders),
        "pnl_jpy": pnl,
        "pnl_pct": (pnl / cost * 100).quantize(Decimal("0.0001")),
    }
