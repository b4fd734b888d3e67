"""The /stop entry point: halt, cancel every resting entry order and, if asked, flatten every open
trade.

Flattening and a person's /close are exit requests written on the trade (`exit_requested`) and
carried out by trade management, protection first: the loss-cut moves up to the stop, the stops are
cancelled, and once GMO has confirmed the cancels the position is closed at market. When GMO is slow
to confirm, the next management step finishes the exit; a crash in between changes nothing, the
request is in the database.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from signaldesk.exchange.errors import ExchangeError
from signaldesk.execution.manage import DESK_LOCK, manage_trade, resolve_unresolved
from signaldesk.execution.orders import cancel
from signaldesk.execution.records import (
    active_trades,
    load_order,
    load_trade,
    trade_orders,
    update_trade,
)
from signaldesk.state import halt

log = logging.getLogger("signaldesk.execution")


@dataclass(frozen=True)
class StopReport:
    """What /stop did: whether this call halted trading, the orders it cancelled, the trades it
    flattened."""

    halted_now: bool
    cancelled_orders: list[int] = field(default_factory=list)
    flattened_trades: list[int] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)


def _withdrawn(db, trade_id: int) -> set[int]:
    """Return the ids of the trade's orders the desk has asked to cancel."""
    return {o.id for o in trade_orders(db, trade_id) if o.cancel_reason}


def emergency_stop(db, exchange, settings, now: datetime, by: str, flatten: bool) -> StopReport:
    """Halt trading, cancel resting entries and, with flatten, close every open trade at market.
    Idempotent."""
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
            before = _withdrawn(db, trade.id)
            if flatten:
                update_trade(db, trade.id, now, exit_requested="emergency")
                flattened.append(trade.id)
            else:
                notices += _cancel_entries(db, exchange, trade.id, now)
            notices += manage_trade(db, exchange, settings, rules[trade.symbol], trade.id, now)
            cancelled += sorted(_withdrawn(db, trade.id) - before)
        return StopReport(halted_now, cancelled, flattened, notices)


def _cancel_entries(db, exchange, trade_id: int, now: datetime) -> list[str]:
    """Cancel the working entry orders of a trade (protection stays).

    A cancel that did not reach the exchange (maintenance, a rate limit, a lost connection) leaves
    the entry resting and able to fill: raise, so the /stop stays owed and is retried, and the
    trader hears it is not done rather than "Cancelled orders: none".
    """
    notices: list[str] = []
    for row in trade_orders(db, trade_id):
        if row.purpose == "entry" and row.is_working and not row.is_cancelling:
            notices += cancel(db, exchange, row, now, "/stop")
            after = load_order(db, row.id)
            if after.is_working and not after.is_cancelling:
                raise ExchangeError(
                    f"the cancel of entry order #{row.id} of trade #{trade_id} did not reach "
                    "the exchange; the order still rests"
                )
    return notices


def close_trade(db, exchange, settings, trade_id: int, now: datetime, by: str) -> list[str]:
    """Close one open trade at market on a person's request (exit reason manual); return notices."""
    with DESK_LOCK:
        trade = load_trade(db, trade_id)
        if trade is None or not trade.is_active:
            return [f"Trade #{trade_id} is not open; nothing to close."]
        notices = [f"Closing trade #{trade_id} at market, as asked by {by}."]
        update_trade(db, trade_id, now, exit_requested="manual")
        rules = exchange.symbol_rules()[trade.symbol]
        return notices + manage_trade(db, exchange, settings, rules, trade_id, now)
