"""Managing live trades: follow fills, re-quote entries, keep every position covered, take profits,
exit, close.

One management step: resolve lost answers at once, read the positions, adopt any position the desk
does not know, then for every trade sync its orders, plan, act and settle. A step repeats its plan
(at most a few passes) while it is waiting for the exchange to confirm cancels, so an exit finishes
within one step when GMO is quick. An order whose outcome is unknown never blocks the rest of its
trade.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from datetime import datetime

from signaldesk.exchange.errors import ExchangeError
from signaldesk.exchange.model import Position, is_leverage
from signaldesk.execution import notices as say
from signaldesk.execution.adopt import adopt_orphans, adopt_stray_closes, record_foreign_closes
from signaldesk.execution.orders import (
    await_cancels,
    cancel,
    move_losscut,
    reprice,
    send,
    sync_orders,
)
from signaldesk.execution.plan import (
    Action,
    Cancel,
    MoveLosscut,
    Place,
    Reprice,
    entry_step,
    plan_trade,
    trade_changes,
    trailed_stop,
)
from signaldesk.execution.records import (
    active_trades,
    existing_trade,
    load_order,
    trade_fills,
    trade_orders,
    update_trade,
)
from signaldesk.execution.resolve import resolve_all
from signaldesk.execution.watch import WatchedExchange, after_step
from signaldesk.ledger import book_position_fees, trade_leverage_fees
from signaldesk.risk import enforce_loss_limits, risk_snapshot
from signaldesk.state import trading_state

log = logging.getLogger("signaldesk.execution")
# One execution step at a time per process: the bot may call these functions from several worker
# threads.
DESK_LOCK = threading.RLock()
MAX_PASSES = 3
Positions = dict[int, Position]


def manage_trades(db, exchange, settings, now: datetime) -> list[str]:
    """Run one management step over every pending and open trade; return notices for the person.

    Exchange failures are counted across steps; enough in a row halt trading (see `watch`).
    """
    with DESK_LOCK:
        watched = WatchedExchange(exchange)
        notices, unconfirmed = desk_step(db, watched, settings, now)
        return notices + after_step(db, settings, watched, unconfirmed, now)


def resolve_unresolved(db, exchange, mode: str, now: datetime) -> list[str]:
    """Resolve every order whose POST outcome is unknown (PLACING after a crash, UNKNOWN after a
    timeout)."""
    return resolve_all(db, exchange, mode, now)


def read_positions(exchange, symbols) -> dict[str, Positions | None]:
    """Return the open positions of each leverage symbol by id (None where they could not be
    read)."""
    found: dict[str, Positions | None] = {}
    for symbol in sorted(s for s in set(symbols) if is_leverage(s)):
        try:
            found[symbol] = {p.position_id: p for p in exchange.open_positions(symbol)}
        except ExchangeError as exc:
            log.warning("open positions of %s not read this step: %s", symbol, exc)
            found[symbol] = None
    return found


def desk_step(db, exchange, settings, now: datetime) -> tuple[list[str], list]:
    """Run the step; return notices and the trades whose protection could not be confirmed (with the
    error).

    The desk's own trades come first (their new fills are recorded before anything is taken for a
    stranger); then positions without a desk trade are adopted and protected in the same step. The
    step fails fast: once the exchange stopped answering reads, the remaining trades wait for the
    next step (the stops and loss-cuts on the exchange keep guarding them) instead of holding the
    desk for every retry.
    """
    notices = resolve_unresolved(db, exchange, settings.mode, now)
    trades = active_trades(db, settings.mode)
    try:
        rules = exchange.symbol_rules()
    except ExchangeError as exc:
        log.warning("manage_trades: cannot read symbol rules: %s", exc)
        return notices, [(t, exc) for t in trades]
    positions = read_positions(exchange, [*settings.strategy.symbols, *(t.symbol for t in trades)])
    unconfirmed: list = []
    notices += manage_each(db, exchange, settings, rules, trades, positions, now, unconfirmed)
    if not exchange.blind:
        notices += adopt_orphans(db, exchange, settings, positions, now)
        notices += adopt_stray_closes(db, exchange, positions, settings.mode, now)
        managed = {t.id for t in trades}
        adopted = [t for t in active_trades(db, settings.mode) if t.id not in managed]
        notices += manage_each(db, exchange, settings, rules, adopted, positions, now, unconfirmed)
    fees = book_position_fees(db, settings.mode, now)  # fees whose close came in late
    notices += fees
    if not (trades or fees) or exchange.blind:
        # nothing was open and no fee restated a trade (equity did not move), or the exchange is
        # down
        return notices, unconfirmed
    try:
        notices += enforce_loss_limits(db, risk_snapshot(db, exchange, settings, now), now)
    except ExchangeError as exc:
        log.warning("manage_trades: loss limits not checked this step: %s", exc)
    return notices, unconfirmed


def manage_each(
    db, exchange, settings, rules, trades, positions, now, unconfirmed: list
) -> list[str]:
    """Manage trades one by one; note each whose protection could not be confirmed."""
    notices: list[str] = []
    for trade in trades:
        if exchange.blind:
            unconfirmed.append((trade, exchange.blind[-1]))
            continue
        try:
            notices += manage_trade(
                db,
                exchange,
                settings,
                rules[trade.symbol],
                trade.id,
                now,
                positions.get(trade.symbol),
            )
        except ExchangeError as exc:
            log.warning("manage_trades: trade %s not confirmed this step: %s", trade.id, exc)
            unconfirmed.append((trade, exc))
    return notices


def manage_trade(
    db, exchange, settings, rules, trade_id: int, now: datetime, positions: Positions | None = None
) -> list[str]:
    """Run one management step for one trade and return what the person should hear.

    Steps (the caller holds DESK_LOCK; the bot runs this every 15 s and when GMO reports a fill):
    1. Sync the trade's working orders with GMO: status, executed size and every new fill.
    2. Book the leverage fees the known fills imply (before any P/L is written).
    3. Read the book and the open positions once; record closes GMO made itself (a loss-cut, a
       close on the website) as the trade's exit.
    4. Settle: write what the fills imply (opened, break-even, closed, cancelled).
    5. Trail the stop when configured (a changeOrder: the stop never leaves the exchange).
    6. Ask the pure planner what to do and apply it, protection first: a stop for any unprotected
       size goes out before a take-profit or an exit removes one; a stop that must be cancelled to
       free closable size is cancelled only after the loss-cut was moved up to it, and its
       replacement waits for GMO to confirm the cancel. Settle again after each pass. After a
       cancel or a close the plan is asked again (at most MAX_PASSES), so what the change made
       possible happens in the same step rather than 15 s later.
    """
    trade = existing_trade(db, trade_id)
    notices = sync_orders(
        db, exchange, [o for o in trade_orders(db, trade_id) if o.is_working], now
    )
    book_position_fees(db, settings.mode, now, trade_id)  # with the fills known, before the P/L
    book = exchange.order_book(trade.symbol)
    if positions is None and is_leverage(trade.symbol):
        positions = {p.position_id: p for p in exchange.open_positions(trade.symbol)}
    notices += record_foreign_closes(db, exchange, trade, positions, now)
    notices += settle_trade(db, exchange, settings, rules, trade_id, book, now)
    notices += trail_stop(db, rules, settings.risk, trade_id, book, now)
    positions = dict(positions or {})
    for _ in range(MAX_PASSES):
        actions = planned(db, settings, rules, trade_id, book, now, positions)
        if not actions:
            break
        notices += apply_actions(db, exchange, settings.mode, trade_id, actions, now, positions)
        notices += settle_trade(db, exchange, settings, rules, trade_id, book, now)
        if not any(isinstance(a, Cancel) or _is_close(a) for a in actions):
            break
    return notices


def planned(db, settings, rules, trade_id, book, now, positions: Positions) -> list[Action]:
    """Return the trade's plan; a halt stops new exposure (no entry re-quotes), protection goes
    on."""
    trade = existing_trade(db, trade_id)
    actions = plan_trade(
        trade,
        trade_orders(db, trade_id),
        trade_fills(db, trade_id),
        book,
        rules,
        settings.risk,
        now,
        positions,
    )
    if trading_state(db).halted:
        actions = [a for a in actions if not (isinstance(a, Place) and a.intent.purpose == "entry")]
    return actions


def _is_close(action: Action) -> bool:
    """Return True for a take-profit or exit order (it may leave size uncovered when it does not
    fill)."""
    return isinstance(action, Place) and action.intent.purpose not in ("entry", "stop")


def apply_actions(db, exchange, mode, trade_id, actions, now, positions: Positions) -> list[str]:
    """Carry out planned actions in order, then wait briefly for any cancels to be confirmed."""
    notices: list[str] = []
    for action in actions:
        notices += apply_action(db, exchange, mode, trade_id, action, now)
        if isinstance(action, MoveLosscut) and action.position_id in positions:
            positions[action.position_id] = dataclasses.replace(
                positions[action.position_id], losscut_price=action.price
            )
    cancelled = [a.order_id for a in actions if isinstance(a, Cancel)]
    return notices + (await_cancels(db, exchange, cancelled, now) if cancelled else [])


def apply_action(
    db, exchange, mode: str, trade_id: int, action: Action, now: datetime
) -> list[str]:
    """Carry out one planned action at the exchange and record it."""
    if isinstance(action, Place):
        return send(db, exchange, mode, trade_id, action.intent, now)[1]
    if isinstance(action, MoveLosscut):
        symbol = existing_trade(db, trade_id).symbol
        return move_losscut(db, exchange, symbol, action.position_id, action.price)
    row = load_order(db, action.order_id)
    if not row.is_working:
        return []
    if isinstance(action, Cancel):
        return cancel(db, exchange, row, now, action.why)
    if isinstance(action, Reprice):
        return reprice(db, exchange, row, action.price, now)
    raise TypeError(f"unknown action {action!r}")


def trail_stop(db, rules, risk, trade_id: int, book, now: datetime) -> list[str]:
    """Tighten the trade's stop when the trailing stop (after take-profit 1) has moved; the plan
    then moves the stop orders with it."""
    trade = existing_trade(db, trade_id)
    if not trade.is_active:
        return []
    tighter = trailed_stop(trade, book, rules, risk)
    if tighter is None:
        return []
    update_trade(db, trade_id, now, stop_loss=tighter)
    text = f"Trade #{trade_id}: trailing stop moved to {say.money(tighter)}."
    return [say.Notice(text, "trailed", trade_id, price=tighter)]


def settle_trade(db, exchange, settings, rules, trade_id: int, book, now: datetime) -> list[str]:
    """Write the trade columns its fills imply; on close or cancel, cancel what still rests; return
    notices."""
    trade = existing_trade(db, trade_id)
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
            if row.is_working and not row.is_cancelling:
                notices += cancel(db, exchange, row, now, f"trade {changes['status']}")
    return notices


def _transition_notices(trade, changes: dict, leverage_fees=None) -> list[str]:
    """Return notices for a trade that just opened, moved its stop to break-even, closed or was
    cancelled."""
    status = changes.get("status", trade.status)
    notices: list[str] = []
    if status in ("open", "closed") and trade.status == "pending":
        notices.append(say.trade_opened(trade, changes))
    if changes.get("tp1_done"):
        notices.append(say.stop_to_break_even(trade, changes["stop_loss"]))
    if status == "closed":
        notices.append(say.trade_closed(trade, changes, leverage_fees))
    if status == "cancelled":
        notices.append(say.trade_cancelled(trade))
    return notices
