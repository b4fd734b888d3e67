"""What a signal nobody traded would have made: the desk's own plan replayed on the candles that
followed.

No second simulator: each signal is copied into a scratch in-memory database and run through exactly
what the backtest runs (signaldesk.backtest.engine: PolicyDesk and run_steps): approval,
`execute_signal` (fresh risk check, sizing, post-only entry), then `manage_trades` every 15 minutes
on the paper exchange over the stored candles (fills only when a later candle trades through,
exchange-side stops, take-profits, the time stop, execution and leverage fees). The scratch account
starts with the desk's equity at the signal's moment, so sizes are the desk's. The trade is entered
at the signal's own moment, as if approved at once; the risk state of the desk at that moment
(halts, the trades-per-day cap, loss limits) is not carried over: the outcome says what the plan
itself would have made.

Rejected and expired signals (the person's choice), filtered ones (a rule said no after the model
said yes) and blocked ones (the risk manager said no at the last step) get an outcome; the result
lands in `would_have`.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from signaldesk import signals
from signaldesk.clock import to_db
from signaldesk.columns import decimal_or_none, decimal_text, time_or_none
from signaldesk.signals import (
    APPROVED,
    BLOCKED,
    EXPIRED,
    FILTERED,
    PENDING,
    REJECTED,
    Signal,
    stored_id,
)
from signaldesk.storage import writing

if TYPE_CHECKING:
    from signaldesk.exchange.base import Exchange
    from signaldesk.exchange.feed import CandleFeed
    from signaldesk.settings import Settings
    from signaldesk.storage import Database

log = logging.getLogger("signaldesk.wouldhave")
ZERO = Decimal(0)
STEP = timedelta(minutes=15)
WARMUP = timedelta(days=1)  # the paper ticker looks back a day
UNCHOSEN = (REJECTED, EXPIRED, FILTERED, BLOCKED)
SIMULATOR = "would-have"
BATCH = 200  # simulations per call (about 20 ms each on one core)


@dataclass(frozen=True)
class WouldHave:
    """The outcome of one signal's plan had it been traded: closed (with P/L), not filled, or
    refused."""

    signal_id: int
    status: str
    outcome: str  # closed | not_filled | refused | no_plan
    detail: str = ""
    size: Decimal | None = None
    entry_price: Decimal | None = None
    entry_time: datetime | None = None
    exit_price: Decimal | None = None
    exit_time: datetime | None = None
    exit_reason: str | None = None
    fees_jpy: Decimal = ZERO
    leverage_fees_jpy: Decimal = ZERO
    pnl_jpy: Decimal = ZERO


def horizon(signal: Signal, settings: Settings) -> datetime:
    """Return when the plan is surely over: entry window, time stop and two more hours for the
    exit."""
    risk = settings.risk
    return signal.created_at + timedelta(
        minutes=risk.entry_window_minutes, hours=risk.time_stop_hours + 2
    )


def tradable(signal: Signal) -> bool:
    """Return True when the signal points somewhere and has what the desk plans a trade from."""
    return (
        signal.direction in ("LONG", "SHORT")
        and signal.atr is not None
        and (signal.close_price or signal.entry_price) is not None
    )


def as_proposal(signal: Signal, settings: Settings) -> Signal:
    """Return the signal as a fresh PENDING proposal at its own moment (its plan kept, if it had
    one)."""
    window = timedelta(minutes=settings.strategy.approval_window_minutes)
    return dataclasses.replace(
        signal,
        id=None,
        status=PENDING,
        expires_at=signal.created_at + window,
        approved_by=None,
        decided_at=None,
        decision_note=None,
        telegram_chat_id=None,
        telegram_message_id=None,
        announced_at=None,
    )


def simulate(signal: Signal, candles, settings: Settings, equity_jpy: Decimal) -> WouldHave:
    """Replay one signal's plan on `candles` (its symbol, from a day before it to its horizon); pure
    but for SQLite."""
    from signaldesk.candles import save_candles
    from signaldesk.exchange.feed import REPLAY_SPREAD_BPS, CandleFeed
    from signaldesk.exchange.paper import PaperExchange
    from signaldesk.storage import apply_migrations, open_db

    if not tradable(signal):
        return WouldHave(stored_id(signal), signal.status, "no_plan", "no direction, ATR or price")
    scratch_settings = scratch(settings, signal.symbol)
    db = open_db(":memory:")
    try:
        apply_migrations(db)
        save_candles(db, signal.symbol, "15m", list(candles), SIMULATOR, signal.created_at)
        feed = CandleFeed({signal.symbol: candles}, spread_bps=REPLAY_SPREAD_BPS)
        feed.advance_to(signal.created_at)
        exchange = PaperExchange(db, feed, starting_jpy=equity_jpy)
        copy_id = signals.insert(db, as_proposal(signal, scratch_settings))
        assert copy_id is not None, "the scratch database is empty: the insert cannot conflict"
        approve_at_once(db, exchange, scratch_settings, copy_id, signal.created_at)
        run_until_done(db, exchange, scratch_settings, feed, copy_id, horizon(signal, settings))
        return read_outcome(db, signal, copy_id)
    finally:
        db.close()


@contextmanager
def quiet_thread():
    """Keep this thread's log lines out of the desk's log while it runs a scratch desk (its
    approvals, orders and fills are not the desk's)."""
    me = threading.get_ident()

    def others(record: logging.LogRecord) -> bool:
        return record.thread != me

    handlers = list(logging.getLogger().handlers)
    for handler in handlers:
        handler.addFilter(others)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(others)


def scratch(settings: Settings, symbol: str):
    """Return the desk's settings for a paper replay of one symbol."""
    strategy = dataclasses.replace(settings.strategy, symbols=(symbol,))
    return dataclasses.replace(settings, mode="paper", strategy=strategy)


def approve_at_once(
    db: Database, exchange: Exchange, settings: Settings, signal_id: int, now: datetime
) -> None:
    """Approve the copy and execute it, as the bot does after a tap (and the backtest's
    PolicyDesk)."""
    from signaldesk.approvals import decide
    from signaldesk.execution import execute_signal

    if decide(db, signal_id, APPROVED, SIMULATOR, now).changed:
        execute_signal(db, exchange, settings, signal_id, now)


def run_until_done(
    db: Database,
    exchange: Exchange,
    settings: Settings,
    feed: CandleFeed,
    copy_id: int,
    until: datetime,
) -> None:
    """Run the desk's trade management every 15 minutes, as the backtest steps it, until the trade
    is over."""
    from signaldesk.execution import manage_trades
    from signaldesk.execution.records import load_trade_for_signal

    now = feed.now()
    while now < until:
        trade = load_trade_for_signal(db, copy_id)
        if trade is None or not trade.is_active:
            return
        now += STEP
        feed.advance_to(now)
        manage_trades(db, exchange, settings, now)


def read_outcome(db: Database, original: Signal, copy_id: int) -> WouldHave:
    """Read the scratch trade (or the refusal) back as a WouldHave."""
    from signaldesk.execution.records import load_trade_for_signal
    from signaldesk.ledger import trade_leverage_fees

    signal_id = stored_id(original)
    trade = load_trade_for_signal(db, copy_id)
    if trade is None or trade.status not in ("closed", "cancelled"):
        copy = signals.load(db, copy_id)
        note = (copy.decision_note or copy.status) if copy else "no trade"
        return WouldHave(signal_id, original.status, "refused", note)
    if trade.status == "cancelled":
        return WouldHave(signal_id, original.status, "not_filled", "the entry did not fill")
    leverage = trade_leverage_fees(db, trade.id)
    return WouldHave(
        signal_id,
        original.status,
        "closed",
        "",
        trade.filled_size,
        trade.entry_price,
        trade.entry_time,
        trade.exit_price,
        trade.exit_time,
        trade.exit_reason,
        trade.fees_jpy - leverage,
        leverage,
        trade.pnl_jpy or ZERO,
    )


# ---- the desk's database: which signals, candles, equity, results ---------------------------


def due_signals(
    db: Database, settings: Settings, now: datetime, limit: int = BATCH
) -> list[Signal]:
    """Return unchosen signals past their horizon that have no outcome yet, newest first (at most
    `limit`: a desk upgraded with a long history catches up over a few calls)."""
    span = timedelta(
        minutes=settings.risk.entry_window_minutes, hours=settings.risk.time_stop_hours + 2
    )
    marks = ",".join("?" * len(UNCHOSEN))
    return signals.select(
        db,
        f"status IN ({marks}) AND direction IS NOT NULL AND created_at <= ? "
        "AND id NOT IN (SELECT signal_id FROM would_have) ORDER BY id DESC LIMIT ?",
        [*UNCHOSEN, to_db(now - span), limit],
    )


def candles_for(db: Database, signal: Signal, settings: Settings):
    """Return the stored candles from a day before the signal to its horizon, or None when they do
    not reach it."""
    from signaldesk.candles import load_candles

    end = horizon(signal, settings)
    rows = load_candles(db, signal.symbol, "15m", since=signal.created_at - WARMUP, until=end)
    return rows if rows and rows[-1].open_time + STEP >= end - STEP else None


def equity_then(db: Database, settings: Settings, moment: datetime) -> Decimal:
    """Return the desk's equity at a moment (its snapshot), else the paper starting equity."""
    from signaldesk.equity import equity_at

    snap = equity_at(db, settings.mode, moment)
    return snap.equity_jpy if snap else settings.risk.paper_equity_jpy


def save(db: Database, result: WouldHave, now: datetime) -> None:
    """Write (or rewrite) one would-have outcome."""
    columns = {
        "signal_id": result.signal_id,
        "status": result.status,
        "outcome": result.outcome,
        "detail": result.detail,
        "size": decimal_text(result.size),
        "entry_price": decimal_text(result.entry_price),
        "entry_time": to_db(result.entry_time) if result.entry_time else None,
        "exit_price": decimal_text(result.exit_price),
        "exit_time": to_db(result.exit_time) if result.exit_time else None,
        "exit_reason": result.exit_reason,
        "fees_jpy": decimal_text(result.fees_jpy),
        "leverage_fees_jpy": decimal_text(result.leverage_fees_jpy),
        "pnl_jpy": decimal_text(result.pnl_jpy),
        "simulated_at": to_db(now),
    }
    with writing(db):
        db.execute(
            f"INSERT OR REPLACE INTO would_have ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' * len(columns))})",
            list(columns.values()),
        )


def simulate_due(db: Database, settings: Settings, now: datetime) -> int:
    """Give every unchosen signal whose horizon has passed its would-have outcome; return how
    many."""
    done = 0
    for signal in due_signals(db, settings, now):
        candles = candles_for(db, signal, settings)
        if candles is None:
            continue
        equity = equity_then(db, settings, signal.created_at)
        with quiet_thread():
            result = simulate(signal, candles, settings, equity)
        save(db, result, now)
        done += 1
    return done


def load_outcomes(db: Database, signal_ids=None) -> dict[int, WouldHave]:
    """Return stored would-have outcomes by signal id (all, or of some signals)."""
    sql = (
        "SELECT signal_id, status, outcome, detail, size, entry_price, entry_time, exit_price, "
        "exit_time, "
        "exit_reason, fees_jpy, leverage_fees_jpy, pnl_jpy FROM would_have"
    )
    rows = db.execute(sql).fetchall()
    wanted = None if signal_ids is None else set(signal_ids)
    return {
        r[0]: WouldHave(
            r[0],
            r[1],
            r[2],
            r[3],
            decimal_or_none(r[4]),
            decimal_or_none(r[5]),
            time_or_none(r[6]),
            decimal_or_none(r[7]),
            time_or_none(r[8]),
            r[9],
            Decimal(r[10]),
            Decimal(r[11]),
            Decimal(r[12]),
        )
        for r in rows
        if wanted is None or r[0] in wanted
    }
