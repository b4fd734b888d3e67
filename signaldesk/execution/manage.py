"""Managing live trades: follow fills, re-quote entries, keep stops on the exchange, take profits, time stops, close."""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from signaldesk.exchange.errors import ExchangeError
from signaldesk.execution import notices as say
from signaldesk.execution.orders import cancel, reprice, resolve_order, send, sync_orders
from signaldesk.execution.plan import (
    Action,
    Cancel,
    Place,
    Reprice,
    entry_step,
    plan_trade,
    trade_changes,
)
from signaldesk.execution.records import (
    UNRESOLVED,
    active_trades,
    load_order,
    load_trade,
    orders_with_status,
    trade_fills,
    trade_orders,
    update_trade,
)
from signaldesk.ledger import book_position_fees, trade_leverage_fees
from signaldesk.risk import enforce_loss_limits, risk_snapshot
from signaldesk.state import trading_state

log = logging.getLogger("signaldesk.execution")
# One execution step at a time per process: the bot may call these functions from several worker threads.
DESK_LOCK = threading.RLock()


def manage_trades(db, exchange, settings, now: datetime) -> list[str]:
    """Run one management step over every pending and open trade; return notices for the person."""
    with DESK_LOCK:
        notices = resolve_unresolved(db, exchange, settings.mode, now)
        try:
            rules = exchange.symbol_rules()
        except ExchangeError as exc:
            log.warning("manage_trades: cannot read symbol rules: %s", exc)
            return notices
        for trade in active_trades(db, settings.mode):
            try:
                notices += manage_trade(db, exchange, settings, rules[trade.symbol], trade.id, now)
            except ExchangeError as exc:
                log.warning("manage_trades: trade %s skipped this step: %s", trade.id, exc)
        notices += book_position_fees(db, settings.mode, now)  # fees whose close came in late
        try:
            notices += enforce_loss_limits(db, risk_snapshot(db, exchange, settings, now), now)
        except ExchangeError as exc:
            log.warning("manage_trades: loss limits not checked this step: %s", exc)
        return notices


def resolve_unresolved(db, exchange, mode: str, now: datetime) -> list[str]:
    """Resolve every order whose POST outcome is unknown (PLACING after a crash, UNKNOWN after a timeout)."""
    notices: list[str] = []
    for row in orders_with_status(db, mode, UNRESOLVED):
        notices += resolve_order(db, exchange, row, now)
    return notices


def manage_trade(db, exchange, settings, rules, trade_id: int, now: datetime) -> list[str]:
    """Run one management step for one trade: sync, settle, act on the plan, settle again."""
    trade = load_trade(db, trade_id)
    notices = sync_orders(
        db, exchange, [o for o in trade_orders(db, trade_id) if o.is_working], now
    )
    book_position_fees(db, settings.mode, now, trade_id)  # with the fills known, before the P/L
    book = exchange.order_book(trade.symbol)
    notices += settle_trade(db, exchange, settings, rules, trade_id, book, now)
    trade = load_trade(db, trade_id)
    actions = plan_trade(
        trade,
        trade_orders(db, trade_id),
        trade_fills(db, trade_id),
        book,
        rules,
        settings.risk,
        now,
    )
    if trading_state(
        db
    ).halted:  # a halt stops new exposure: no entry re-quotes, protection goes on
        actions = [a for a in actions if not (isinstance(a, Place) and a.intent.purpose == "entry")]
    for action in actions:
        notices += apply_action(db, exchange, settings.mode, trade_id, action, now)
    return notices + settle_trade(db, exchange, settings, rules, trade_id, book, now)


def apply_action(
    db, exchange, mode: str, trade_id: int, action: Action, now: datetime
) -> list[str]:
    """Carry out one planned action at the exchange and record it."""
    if isinstance(action, Place):
        return send(db, exchange, mode, trade_id, action.intent, now)[1]
    row = load_order(db, action.order_id)
    if not row.is_working:
        return []
    if isinstance(action, Cancel):
        return cancel(db, exchange, row, now)
    if isinstance(action, Reprice):
        return reprice(db, exchange, row, action.price, now)
    raise TypeError(f"unknown action {action!r}")


def settle_trade(db, exchange, settings, rules, trade_id: int, book, now: datetime) -> list[str]:
    """Write the trade columns its fills imply; on close or cancel, cancel what still rests; return notices."""
    trade = load_trade(db, trade_id)
    if not trade.is_active:
        return []
    orders = trade_orders(db, trade_id)
    _, entry_done = entry_step(trade, orders, book, rules, settings.risk, now)
    leverage = trade_leverage_fees(db, trade_id)
    changes = trade_changes(
        trade, orders, trade_fills(db, trade_id), entry_done, rules, settings.risk, leverage
    )
    update_trade(db, trade_id, now, **changes)
    notices = _transition_notices(trade, changes, leverage)
    if changes.get("status") in ("closed", "cancelled"):
        for row in trade_orders(db, trade_id):
            if row.is_working:
                notices += cancel(db, exchange, row, now)
    return notices


def _transition_notices(trade, changes: dict, leverage_fees=None) -> list[str]:
    """Return notices for a trade that just opened, moved its stop to break-even, closed or was cancelled."""
    status = changes.get("status", trade.status)
    notices = []
    if status in ("open", "closed") and trade.status == "pending":
        notices.append(say.trade_opened(trade, changes))
    if changes.get("tp1_done"):
        notices.append(say.stop_to_break_even(trade, changes["stop_loss"]))
    if status == "closed":
        notices.append(say.trade_closed(trade, changes, leverage_fees))
    if status == "cancelled":
        notices.append(say.trade_cancelled(trade))
    return notices
