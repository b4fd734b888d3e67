"""From an approved signal to a live entry order: fresh risk check, sizing, a passive post-only
limit."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from signaldesk import signals
from signaldesk.exchange.errors import ExchangeError
from signaldesk.execution.manage import DESK_LOCK, manage_trade, resolve_unresolved
from signaldesk.execution.orders import send
from signaldesk.execution.plan import entry_intent, entry_losscut, entry_side, passive_price
from signaldesk.execution.records import (
    ORDER_REJECTED,
    insert_trade,
    load_trade_for_signal,
    trade_orders,
    update_trade,
)
from signaldesk.risk import (
    TradeProposal,
    check_new_trade,
    enforce_loss_limits,
    risk_snapshot,
    room_jpy,
)
from signaldesk.signals import APPROVED, BLOCKED, EXECUTED, FAILED, Signal
from signaldesk.sizing import Sizing, TradeLevels, size_for_risk, trade_levels


@dataclass(frozen=True)
class ExecutionOutcome:
    """What became of an approved signal: EXECUTED (entry live or filled), BLOCKED (risk said no) or
    FAILED."""

    status: str
    trade_id: int | None
    reason: str
    notices: list[str] = field(default_factory=list)


def planned_levels(signal: Signal) -> TradeLevels | None:
    """Return the entry, stop and take-profits the person approved, or None when the plan is
    incomplete."""
    entry, stop = signal.entry_price, signal.stop_loss
    tp1, tp2 = signal.take_profit_1, signal.take_profit_2
    if entry is None or stop is None or tp1 is None or tp2 is None:
        return None
    return TradeLevels(entry, stop, tp1, tp2)


def trade_basis(signal: Signal) -> tuple[str, Decimal, Decimal] | None:
    """Return the direction, ATR and scored price a trade is planned from, or None when one is
    missing."""
    direction, atr, price = signal.direction, signal.atr, signal_price(signal)
    if direction not in ("LONG", "SHORT") or not atr or not price:
        return None
    return direction, atr, price


def signal_price(signal: Signal) -> Decimal | None:
    """Return the price the signal was scored at (the candle's close, else the proposed entry)."""
    return signal.close_price if signal.close_price is not None else signal.entry_price


def approved_levels(signal: Signal, price: Decimal) -> TradeLevels | None:
    """Return the levels the person approved (possibly /modify-ed), entering no worse than the
    approved entry."""
    plan = planned_levels(signal)
    if plan is None:
        return None
    entry = min(price, plan.entry) if signal.direction == "LONG" else max(price, plan.entry)
    return dataclasses.replace(plan, entry=entry)


def approved_sizing(sizing: Sizing, signal: Signal, levels: TradeLevels, rules) -> Sizing:
    """Cap the fresh risk-based size at the size the person approved (sizes only ever go down)."""
    if not sizing.ok or signal.size is None or signal.size >= sizing.size:
        return sizing
    if signal.size < rules.min_size:
        return Sizing(
            Decimal(0),
            Decimal(0),
            Decimal(0),
            f"the approved size {signal.size} is below the minimum order of {rules.min_size}",
        )
    size = signal.size
    return Sizing(size, size * levels.stop_distance, size * levels.entry)


def execute_signal(db, exchange, settings, signal_id: int, now: datetime) -> ExecutionOutcome:
    """Turn an APPROVED signal into a trade with a live entry order, or say why not (BLOCKED /
    FAILED).

    Steps (all under DESK_LOCK: one execution or management step at a time in the process):
    1. Load the signal. A trade already recorded for it means an earlier call (or a crash after the
       POST) got this far: say so and send nothing; the order is never posted twice.
    2. Only APPROVED moves on. The move to EXECUTED/BLOCKED/FAILED later is a compare-and-set from
       APPROVED, so two callers cannot both finish the same signal.
    3. Resolve orders whose answer was lost before anything new is sent (`resolve_unresolved`), so
       the risk check below counts what really rests on the exchange.
    4. `_enter` reads the world as it is now (book, balance, positions), enforces the loss limits,
       plans the levels and the size from the risk left, and runs the risk check: a refusal is
       BLOCKED with its reasons, nothing sent.
    5. `_send_entry` records the trade and the order (PLACING) before the POST, posts once with the
       position's loss-cut attached, and records the answer; a lost answer is resolved from GMO's
       records, never by sending again. Then EXECUTED, and a first management step puts the stop on
       the exchange at once if the entry filled on arrival.
    6. A read that fails after the order is live never marks the signal FAILED: the order is on
       the exchange and the next management step follows it.
    """
    with DESK_LOCK:
        signal = signals.load(db, signal_id)
        if signal is None:
            return ExecutionOutcome(FAILED, None, f"Signal #{signal_id} does not exist.")
        existing = load_trade_for_signal(db, signal_id)
        if existing is not None:
            return ExecutionOutcome(
                EXECUTED, existing.id, f"Signal #{signal_id} already has trade #{existing.id}."
            )
        if signal.status != APPROVED:
            return ExecutionOutcome(
                FAILED, None, f"Signal #{signal_id} is {signal.status}, not APPROVED."
            )
        basis = trade_basis(signal)
        if basis is None:
            return _finish(
                db, signal, FAILED, "the signal has no direction, ATR or price to trade from", now
            )
        notices = resolve_unresolved(db, exchange, settings.mode, now)
        try:
            outcome = _enter(db, exchange, settings, signal, basis, now)
        except ExchangeError as exc:
            outcome = _finish(
                db, signal, FAILED, f"could not read the market or account: {exc}", now
            )
        return dataclasses.replace(outcome, notices=notices + outcome.notices)


def _enter(
    db, exchange, settings, signal: Signal, basis: tuple[str, Decimal, Decimal], now: datetime
) -> ExecutionOutcome:
    """Check risk with fresh data, size the trade and send the entry order (`basis`: direction,
    ATR and scored price)."""
    direction, atr, scored_price = basis
    rules = exchange.symbol_rules()[signal.symbol]
    book = exchange.order_book(signal.symbol)
    snapshot = risk_snapshot(db, exchange, settings, now)
    notices = enforce_loss_limits(db, snapshot, now)
    if notices:
        snapshot = dataclasses.replace(snapshot, halted=True, halt_reason="loss limit reached")
    price = passive_price(entry_side(direction), book, rules.tick_size)
    if price is None:
        return _finish(
            db, signal, BLOCKED, f"the {signal.symbol} order book is empty", now, notices
        )
    try:
        levels = approved_levels(signal, price) or trade_levels(
            direction, price, atr, rules.tick_size, settings.risk
        )
    except ValueError as exc:
        return _finish(db, signal, BLOCKED, str(exc), now, notices)
    if (levels.stop_loss - levels.entry) * (1 if direction == "LONG" else -1) >= 0:
        return _finish(
            db,
            signal,
            BLOCKED,
            f"the price {levels.entry} is already beyond the approved stop {levels.stop_loss}",
            now,
            notices,
        )
    room = room_jpy(snapshot, settings.risk)
    sizing = approved_sizing(
        size_for_risk(snapshot.equity_jpy, levels, rules, settings.risk, room),
        signal,
        levels,
        rules,
    )
    proposal = TradeProposal(
        signal.symbol,
        direction,
        sizing.size,
        levels.entry,  # the price the order is placed at
        levels.stop_loss,
        atr,
        scored_price,
    )
    reasons = ([sizing.refusal] if not sizing.ok else []) + check_new_trade(
        snapshot, proposal, book, settings, now
    )
    if reasons:
        return _finish(db, signal, BLOCKED, " ".join(reasons), now, notices)
    return _send_entry(db, exchange, settings, signal, levels, sizing, now, notices)


def _send_entry(db, exchange, settings, signal, levels, sizing, now, notices) -> ExecutionOutcome:
    """Create the trade, send its entry order and run a first management step (a fill gets its stop
    at once)."""
    trade_id = insert_trade(
        db, signal.id, signal.symbol, signal.direction, settings.mode, sizing.size, levels, now
    )
    losscut = entry_losscut(
        signal.symbol, signal.direction, levels.entry, levels.stop_loss, settings.risk
    )
    intent = entry_intent(signal.symbol, signal.direction, sizing.size, levels.entry, 1, losscut)
    try:
        order, sent = send(db, exchange, settings.mode, trade_id, intent, now)
    # send() answers every POST outcome itself: this is a read after it
    except ExchangeError as exc:
        order = trade_orders(db, trade_id)[-1]
        sent = [
            f"Entry order of trade #{trade_id} is on the exchange as {order.exchange_order_id}; "
            f"reading its state failed ({exc}), the next management step follows it."
        ]
    if order.status == ORDER_REJECTED:
        update_trade(db, trade_id, now, status="cancelled")
        return _finish(
            db,
            signal,
            FAILED,
            f"the exchange refused the entry order: {order.error}",
            now,
            notices + sent,
            trade_id,
        )
    signals.move(
        db,
        signal.id,
        EXECUTED,
        append_note=f"trade #{trade_id}",
        entry_price=levels.entry,
        stop_loss=levels.stop_loss,
        take_profit_1=levels.take_profit_1,
        take_profit_2=levels.take_profit_2,
        size=sizing.size,
        risk_jpy=sizing.risk_jpy,
    )
    try:
        managed = manage_trade(
            db, exchange, settings, exchange.symbol_rules()[signal.symbol], trade_id, now
        )
    except ExchangeError:
        managed = []  # the order is live; the next manage_trades step follows it
    return ExecutionOutcome(
        EXECUTED, trade_id, f"trade #{trade_id}: entry order sent", notices + sent + managed
    )


def recover_approved(db, exchange, settings, now: datetime) -> list[ExecutionOutcome]:
    """After a restart: execute each APPROVED signal that never got an entry order if its window is
    still open (a fresh risk check decides), else mark it FAILED with the reason; an APPROVED signal
    whose trade was cancelled before its entry lived is FAILED too. Return what became of each."""
    outcomes = []
    with DESK_LOCK:
        for signal in signals.approved_without_trade(db):
            if signal.expires_at is not None and now < signal.expires_at:
                signal_id = signals.stored_id(signal)
                outcomes.append(execute_signal(db, exchange, settings, signal_id, now))
                continue
            closed = f"{signal.expires_at:%Y-%m-%d %H:%M} UTC" if signal.expires_at else "unknown"
            reason = (
                "the bot stopped before the order was sent and the approval window has closed "
                f"({closed}); no order was sent"
            )
            outcomes.append(_finish(db, signal, FAILED, reason, now))
        for signal_id, trade_id in signals.approved_with_cancelled_trade(db):
            reason = f"trade #{trade_id} was cancelled before its entry order filled"
            cancelled = signals.load(db, signal_id)
            assert cancelled is not None, "signals are never deleted and this id was just read"
            outcomes.append(_finish(db, cancelled, FAILED, reason, now))
    return outcomes


def _finish(
    db,
    signal: Signal,
    status: str,
    reason: str,
    now: datetime,
    notices: list[str] | None = None,
    trade_id: int | None = None,
) -> ExecutionOutcome:
    """Move the signal to BLOCKED/FAILED with the reason and return the outcome."""
    signals.move(db, signals.stored_id(signal), status, append_note=f"{status.lower()}: {reason}")
    text = f"Signal #{signal.id} {signal.direction} {signal.symbol} {status.lower()}: {reason}"
    return ExecutionOutcome(status, trade_id, reason, [*(notices or []), text])
