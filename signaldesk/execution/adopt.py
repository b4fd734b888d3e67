"""Positions the desk did not make or did not close: adopted, protected and reported, never ignored.

An exchange position with no desk trade (a fill the desk never recorded, a position opened by hand)
becomes an `adopted` trade with a stop `[risk] orphan_stop_fraction` from the price (or is closed at
market when `[risk] orphan_positions = "close"`), and the person is told. A desk position that the
exchange closed without a desk order (GMO's loss-cut, a close on the website) gets that close
recorded as the trade's exit.
"""

from __future__ import annotations

import logging
from datetime import datetime

from signaldesk.exchange.errors import ExchangeError
from signaldesk.exchange.model import Position, is_leverage
from signaldesk.exchange.precision import protective_price, round_price
from signaldesk.execution import notices as say
from signaldesk.execution.orders import sync_orders
from signaldesk.execution.plan import exit_side, holdings, touch_price
from signaldesk.execution.records import (
    UNRESOLVED,
    TradeRow,
    active_trades,
    insert_adopted_trade,
    insert_foreign_close,
    known_exchange_ids,
    orders_with_status,
    trade_fills,
    trade_orders,
)
from signaldesk.sizing import TradeLevels, direction_sign

log = logging.getLogger("signaldesk.execution")


def desk_position_ids(db, mode: str) -> set[int]:
    """Return the position ids the desk's active trades hold."""
    return {
        h.position_id
        for t in active_trades(db, mode)
        for h in holdings(trade_fills(db, t.id))
        if h.position_id is not None
    }


def strangers(
    db, exchange, symbol: str, positions: dict[int, Position], mode: str
) -> list[Position]:
    """Return open positions of a symbol that belong to no desk trade and to no desk order still
    being followed (a fill recorded later by its trade's sync, or an entry whose answer is being
    resolved)."""
    if not positions:
        return []  # nothing open on the symbol: the desk's trades need not be read
    held = desk_position_ids(db, mode)
    unknown = [p for p in positions.values() if p.position_id not in held]
    if not unknown or any(r.symbol == symbol for r in orders_with_status(db, mode, UNRESOLVED)):
        return []
    known = known_exchange_ids(db)
    opened_by = {
        e.position_id: e.order_id
        for e in exchange.latest_executions(symbol)
        if e.settle_type == "OPEN" and e.position_id is not None
    }
    return [p for p in unknown if opened_by.get(p.position_id) not in known]


def adopted_levels(position: Position, book, rules, fraction) -> TradeLevels:
    """Return levels for an adopted position: the stop `fraction` of the price away from where it
    could be closed now, take-profits one and two such distances the other way."""
    direction = "LONG" if position.side == "BUY" else "SHORT"
    side, sign = exit_side(direction), direction_sign(direction)
    mark = touch_price(side, book) or position.price
    distance = mark * fraction
    return TradeLevels(
        position.price,
        protective_price(mark - sign * distance, side, rules),
        round_price(mark + sign * distance, side, rules),
        round_price(mark + sign * 2 * distance, side, rules),
    )


def adopt_orphans(db, exchange, settings, positions: dict, now: datetime) -> list[str]:
    """Adopt every open position without a desk trade on the desk's leverage symbols; return
    notices."""
    notices: list[str] = []
    for symbol, by_id in positions.items():
        if by_id is None or symbol not in settings.strategy.symbols:
            continue
        for position in still_open(exchange, strangers(db, exchange, symbol, by_id, settings.mode)):
            notices.append(adopt_position(db, exchange, settings, position, now))
    return notices


def still_open(exchange, found: list[Position]) -> list[Position]:
    """Return the candidates still open now: the step's first read may predate its own closes (a
    time stop's exit settles the position in the same step; GMO's latest executions no longer list
    an entry days old, so the position would look like a stranger)."""
    if not found:
        return []
    try:
        fresh = {p.position_id: p for p in exchange.open_positions(found[0].symbol)}
    except ExchangeError as exc:
        log.warning(
            "positions of %s not re-read; nothing adopted this step: %s", found[0].symbol, exc
        )
        return []
    return [fresh[p.position_id] for p in found if p.position_id in fresh]


def adopt_position(db, exchange, settings, position: Position, now: datetime) -> say.Notice:
    """Record one stranger as an adopted trade (to protect, or to close at market) and say so with a
    critical alert (it rings even in quiet hours: a position the desk did not open is at stake)."""
    from signaldesk.outbox import queue_alert

    rules = exchange.symbol_rules()[position.symbol]
    book = exchange.order_book(position.symbol)
    levels = adopted_levels(position, book, rules, settings.risk.orphan_stop_fraction)
    close = settings.risk.orphan_positions == "close"
    trade_id = insert_adopted_trade(
        db, position, levels, settings.mode, "emergency" if close else None, now
    )
    what = (
        "it is being closed at market ([risk] orphan_positions = close)"
        if close
        else f"protected with a stop at {say.money(levels.stop_loss)}; /positions shows it"
    )
    log.warning("adopted position %s as trade %s", position.position_id, trade_id)
    text = (
        f"Position {position.position_id} ({position.side} {position.size} {position.symbol} at "
        f"{say.money(position.price)}) was on the exchange without a desk trade: adopted as trade "
        f"#{trade_id}, {what}."
    )
    notice = say.Notice(
        text, "adopted", trade_id, position_id=position.position_id, side=position.side,
        size=position.size, symbol=position.symbol, price=position.price, closing=close,
        stop=None if close else levels.stop_loss,
    )  # fmt: skip
    key = f"adopted:{position.position_id}"
    queue_alert(db, "critical", "adopted", notice, now, dedupe_key=key)
    return notice


def record_foreign_closes(
    db, exchange, trade: TradeRow, positions: dict[int, Position] | None, now: datetime
) -> list[str]:
    """Record closes the exchange made on this trade's positions without a desk order (loss-cut, by
    hand)."""
    if positions is None or not is_leverage(trade.symbol):
        return []
    short = {
        h.position_id
        for h in holdings(trade_fills(db, trade.id))
        if (positions[h.position_id].size if h.position_id in positions else 0) < h.size
    }
    orders = trade_orders(db, trade.id)
    if not short or any(o.is_unresolved and o.purpose != "entry" for o in orders):
        return []
    known = known_exchange_ids(db)
    closes: dict[int, int] = {}
    for e in exchange.latest_executions(trade.symbol):
        if e.settle_type == "CLOSE" and e.position_id in short and e.order_id not in known:
            closes[e.order_id] = e.position_id
    notices: list[str] = []
    for order in exchange.orders(sorted(closes)[:10]) if closes else []:
        reason = "losscut" if order.order_type == "LOSSCUT" else "foreign"
        row = insert_foreign_close(db, trade, order, closes[order.order_id], reason, now)
        text = (
            f"Trade #{trade.id}: position {closes[order.order_id]} was closed on the exchange "
            f"({'GMO loss-cut' if reason == 'losscut' else 'not by the desk'}, order {order.order_id})."
        )
        notices.append(
            say.Notice(
                text,
                "closed_outside",
                trade.id,
                position_id=closes[order.order_id],
                order_id=order.order_id,
                losscut=reason == "losscut",
            )  # fmt: skip
        )
        notices += sync_orders(db, exchange, [row], now)
    return notices


def adopt_stray_closes(db, exchange, positions: dict, mode: str, now: datetime) -> list[str]:
    """Take over resting close orders on the desk's positions that the desk has no row for (an
    answer lost and matched too late, or an order placed by hand): they use the position's closable
    size, so left alone they would block its stops and exits. An order goes to the one desk position
    whose resting close size it explains; when more than one could own it, the person is told
    instead."""
    from signaldesk.execution.records import insert_foreign_close
    from signaldesk.execution.resolve import unexplained_close_size

    notices: list[str] = []
    if not any(positions.values()):
        return notices  # no open position anywhere: no close order can rest on one
    owners = {h: t for t in active_trades(db, mode) for h in _positions_of(db, t.id)}
    for symbol, by_id in positions.items():
        mine = {p: pos for p, pos in (by_id or {}).items() if p in owners}
        if not mine:
            continue
        unexplained = {
            p: s for p, s in unexplained_close_size(db, list(mine.values())).items() if s > 0
        }
        if not unexplained:
            continue
        known = known_exchange_ids(db)
        for order in exchange.active_orders(symbol):
            if order.order_id in known or order.settle_type != "CLOSE":
                continue
            left = order.size - order.executed_size
            fits = [p for p, s in unexplained.items() if s >= left]
            if len(fits) != 1:
                text = f"Order {order.order_id} rests on a desk position but its owner is unclear."
                notices.append(say.Notice(text, "owner_unclear", order_id=order.order_id))
                continue
            trade = owners[fits[0]]
            purpose = "stop" if order.execution_type == "STOP" else "exit"
            insert_foreign_close(db, trade, order, fits[0], "stray", now, purpose=purpose)
            unexplained[fits[0]] -= left
            text = f"Trade #{trade.id}: order {order.order_id} on its position is now followed."
            notices.append(say.Notice(text, "close_followed", trade.id, order_id=order.order_id))
    return notices


def _positions_of(db, trade_id: int) -> set[int]:
    """Return the position ids a trade holds."""
    return {h.position_id for h in holdings(trade_fills(db, trade_id)) if h.position_id is not None}
