"""Money by JST day, week and month, over a span, and by symbol and direction: the numbers behind
/daily, /weekly, /monthly, /profit and /performance (freqtrade's commands of the same names, on the
desk's ledger).

Every figure comes from the ledger (signaldesk.ledger: fills and leverage fees) and the equity
snapshots, so a period's P/L here is the same number the daily report and the loss limits use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from signaldesk.equity import Deposit, equity_before, first_deposit
from signaldesk.ledger import Money, money_between
from signaldesk.report import ClosedTrade, TradeStats, closed_trades, trade_stats

if TYPE_CHECKING:
    from signaldesk.storage import Database

ZERO = Decimal(0)
UNITS = ("day", "week", "month")


@dataclass(frozen=True)
class Period:
    """One JST day, week (from Monday) or month: its money, closed trades and equity at its end."""

    start: date
    end: datetime
    money: Money
    trades: int
    equity_end_jpy: Decimal | None
    equity_start_jpy: Decimal | None

    @property
    def return_pct(self) -> float | None:
        """Return the period's net P/L as a share of equity at its start, in percent."""
        if not self.equity_start_jpy:
            return None
        return float(self.money.net_jpy / self.equity_start_jpy * 100)


def period_start(day: date, unit: str) -> date:
    """Return the first day of the day's period: itself, its Monday, or the 1st of its month."""
    if unit == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1) if unit == "month" else day


def next_start(start: date, unit: str) -> date:
    """Return the first day of the following period."""
    if unit == "month":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start + timedelta(days=7 if unit == "week" else 1)


def previous_start(start: date, unit: str) -> date:
    """Return the first day of the period before."""
    if unit == "month":
        return (start - timedelta(days=1)).replace(day=1)
    return start - timedelta(days=7 if unit == "week" else 1)


def period_starts(today: date, unit: str, count: int) -> list[date]:
    """Return the first days of the last `count` periods up to the one containing `today`, newest
    first."""
    starts = [period_start(today, unit)]
    while len(starts) < count:
        starts.append(previous_start(starts[-1], unit))
    return starts


def local(day: date, tz: ZoneInfo) -> datetime:
    """Return midnight of a day in `tz`."""
    return datetime.combine(day, time(0), tzinfo=tz)


def periods(
    db: Database, mode: str, now: datetime, unit: str, count: int, tz: ZoneInfo
) -> list[Period]:
    """Return the last `count` periods (the current one so far first) with their money and
    equity."""
    found = []
    deposit = first_deposit(db, mode)
    for first in period_starts(now.astimezone(tz).date(), unit, count):
        start, end = local(first, tz), min(local(next_start(first, unit), tz), now)
        money = money_between(db, mode, start, end)
        trades = len(closed_trades(db, start, end, mode))
        found.append(
            Period(first, end, money, trades, *_equity_bounds(db, mode, start, end, deposit))
        )
    return found


def _equity_bounds(
    db: Database, mode: str, start: datetime, end: datetime, deposit: Deposit | None
):
    """Return equity at a period's end and at its start (the deposit when the desk began inside
    it)."""
    after, before = equity_before(db, mode, end), equity_before(db, mode, start)
    opening = before.equity_jpy if before else None
    if opening is None and deposit is not None and deposit.at < end:
        opening = deposit.amount_jpy
    return (after.equity_jpy if after and after.taken_at >= start else None), opening


@dataclass(frozen=True)
class Profit:
    """The desk's result over a span: realised money, trade statistics, first and last trade, the
    best symbol."""

    since: datetime
    until: datetime
    money: Money
    stats: TradeStats
    trades: list[ClosedTrade]
    deposit: Deposit | None

    @property
    def average_hold(self) -> timedelta | None:
        """Return the mean time from entry to exit of the closed trades."""
        held = [t.exit_time - t.entry_time for t in self.trades if t.entry_time]
        return sum(held, timedelta()) / len(held) if held else None


def profit(db: Database, mode: str, now: datetime, days: int | None) -> Profit:
    """Return the result of the last `days` days (None: since the deposit)."""
    deposit = first_deposit(db, mode)
    since = now - timedelta(days=days) if days else (deposit.at if deposit else now)
    trades = closed_trades(db, since, now, mode)
    return Profit(
        since, now, money_between(db, mode, since, now), trade_stats(trades), trades, deposit
    )


@dataclass(frozen=True)
class Performance:
    """Closed trades of one symbol and direction."""

    symbol: str
    direction: str
    stats: TradeStats
    net_jpy: Decimal
    fees_jpy: Decimal


def performance(trades: Sequence[ClosedTrade]) -> list[Performance]:
    """Return results per symbol and direction, best net P/L first."""
    keys = sorted({(t.symbol, t.direction) for t in trades})
    rows = []
    for symbol, direction in keys:
        mine = [t for t in trades if (t.symbol, t.direction) == (symbol, direction)]
        net = sum((t.pnl_jpy for t in mine), ZERO)
        fees = sum((t.fees_jpy for t in mine), ZERO)
        rows.append(Performance(symbol, direction, trade_stats(mine), net, fees))
    return sorted(rows, key=lambda p: -p.net_jpy)
