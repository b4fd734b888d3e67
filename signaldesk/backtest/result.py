"""What a backtest leaves behind, as plain records: trades, the equity path, prices, signals and the
run's facts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class TradeRecord:
    """One trade of the backtest as the trades table holds it (money and sizes Decimal, times aware
    UTC)."""

    trade_id: int
    signal_id: int
    symbol: str
    direction: str  # LONG | SHORT
    status: str  # closed | open | cancelled (cancelled = the entry never filled)
    size: Decimal  # approved size
    filled_size: Decimal  # what the entry actually filled
    entry_time: datetime | None
    entry_price: Decimal | None  # average entry fill price
    exit_time: datetime | None
    exit_price: Decimal | None  # average exit fill price
    exit_reason: str | None  # tp1 | tp2 | stop_loss | time_stop | manual | emergency
    pnl_jpy: Decimal | None  # realised, after fees (None while open or cancelled)
    fees_jpy: Decimal  # net fees of the trade: > 0 paid, < 0 maker rebate received
    fees_paid_jpy: Decimal  # sum of positive fees
    fees_received_jpy: Decimal  # sum of rebates, as a positive number
    signal_time: datetime  # close time of the candle the signal was scored on


@dataclass(frozen=True)
class SignalRecord:
    """One scored candle that produced a direction (every verdict, not only approved ones)."""

    time: datetime  # close time of the scored candle
    symbol: str
    direction: str | None
    status: str  # FILTERED, REJECTED, EXPIRED, EXECUTED, BLOCKED, FAILED, ...
    price: Decimal | None  # close of the scored candle
    confidence: float | None


@dataclass(frozen=True)
class BacktestResult:
    """Everything the report needs; `equity` has one point per replayed cycle (desk equity after
    that cycle)."""

    since: datetime
    until: datetime
    symbols: tuple[str, ...]
    starting_equity: Decimal
    equity: list[tuple[datetime, Decimal]]
    exposure: list[tuple[datetime, bool]]  # per cycle: was any position open after it
    prices: dict[
        str, list[tuple[datetime, Decimal]]
    ]  # per symbol: (close time, close) over [since, until)
    trades: list[TradeRecord]
    signals: list[SignalRecord]
    verdicts: dict[str, int]  # every scored row by final status (LOGGED, FILTERED, ...)
    missed_entries: int  # approved trades whose entry never filled
    expired_post_only: int  # post-only entry orders that expired because they crossed
    meta: dict = field(
        default_factory=dict
    )  # model version(s), policy, seed, thresholds, spread, timings
