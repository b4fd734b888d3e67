"""The /stop entry point: halt, cancel every resting entry order and, if asked, flatten every open trade."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from signaldesk.exchange.errors import ExchangeError
from signaldesk.exchange.model import MARKET
from signaldesk.execution.manage import DESK_LOCK, resolve_unresolved, settle_trade
from signaldesk.execution.orders import cancel, send, sync_orders
from signaldesk.execution.plan import close_intent, holdings
from signaldesk.execution.records import active_trades, load_trade, trade_fills, trade_orders
from signaldesk.state import halt

log = logging.getLogger("signaldesk.execution")


@dataclass(frozen=True)
class StopReport:
    """What /stop did: whether this call halted trading, the orders it cancelled, the trades it flattened."""

    halted_now: bool
    cancelled_orders: list[int] = field(default_factory=list)
    flattened_trades: list[int] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)


def emergency_stop(db, exchange, settings, now: datetime, by: str, flatten: bool) -> StopReport:
    """Halt trading, cancel resting entries and, with flatten, close every open trade at market. Idempotent."""
    with DESK_LOCK:
        halted_now = halt(db, f"/stop by {by}" + (" (flatten)" if flatten else ""), now, by)
        notices = (
            ["Trading halted; /resume lifts the halt."]
            if halted_now
            else ["Trading was already halted."]
        )
        notices += resolve_unresolved(db, exchange, settings.mode, now)
        cancelled: list[int] = []
        flattened: list[int] = []
        rules = exchange.symbol_rules()
        for trade in active_trades(db, settings.mode):
            purposes = None if flatten else ("entry",)
            cancelled += _cancel_working(db, exchange, trade.id, purposes, now, notices)
            if flatten and _flatten(db, exchange, settings.mode, trade.id, now, notices):
                flattened.append(trade.id)
            book = exchange.order_book(trade.symbol)
            notices += settle_trade(
                db, exchange, settings, rules[trade.symbol], trade.id, book, now
            )
        return StopReport(halted_now, cancelled, flattened, notices)


def _cancel_working(
    db, exchange, trade_id: int, purposes: tuple[str, ...] | None, now: datetime, notices: list[str]
) -> list[int]:
    """Cancel the working orders of a trade (only some purposes, or all); return their order ids."""
    rows = [
        o
        for o in trade_orders(db, trade_id)
        if o.is_working and (purposes is None or o.purpose in purposes)
    ]
    for row in rows:
        notices += cancel(db, exchange, row, now)
    return [r.id for r in rows]


def _flatten(db, exchange, mode: str, trade_id: int, now: datetime, notices: list[str]) -> bool:
    """Close every holding of a trade at market (exit reason emergency); return True when something was sent."""
    notices += sync_orders(
        db, exchange, [o for o in trade_orders(db, trade_id) if o.is_working], now
    )
    trade = load_trade(db, trade_id)
    sent = False
    for holding in holdings(trade_fills(db, trade_id)):
        try:
            order, more = send(
                db,
                exchange,
                mode,
                trade_id,
                close_intent(trade, "exit", holding, holding.size, MARKET, reason="emergency"),
                now,
            )
        except ExchangeError as exc:
            log.warning("flatten of trade %s failed: %s", trade_id, exc)
            continue
        notices += more
        sent = sent or order.status != "REJECTED"
    return sent


def close_trade(db, exchange, settings, trade_id: int, now: datetime, by: str) -> list[str]:
    """Close one open trade at market on a person's request (exit reason manual); return notices."""
    with DESK_LOCK:
        trade = load_trade(db, trade_id)
        if trade is None or not trade.is_active:
            return [f"Trade #{trade_id} is not open; nothing to close."]
        notices = [f"Closing trade #{trade_id} at market, as asked by {by}."]
        _cancel_working(db, exchange, trade_id, None, now, notices)
        for holding in holdings(trade_fills(db, trade_id)):
            notices += send(
                db,
                exchange,
                settings.mode,
                trade_id,
                close_intent(trade, "exit", holding, holding.size, MARKET, reason="manual"),
                now,
            )[1]
        book = exchange.order_book(trade.symbol)
        notices += settle_trade(
            db, exchange, settings, exchange.symbol_rules()[trade.symbol], trade_id, book, now
        )
        return notices
