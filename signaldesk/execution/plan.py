"""Trade management decisions (pure): given a trade, its orders, fills, positions and the book, what
happens next.

Protection first. Every open holding is covered on the exchange by STOP orders for its whole size;
on leverage symbols every position also carries a loss-cut price from its first fill (sent with the
entry order), a backstop that uses no closable size. Protection is placed before any is removed: a
stop moves with changeOrder (the old price guards until the new one does); a stop is only cancelled
to free size for a take-profit or an exit, and on leverage the position's loss-cut is first moved up
to the stop price, so the window of GMO's asynchronous cancel is guarded at the same level. The
close goes out only once the exchange has confirmed the cancel (closable size), and a new stop for
whatever stays open goes out before the close. Take-profits are marketable: an immediate-or-cancel
limit at the touch price when the level is reached, never a resting order that would use the
closable size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from signaldesk.exchange.model import (
    BUY,
    CLOSE_SETTLE,
    FAK,
    FAS,
    LIMIT,
    MARKET,
    OPEN_SETTLE,
    SELL,
    SOK,
    STOP,
    OrderBook,
    Position,
    SymbolRules,
    accepts_post_only,
    is_leverage,
)
from signaldesk.exchange.precision import floor_to_step, protective_price, round_to_tick
from signaldesk.execution.records import CLOSING_PURPOSES, FillRow, OrderIntent, OrderRow, TradeRow
from signaldesk.sizing import LONG, direction_sign

if TYPE_CHECKING:
    from signaldesk.settings import RiskSettings

ZERO = Decimal(0)
TAKE_PROFITS = ("take_profit_1", "take_profit_2")
EXIT_REASONS = {"stop": "stop_loss", "take_profit_1": "tp1", "take_profit_2": "tp2"}
FOREIGN_REASONS = {"losscut": "stop_loss", "foreign": "manual"}
TP1_SHARE = "tp1_share"  # reason of a stop slice covering the part take-profit 1 will close


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
    """Ask the exchange to cancel a working order (orders.id)."""

    order_id: int
    why: str


@dataclass(frozen=True)
class Reprice:
    """Move a working order (orders.id) to a new price."""

    order_id: int
    price: Decimal


@dataclass(frozen=True)
class MoveLosscut:
    """Set the loss-cut price of one leverage position."""

    position_id: int
    price: Decimal


Action = Place | Cancel | Reprice | MoveLosscut


@dataclass(frozen=True)
class Close:
    """A close one holding needs now: how much, as which order, and why."""

    size: Decimal
    purpose: str
    execution_type: str
    price: Decimal | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Cover:
    """The desk's closing orders resting against one holding."""

    stops: tuple[OrderRow, ...]  # protecting: working stops not being cancelled
    leaving: tuple[OrderRow, ...]  # being cancelled: still use closable size, protect nothing
    closing: tuple[OrderRow, ...]  # take-profits and exits in flight

    @property
    def covered(self) -> Decimal:
        """Return the size the protecting stops cover."""
        return sum((o.open_size for o in self.stops), ZERO)

    @property
    def reserved(self) -> Decimal:
        """Return the size every resting close uses (what the exchange subtracts from closable)."""
        return sum((o.open_size for o in (*self.stops, *self.leaving, *self.closing)), ZERO)


def entry_side(direction: str) -> str:
    """Return the order side that opens a trade."""
    return BUY if direction == LONG else SELL


def exit_side(direction: str) -> str:
    """Return the order side that closes a trade."""
    return SELL if direction == LONG else BUY


def passive_price(side: str, book: OrderBook, tick: Decimal) -> Decimal | None:
    """Return the best price that does not cross (BUY at best bid, SELL at best ask) on the tick
    grid, or None."""
    levels = book.bids if side == BUY else book.asks
    return round_to_tick(levels[0].price, tick, up=side == SELL) if levels else None


def touch_price(side: str, book: OrderBook, tick: Decimal | None = None) -> Decimal | None:
    """Return the best price that trades at once (SELL at best bid, BUY at best ask; on the tick
    grid, still marketable, when a tick is given), or None."""
    levels = book.bids if side == SELL else book.asks
    if not levels:
        return None
    return levels[0].price if tick is None else round_to_tick(levels[0].price, tick, up=side == BUY)


def limit_time_in_force(symbol: str) -> str:
    """Return SOK (post-only) where the symbol accepts it, else FAS."""
    return SOK if accepts_post_only(symbol) else FAS


def backstop_price(direction: str, entry: Decimal, stop: Decimal, buffer: Decimal) -> Decimal:
    """Return the loss-cut price `buffer` stop-distances beyond the stop (unrounded): the last line
    behind it."""
    return stop - direction_sign(direction) * buffer * abs(entry - stop)


def entry_losscut(
    symbol: str, direction: str, entry: Decimal, stop: Decimal, risk: RiskSettings
) -> Decimal | None:
    """Return the loss-cut price an entry order carries (leverage symbols only)."""
    if not is_leverage(symbol):
        return None
    return backstop_price(direction, entry, stop, risk.losscut_buffer)


def entry_intent(
    symbol: str,
    direction: str,
    size: Decimal,
    price: Decimal,
    attempt: int = 1,
    losscut: Decimal | None = None,
) -> OrderIntent:
    """Return a passive limit entry order (with its position's loss-cut price on leverage
    symbols)."""
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
        losscut_price=losscut if is_leverage(symbol) else None,
    )


def vwap(fills: Sequence[FillRow]) -> Decimal | None:
    """Return the size-weighted average price of fills, None when there are none."""
    size = sum((f.size for f in fills), ZERO)
    return sum((f.price * f.size for f in fills), ZERO) / size if size else None


def average_price(fills: Sequence[FillRow]) -> Decimal:
    """Return the size-weighted average price of fills; raise ValueError when they hold no size."""
    price = vwap(fills)
    if price is None:
        raise ValueError("no filled size to average")
    return price


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
    """Return the break-even stop price on the tick grid, rounded so the stop never locks in a
    loss."""
    return round_to_tick(entry_price, tick, up=direction == LONG)


def reached(direction: str, level: Decimal, book: OrderBook) -> bool:
    """Return True when the price we could close at has reached a take-profit level."""
    if direction == LONG:
        return bool(book.bids) and book.best_bid >= level
    return bool(book.asks) and book.best_ask <= level


def stop_crossed(direction: str, stop: Decimal, book: OrderBook) -> bool:
    """Return True when the price we could close at is at or beyond the stop (a STOP there would
    fire at once)."""
    if direction == LONG:
        return bool(book.bids) and book.best_bid <= stop
    return bool(book.asks) and book.best_ask >= stop


def trailed_stop(
    trade: TradeRow, book: OrderBook, rules: SymbolRules, risk: RiskSettings
) -> Decimal | None:
    """Return a tighter stop when the trailing stop (after take-profit 1) has moved, else None."""
    if not (trade.tp1_done and risk.trailing_stop_r > 0 and trade.entry_price is not None):
        return None
    touch = touch_price(exit_side(trade.direction), book)
    if touch is None:
        return None
    distance = risk.trailing_stop_r * abs(
        trade.entry_price - (trade.initial_stop or trade.stop_loss)
    )
    sign = direction_sign(trade.direction)
    candidate = protective_price(touch - sign * distance, exit_side(trade.direction), rules)
    return candidate if (candidate - trade.stop_loss) * sign > 0 else None


# ---- entry ----------------------------------------------------------------------------------------------------


def entry_step(
    trade: TradeRow,
    orders: Sequence[OrderRow],
    book: OrderBook,
    rules: SymbolRules,
    risk: RiskSettings,
    now: datetime,
) -> tuple[list[Action], bool]:
    """Return entry actions (cancel at window end or on an exit request, re-quote after EXPIRED_SOK)
    and whether the entry is finished; an entry whose outcome is unknown is never re-quoted."""
    entries = [o for o in orders if o.purpose == "entry"]
    if not entries:
        return [], True
    deadline = trade.created_at + timedelta(minutes=risk.entry_window_minutes)
    working = [o for o in entries if o.is_working or o.is_unresolved]
    if working:
        why = "exit requested" if trade.exit_requested else "entry window ended"
        late: list[Action] = [
            Cancel(o.id, why)
            for o in working
            if o.is_working and not o.is_cancelling and (now >= deadline or trade.exit_requested)
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
        and not trade.exit_requested
    )
    if requote and price is not None:
        losscut = entry_losscut(trade.symbol, trade.direction, price, trade.stop_loss, risk)
        intent = entry_intent(trade.symbol, trade.direction, left, price, last.attempt + 1, losscut)
        return [Place(intent)], False
    return [], not requote


# ---- protection and exits
# -------------------------------------------------------------------------------------


def close_intent(
    trade: TradeRow,
    purpose: str,
    holding: Holding,
    size: Decimal,
    execution_type: str,
    price: Decimal | None = None,
    reason: str | None = None,
) -> OrderIntent:
    """Return an order closing (part of) one holding: a STOP, an immediate-or-cancel limit, or a
    market order."""
    tif = FAK if execution_type == LIMIT else None
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


def tp1_size(
    trade: TradeRow, open_size: Decimal, rules: SymbolRules, risk: RiskSettings
) -> Decimal:
    """Return the size taken at take-profit 1: the configured fraction, or everything when a part
    would be too small."""
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


def cover_of(holding: Holding, orders: Sequence[OrderRow]) -> Cover:
    """Return the desk's working closing orders against one holding, split by what they do."""
    mine = [
        o
        for o in orders
        if o.is_working and o.purpose in CLOSING_PURPOSES and o.position_id == holding.position_id
    ]
    return Cover(
        tuple(o for o in mine if o.protects),
        tuple(o for o in mine if o.is_cancelling),
        tuple(o for o in mine if o.purpose != "stop" and not o.is_cancelling),
    )


def wanted_closes(
    trade: TradeRow,
    holds: Sequence[Holding],
    book: OrderBook,
    rules: SymbolRules,
    risk: RiskSettings,
    now: datetime,
    entry_done: bool,
) -> dict[int | None, Close]:
    """Return the close each holding needs now (time stop, exit request, take-profit 1 or 2), by
    position."""
    side = exit_side(trade.direction)
    everything = {h.position_id: h.size for h in holds}
    if trade.exit_requested:
        return {
            p: Close(s, "exit", MARKET, reason=trade.exit_requested) for p, s in everything.items()
        }
    if not entry_done:
        return {}
    if trade.time_stop_at is not None and now >= trade.time_stop_at:
        return {p: Close(s, "exit", MARKET, reason="time_stop") for p, s in everything.items()}
    touch = touch_price(side, book, rules.tick_size)
    if touch is None:
        return {}  # nothing to close against: no take-profit this step
    if trade.tp1_done and reached(trade.direction, trade.take_profit_2, book):
        return {p: Close(s, "take_profit_2", LIMIT, touch) for p, s in everything.items()}
    if not trade.tp1_done and reached(trade.direction, trade.take_profit_1, book):
        open_size = sum(everything.values(), ZERO)
        shares = allocate(tp1_size(trade, open_size, rules, risk), holds)
        return {p: Close(s, "take_profit_1", LIMIT, touch) for p, s in shares.items()}
    return {}


def stop_slices(
    trade: TradeRow, holding: Holding, cover: Cover, size: Decimal, share: Decimal, rules
) -> list[tuple[Decimal, str | None]]:
    """Return the stop orders to place for `size` uncovered: the take-profit 1 share apart, so
    taking profit later cancels only that slice and the rest stays covered; a slice below the
    minimum is merged."""
    have = sum((o.open_size for o in cover.stops if o.reason == TP1_SHARE), ZERO)
    part = ZERO if trade.tp1_done else min(size, max(share - have, ZERO))
    slices = [(part, TP1_SHARE), (size - part, None)]
    if any(0 < s < rules.min_size for s, _ in slices):
        slices = [(size, None)]
    return [(s, why) for s, why in slices if s > 0]


def protect(
    trade: TradeRow, holding: Holding, cover: Cover, book: OrderBook, rules, share: Decimal
) -> list[Action]:
    """Return what keeps a holding covered while it stays open: stops moved to the trade's stop,
    stops for any uncovered size, or (when the price is already through the stop) a market exit of
    the uncovered size."""
    crossed = stop_crossed(trade.direction, trade.stop_loss, book)
    actions: list[Action] = []
    if not crossed:
        actions += [
            Reprice(o.id, trade.stop_loss) for o in cover.stops if o.price != trade.stop_loss
        ]
    if cover.covered > holding.size:
        return actions + [Cancel(o.id, "stop larger than the position") for o in cover.stops]
    in_flight = sum((o.open_size for o in cover.closing), ZERO)
    closable = holding.size - cover.reserved
    uncovered = min(holding.size - cover.covered - in_flight, closable)
    if uncovered <= 0:
        return actions
    if crossed:
        exit_ = close_intent(trade, "exit", holding, uncovered, MARKET, reason="stop_loss")
        return actions + [Place(exit_)]
    for size, why in stop_slices(trade, holding, cover, uncovered, share, rules):
        if size >= rules.min_size:
            intent = close_intent(trade, "stop", holding, size, STOP, trade.stop_loss, why)
            actions.append(Place(intent))
    return actions


def release_order(cover: Cover, trade: TradeRow) -> list[OrderRow]:
    """Return the protecting stops in the order they are given up to free size: take-profit 1 slices
    first, then stops at a stale price, then the smallest."""
    return sorted(
        cover.stops,
        key=lambda o: (o.reason != TP1_SHARE, o.price == trade.stop_loss, o.open_size, o.id),
    )


def to_release(cover: Cover, trade: TradeRow, keep_at_most: Decimal) -> list[OrderRow]:
    """Return the stops to cancel so that the stops kept cover no more than `keep_at_most`."""
    kept, released = cover.covered, []
    for order in release_order(cover, trade):
        if kept <= keep_at_most:
            break
        released.append(order)
        kept -= order.open_size
    return released


def close_holding(
    trade: TradeRow, holding: Holding, cover: Cover, close: Close, book: OrderBook, rules
) -> list[Action]:
    """Return the next actions of a close: free the size (cancel stops), or, once the exchange
    confirmed the cancels, a stop for whatever stays open and then the close itself; kept stops
    follow the trade's stop."""
    rest = holding.size - close.size
    released = to_release(cover, trade, rest)
    crossed = stop_crossed(trade.direction, trade.stop_loss, book)
    actions: list[Action] = [
        Reprice(o.id, trade.stop_loss)
        for o in cover.stops
        if o not in released and o.price != trade.stop_loss and not crossed
    ]
    if cover.closing:
        return actions  # a close is already in flight; its result comes first
    if released:
        why = f"freeing size for the {close.reason or close.purpose}"
        return actions + [Cancel(o.id, why) for o in released]
    rest_uncovered = rest - cover.covered
    if holding.size - cover.reserved < close.size + max(rest_uncovered, ZERO):
        return actions  # cancels not confirmed yet: GMO cancels asynchronously
    if rest_uncovered >= rules.min_size and not crossed:
        stop = close_intent(trade, "stop", holding, rest_uncovered, STOP, trade.stop_loss)
        actions.append(Place(stop))
    intent = close_intent(
        trade, close.purpose, holding, close.size, close.execution_type, close.price, close.reason
    )
    return actions + [Place(intent)]


def losscut_target(
    trade: TradeRow, cover: Cover, actions: Sequence[Action], rules: SymbolRules, risk: RiskSettings
) -> Decimal:
    """Return the loss-cut price a leverage position should carry now: the stop price itself while
    one of its stops is being given up, else the backstop the same distance behind the (possibly
    moved) stop."""
    side = exit_side(trade.direction)
    if cover.leaving or any(isinstance(a, Cancel) for a in actions):
        return protective_price(trade.stop_loss, side, rules)
    initial = trade.initial_stop or trade.stop_loss
    distance = risk.losscut_buffer * abs((trade.entry_price or initial) - initial)
    return protective_price(
        trade.stop_loss - direction_sign(trade.direction) * distance, side, rules
    )


def losscut_first(
    trade: TradeRow,
    holding: Holding,
    cover: Cover,
    actions: list[Action],
    market: tuple[OrderBook, SymbolRules, RiskSettings, Position | None],
) -> list[Action]:
    """Put a loss-cut change in front of the holding's actions when its position's loss-cut is not
    where it should be (protection first: before any stop is cancelled)."""
    book, rules, risk, position = market
    if holding.position_id is None or position is None:
        return actions
    if stop_crossed(trade.direction, trade.stop_loss, book):
        return actions
    target = losscut_target(trade, cover, actions, rules, risk)
    if position.losscut_price == target:
        return actions
    return [MoveLosscut(holding.position_id, target), *actions]


def holding_actions(
    trade: TradeRow,
    holding: Holding,
    orders: Sequence[OrderRow],
    close: Close | None,
    market: tuple[OrderBook, SymbolRules, RiskSettings, Position | None],
    share: Decimal,
) -> list[Action]:
    """Return what one holding needs now: protection, or the next step of a close, loss-cut
    first."""
    book, rules, _, _ = market
    cover = cover_of(holding, orders)
    if close is not None and close.size > 0:
        actions = close_holding(trade, holding, cover, close, book, rules)
    else:
        actions = protect(trade, holding, cover, book, rules, share)
    return losscut_first(trade, holding, cover, actions, market)


def closing_actions(
    trade: TradeRow,
    orders: Sequence[OrderRow],
    holds: Sequence[Holding],
    market: tuple[OrderBook, SymbolRules, RiskSettings, dict[int, Position] | None],
    now: datetime,
    entry_done: bool,
) -> list[Action]:
    """Return the protection, take-profit, exit and clean-up actions of a trade."""
    book, rules, risk, positions = market
    closes = wanted_closes(trade, holds, book, rules, risk, now, entry_done)
    open_size = sum((h.size for h in holds), ZERO)
    shares = allocate(tp1_size(trade, open_size, rules, risk), holds) if holds else {}
    actions: list[Action] = []
    for holding in holds:
        pid = holding.position_id  # None for a spot holding, which has no position
        position = None if pid is None else (positions or {}).get(pid)
        actions += holding_actions(
            trade,
            holding,
            orders,
            closes.get(holding.position_id),
            (book, rules, risk, position),
            shares.get(holding.position_id, ZERO),
        )
    held = {h.position_id for h in holds}
    actions += [
        Cancel(o.id, "position already closed")
        for o in orders
        if o.is_working
        and not o.is_cancelling
        and o.purpose in CLOSING_PURPOSES
        and o.position_id not in held
    ]
    return actions


def plan_trade(
    trade: TradeRow,
    orders: Sequence[OrderRow],
    fills: Sequence[FillRow],
    book: OrderBook,
    rules: SymbolRules,
    risk: RiskSettings,
    now: datetime,
    positions: dict[int, Position] | None = None,
) -> list[Action]:
    """Return every action a trade needs now; an order with an unknown outcome never blocks its
    protection."""
    if not trade.is_active:
        return []
    entry_actions, entry_done = entry_step(trade, orders, book, rules, risk, now)
    market = (book, rules, risk, positions)
    return entry_actions + closing_actions(trade, orders, holdings(fills), market, now, entry_done)


# ---- the trade row from its fills
# -----------------------------------------------------------------------------


def exit_reason(fills: Sequence[FillRow], orders: Sequence[OrderRow]) -> str:
    """Return why a trade closed: the purpose (or, for an exit order, the reason) of its last
    closing fill."""
    closing = [f for f in fills if f.purpose != "entry"]
    order = next(o for o in orders if o.id == closing[-1].order_id)
    reason = EXIT_REASONS.get(order.purpose) or order.reason or "manual"
    return FOREIGN_REASONS.get(reason, reason)


def trade_changes(
    trade: TradeRow,
    orders: Sequence[OrderRow],
    fills: Sequence[FillRow],
    entry_done: bool,
    rules: SymbolRules,
    risk: RiskSettings,
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
        entry_price = average_price(entries)
        changes.update(
            entry_price=entry_price,
            entry_time=entries[0].executed_at,
            status="open",
            position_id=entries[0].position_id,
        )
        if trade.time_stop_at is None:  # fixed at the first fill, never rewritten from a stale read
            changes["time_stop_at"] = entries[0].executed_at + timedelta(hours=risk.time_stop_hours)
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
    cost = average_price(entries) * sum((f.size for f in entries), ZERO)
    return {
        "status": "closed",
        "exit_price": vwap(closes),
        "exit_time": closes[-1].executed_at,
        "exit_reason": exit_reason([*entries, *closes], orders),
        "pnl_jpy": pnl,
        "pnl_pct": (pnl / cost * 100).quantize(Decimal("0.0001")),
    }
