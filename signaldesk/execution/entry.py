"""From an approved signal to a live entry order: fresh risk check, sizing, a passive post-only limit."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from signaldesk.exchange.errors import ExchangeError
from signaldesk.execution.manage import DESK_LOCK, manage_trade, resolve_unresolved
from signaldesk.execution.orders import send
from signaldesk.execution.plan import entry_intent, entry_side, passive_price
from signaldesk.execution.records import (
    insert_trade,
    load_trade_for_signal,
    set_signal_status,
    update_trade,
)
from signaldesk.risk import TradeProposal, check_new_trade, enforce_loss_limits, risk_snapshot
from signaldesk.sizing import Sizing, TradeLevels, size_for_risk, trade_levels


@dataclass(frozen=True)
class ExecutionOutcome:
    """What became of an approved signal: EXECUTED (entry live or filled), BLOCKED (risk said no) or FAILED."""

    status: str
    trade_id: int | None
    reason: str
    notices: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ApprovedSignal:
    """The parts of an approved signal execution needs."""

    id: int
    status: str
    symbol: str
    direction: str
    atr: Decimal | None
    signal_price: Decimal | None
    planned: TradeLevels | None = None
    planned_size: Decimal | None = None


def load_signal(db, signal_id: int) -> ApprovedSignal | None:
    """Return a signal's status, symbol, direction, ATR, price at signal time and the approved plan, or None."""
    row = db.execute(
        "SELECT id, status, symbol, direction, atr, COALESCE(close_price, entry_price), entry_price, "
        "stop_loss, take_profit_1, take_profit_2, size FROM signals WHERE id = ?",
        [signal_id],
    ).fetchone()
    if row is None:
        return None
    levels = [_decimal(v) for v in row[6:10]]
    planned = TradeLevels(*levels) if all(v is not None for v in levels) else None
    return ApprovedSignal(
        row[0],
        row[1],
        row[2],
        row[3],
        _decimal(row[4]),
        _decimal(row[5]),
        planned,
        _decimal(row[10]),
    )


def approved_levels(signal: ApprovedSignal, price: Decimal) -> TradeLevels | None:
    """Return the levels the person approved (possibly /modify-ed), entering no worse than the approved entry."""
    plan = signal.planned
    if plan is None:
        return None
    entry = min(price, plan.entry) if signal.direction == "LONG" else max(price, plan.entry)
    return dataclasses.replace(plan, entry=entry)


def approved_sizing(sizing: Sizing, signal: ApprovedSignal, levels: TradeLevels, rules) -> Sizing:
    """Cap the fresh risk-based size at the size the person approved (sizes only ever go down)."""
    if not sizing.ok or signal.planned_size is None or signal.planned_size >= sizing.size:
        return sizing
    if signal.planned_size < rules.min_size:
        return Sizing(
            Decimal(0),
            Decimal(0),
            Decimal(0),
            f"the approved size {signal.planned_size} is below the minimum order of {rules.min_size}",
        )
    size = signal.planned_size
    return Sizing(size, size * levels.stop_distance, size * levels.entry)


def _decimal(value) -> Decimal | None:
    """Return a Decimal from a TEXT column, None for NULL or empty."""
    return Decimal(value) if value not in (None, "") else None


def execute_signal(db, exchange, settings, signal_id: int, now: datetime) -> ExecutionOutcome:
    """Turn an APPROVED signal into a trade with a live entry order, or say why not (BLOCKED / FAILED)."""
    with DESK_LOCK:
        signal = load_signal(db, signal_id)
        if signal is None:
            return ExecutionOutcome("FAILED", None, f"Signal #{signal_id} does not exist.")
        existing = load_trade_for_signal(db, signal_id)
        if existing is not None:
            return ExecutionOutcome(
                "EXECUTED", existing.id, f"Signal #{signal_id} already has trade #{existing.id}."
            )
        if signal.status != "APPROVED":
            return ExecutionOutcome(
                "FAILED", None, f"Signal #{signal_id} is {signal.status}, not APPROVED."
            )
        if signal.direction not in ("LONG", "SHORT") or not signal.atr or not signal.signal_price:
            return _finish(
                db, signal, "FAILED", "the signal has no direction, ATR or price to trade from", now
            )
        notices = resolve_unresolved(db, exchange, settings.mode, now)
        try:
            outcome = _enter(db, exchange, settings, signal, now)
        except ExchangeError as exc:
            outcome = _finish(
                db, signal, "FAILED", f"could not read the market or account: {exc}", now
            )
        return dataclasses.replace(outcome, notices=notices + outcome.notices)


def _enter(db, exchange, settings, signal: ApprovedSignal, now: datetime) -> ExecutionOutcome:
    """Check risk with fresh data, size the trade and send the entry order."""
    rules = exchange.symbol_rules()[signal.symbol]
    book = exchange.order_book(signal.symbol)
    snapshot = risk_snapshot(db, exchange, settings, now)
    notices = enforce_loss_limits(db, snapshot, now)
    if notices:
        snapshot = dataclasses.replace(snapshot, halted=True, halt_reason="loss limit reached")
    price = passive_price(entry_side(signal.direction), book, rules.tick_size)
    if price is None:
        return _finish(
            db, signal, "BLOCKED", f"the {signal.symbol} order book is empty", now, notices
        )
    try:
        levels = approved_levels(signal, price) or trade_levels(
            signal.direction, price, signal.atr, rules.tick_size, settings.risk
        )
    except ValueError as exc:
        return _finish(db, signal, "BLOCKED", str(exc), now, notices)
    if (levels.stop_loss - levels.entry) * (1 if signal.direction == "LONG" else -1) >= 0:
        return _finish(
            db,
            signal,
            "BLOCKED",
            f"the price {levels.entry} is already beyond the approved stop {levels.stop_loss}",
            now,
            notices,
        )
    sizing = approved_sizing(
        size_for_risk(snapshot.equity_jpy, levels, rules, settings.risk), signal, levels, rules
    )
    proposal = TradeProposal(
        signal.symbol,
        signal.direction,
        sizing.size,
        price,
        levels.stop_loss,
        signal.atr,
        signal.signal_price,
    )
    reasons = ([sizing.refusal] if not sizing.ok else []) + check_new_trade(
        snapshot, proposal, book, settings, now
    )
    if reasons:
        return _finish(db, signal, "BLOCKED", " ".join(reasons), now, notices)
    return _send_entry(db, exchange, settings, signal, levels, sizing, now, notices)


def _send_entry(db, exchange, settings, signal, levels, sizing, now, notices) -> ExecutionOutcome:
    """Create the trade, send its entry order and run a first management step (a fill gets its stop at once)."""
    trade_id = insert_trade(
        db, signal.id, signal.symbol, signal.direction, settings.mode, sizing.size, levels, now
    )
    intent = entry_intent(signal.symbol, signal.direction, sizing.size, levels.entry)
    order, sent = send(db, exchange, settings.mode, trade_id, intent, now)
    if order.status == "REJECTED":
        update_trade(db, trade_id, now, status="cancelled")
        return _finish(
            db,
            signal,
            "FAILED",
            f"the exchange refused the entry order: {order.error}",
            now,
            notices + sent,
            trade_id,
        )
    set_signal_status(
        db,
        signal.id,
        "EXECUTED",
        f"trade #{trade_id}",
        now,
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
        "EXECUTED", trade_id, f"trade #{trade_id}: entry order sent", notices + sent + managed
    )


def _finish(
    db,
    signal: ApprovedSignal,
    status: str,
    reason: str,
    now: datetime,
    notices: list[str] | None = None,
    trade_id: int | None = None,
) -> ExecutionOutcome:
    """Move the signal to BLOCKED/FAILED with the reason and return the outcome."""
    set_signal_status(db, signal.id, status, f"{status.lower()}: {reason}", now)
    text = f"Signal #{signal.id} {signal.direction} {signal.symbol} {status.lower()}: {reason}"
    return ExecutionOutcome(status, trade_id, reason, [*(notices or []), text])
