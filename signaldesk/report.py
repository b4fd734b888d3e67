"""Report numbers: trade statistics (with their sample sizes), the daily report of one JST day
(money from the ledger, equity from the snapshot at the day's end, the unchosen signals'
would-have outcomes), chart data."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from signaldesk import signals
from signaldesk.clock import JST, from_db, to_db
from signaldesk.columns import decimal_or_none, decimal_text, time_or_none
from signaldesk.equity import Deposit, EquitySnapshot, equity_before, equity_series, first_deposit
from signaldesk.ledger import Money, money_between, trades_leverage_fees
from signaldesk.signals import (
    APPROVED_STATUSES,
    BLOCKED,
    EXPIRED,
    FILTERED,
    PROPOSED_STATUSES,
    REJECTED,
)
from signaldesk.storage import writing

if TYPE_CHECKING:
    from signaldesk.settings import Settings
    from signaldesk.storage import Database

ZERO = Decimal(0)


def win_rate(pnls: Sequence[Decimal]) -> float | None:
    """Return the share of trades with P/L > 0, or None without trades."""
    return sum(1 for p in pnls if p > 0) / len(pnls) if pnls else None


def profit_factor(pnls: Sequence[Decimal]) -> float | None:
    """Return gross profit / gross loss; inf with profits and no losses; None when there is
    neither."""
    gain = sum((p for p in pnls if p > 0), ZERO)
    loss = -sum((p for p in pnls if p < 0), ZERO)
    if loss == 0:
        return math.inf if gain > 0 else None
    return float(gain / loss)


def equity_curve(pnls: Sequence[Decimal], start: Decimal = ZERO) -> list[Decimal]:
    """Return equity after each trade, starting with `start` itself."""
    curve = [start]
    for pnl in pnls:
        curve.append(curve[-1] + pnl)
    return curve


def max_drawdown(pnls: Sequence[Decimal]) -> Decimal:
    """Return the largest peak-to-trough fall of cumulative P/L (>= 0), the start counting as a
    peak."""
    peak, worst = ZERO, ZERO
    for level in equity_curve(pnls):
        peak = max(peak, level)
        worst = max(worst, peak - level)
    return worst


def sharpe(returns: Sequence[float], periods_per_year: float = 1.0) -> float | None:
    """Return mean / sample standard deviation of per-period returns, scaled by
    sqrt(periods_per_year); None if undefined."""
    if len(returns) < 2:
        return None
    spread = statistics.stdev(returns)
    if spread == 0:
        return None
    return statistics.fmean(returns) / spread * math.sqrt(periods_per_year)


@dataclass(frozen=True)
class ClosedTrade:
    """The numbers of one closed trade that reports use (P/L and fees include its leverage fees)."""

    id: int
    symbol: str
    direction: str
    exit_time: datetime
    pnl_jpy: Decimal
    pnl_pct: Decimal | None
    fees_jpy: Decimal
    exit_reason: str | None
    entry_time: datetime | None = None
    leverage_fees_jpy: Decimal = ZERO


SHARPE_MIN_TRADES = 20


@dataclass(frozen=True)
class TradeStats:
    """Win rate, profit factor and Sharpe of a set of closed trades, with the sample they come
    from."""

    trades: int
    winners: int
    losers: int
    win_rate: float | None
    profit_factor: float | None
    sharpe: float | None  # per trade; None below SHARPE_MIN_TRADES
    max_drawdown_jpy: Decimal


def trade_stats(trades: Sequence[ClosedTrade]) -> TradeStats:
    """Return the statistics of closed trades; Sharpe only from SHARPE_MIN_TRADES trades up."""
    pnls = [t.pnl_jpy for t in trades]
    enough = len(trades) >= SHARPE_MIN_TRADES
    return TradeStats(
        len(trades),
        sum(1 for p in pnls if p > 0),
        sum(1 for p in pnls if p < 0),
        win_rate(pnls),
        profit_factor(pnls),
        sharpe(trade_returns(trades)) if enough else None,
        max_drawdown(pnls),
    )


@dataclass(frozen=True)
class DailyReport:
    """Everything the morning report says about one JST day (equity as the day ended, not as the
    report left)."""

    day: date
    mode: str
    trades: tuple[ClosedTrade, ...]
    money: Money
    month: Money
    total: Money
    equity: EquitySnapshot | None
    previous_equity: EquitySnapshot | None
    deposit: Deposit | None
    stats: TradeStats  # every closed trade up to the day's end
    signals_generated: int
    signals_approved: int
    signals_rejected: int
    signals_expired: int
    missed: dict  # status -> Group of would-have outcomes of the day's unchosen signals
    hits: int
    scored: int
    backtest_hit_rate: float | None

    @property
    def winning(self) -> int:
        """Return the number of the day's trades with P/L > 0."""
        return sum(1 for t in self.trades if t.pnl_jpy > 0)

    @property
    def losing(self) -> int:
        """Return the number of the day's trades with P/L < 0."""
        return sum(1 for t in self.trades if t.pnl_jpy < 0)

    @property
    def equity_change_jpy(self) -> Decimal | None:
        """Return equity at the day's end minus equity at the previous day's end (or the
        deposit)."""
        if self.equity is None:
            return None
        before = self.previous_equity.equity_jpy if self.previous_equity else None
        if before is None and self.deposit is not None:
            before = self.deposit.amount_jpy
        return None if before is None else self.equity.equity_jpy - before

    @property
    def missed_jpy(self) -> Decimal | None:
        """Return what the day's rejected and expired signals would have made together (None if
        none resolved)."""
        groups = [self.missed[s] for s in (REJECTED, EXPIRED) if self.missed[s].resolved]
        return sum((g.pnl_jpy for g in groups), ZERO) if groups else None


def day_bounds(day: date, tz: ZoneInfo = JST) -> tuple[datetime, datetime]:
    """Return the start and end (exclusive) of a calendar day in `tz`, as aware datetimes."""
    start = datetime.combine(day, time(0), tzinfo=tz)
    return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)


def previous_day(now: datetime, tz: ZoneInfo = JST) -> date:
    """Return the calendar day in `tz` before the one containing `now`."""
    return now.astimezone(tz).date() - timedelta(days=1)


TRADE_COLUMNS = (
    "id, symbol, direction, exit_time, pnl_jpy, pnl_pct, fees_jpy, exit_reason, entry_time"
)


def _closed(db: Database, where: str, params: list, order: str) -> list[ClosedTrade]:
    """Return closed trades matching a WHERE clause in an order, with their leverage fees."""
    rows = db.execute(
        f"SELECT {TRADE_COLUMNS} FROM trades WHERE status = 'closed' AND {where} ORDER BY {order}",
        params,
    ).fetchall()
    fees = trades_leverage_fees(db, [r[0] for r in rows])
    return [
        ClosedTrade(
            r[0],
            r[1],
            r[2],
            from_db(r[3]),
            Decimal(r[4] or 0),
            Decimal(r[5]) if r[5] else None,
            Decimal(r[6] or 0),
            r[7],
            time_or_none(r[8]),
            fees.get(r[0], ZERO),
        )
        for r in rows
    ]


def closed_trades(
    db: Database, start: datetime, end: datetime, mode: str = "paper"
) -> list[ClosedTrade]:
    """Return trades of a mode closed in [start, end), in exit order, with their leverage fees."""
    return _closed(
        db,
        "mode = ? AND exit_time >= ? AND exit_time < ?",
        [mode, to_db(start), to_db(end)],
        "exit_time, id",
    )


def recent_trades(db: Database, mode: str, count: int, end: datetime) -> list[ClosedTrade]:
    """Return the last `count` trades of a mode closed before `end`, newest first."""
    return _closed(
        db,
        "mode = ? AND exit_time < ?",
        [mode, to_db(end)],
        f"exit_time DESC, id DESC LIMIT {int(count)}",
    )


def trade_returns(trades: Sequence[ClosedTrade]) -> list[float]:
    """Return per-trade returns for Sharpe: pnl_pct when every trade has it, else P/L in JPY (Sharpe
    is scale-free)."""
    percents = [float(t.pnl_pct) for t in trades if t.pnl_pct is not None]
    if trades and len(percents) == len(trades):
        return percents
    return [float(t.pnl_jpy) for t in trades]


def signal_counts(db: Database, start: datetime, end: datetime) -> dict[str, int]:
    """Return how many proposed signals were created in [start, end), by status."""
    return signals.status_counts(db, start, end, statuses=PROPOSED_STATUSES)


def missed_groups(db: Database, start: datetime, end: datetime) -> dict:
    """Return the would-have outcomes of the unchosen signals created in [start, end), by status
    group."""
    from signaldesk.value import group, outcome_rows, would

    rows = outcome_rows(db, start, end)
    return {
        status: group([r for r in rows if r[1] in statuses], would)
        for status, statuses in (
            (REJECTED, (REJECTED,)),
            (EXPIRED, (EXPIRED,)),
            (FILTERED, (FILTERED, BLOCKED)),
        )
    }


def daily_report(db: Database, day: date, settings: Settings) -> DailyReport:
    """Gather the numbers of one calendar day (in the report's time zone) from the database."""
    from signaldesk.value import backtested_hit_rate, hit_counts

    mode, tz = settings.mode, settings.report.tz
    start, end = day_bounds(day, tz)
    counts = signal_counts(db, start, end)
    deposit = first_deposit(db, mode)
    since = deposit.at if deposit else datetime.fromtimestamp(0, tz)
    hits, scored = hit_counts(db, end - timedelta(days=settings.health.live_auc_days), end)
    return DailyReport(
        day=day,
        mode=mode,
        trades=tuple(closed_trades(db, start, end, mode)),
        money=money_between(db, mode, start, end),
        month=money_between(db, mode, month_start(day, tz), end),
        total=money_between(db, mode, min(since, start), end),
        equity=equity_before(db, mode, end),
        previous_equity=equity_before(db, mode, start),
        deposit=deposit,
        stats=trade_stats(closed_trades(db, min(since, start), end, mode)),
        signals_generated=sum(counts.values()),
        signals_approved=sum(counts.get(s, 0) for s in APPROVED_STATUSES),
        signals_rejected=counts.get(REJECTED, 0),
        signals_expired=counts.get(EXPIRED, 0),
        missed=missed_groups(db, start, end),
        hits=hits,
        scored=scored,
        backtest_hit_rate=backtested_hit_rate(db, settings),
    )


def month_start(day: date, tz: ZoneInfo = JST) -> datetime:
    """Return the first moment of the day's calendar month in `tz`."""
    return datetime.combine(day.replace(day=1), time(0), tzinfo=tz)


def save_daily_summary(db: Database, report: DailyReport, now: datetime) -> None:
    """Write (or rewrite) the daily_summary row of the report's day (equity: the day's last
    snapshot)."""
    stats = trade_stats(report.trades)
    pf = (
        stats.profit_factor
        if stats.profit_factor is None or math.isfinite(stats.profit_factor)
        else None
    )
    equity = report.equity.equity_jpy if report.equity else None
    start = report.previous_equity.equity_jpy if report.previous_equity else None
    missed = report.missed_jpy
    missed_pct = float(missed / start * 100) if missed is not None and start else None
    with writing(db):
        db.execute(
            "INSERT OR REPLACE INTO daily_summary (date, total_trades, winning_trades, losing_trades, win_rate, "
            "total_pnl_jpy, fees_jpy, profit_factor, max_drawdown_jpy, sharpe, signals_generated, signals_approved, "
            "signals_rejected, signals_expired, missed_return_pct, equity_jpy, model_auc, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                report.day.isoformat(),
                len(report.trades),
                report.winning,
                report.losing,
                stats.win_rate,
                decimal_text(report.money.net_jpy),
                decimal_text(report.money.fees_jpy),
                pf,
                decimal_text(stats.max_drawdown_jpy),
                stats.sharpe,
                report.signals_generated,
                report.signals_approved,
                report.signals_rejected,
                report.signals_expired,
                missed_pct,
                decimal_text(equity),
                live_auc(db, report.day),
                to_db(now),
            ],
        )


def live_auc(db: Database, day: date) -> float | None:
    """Return the prediction-weighted mean live AUC of the model on one day, or None without
    data."""
    row = db.execute(
        "SELECT sum(auc * predictions), sum(predictions) FROM model_performance WHERE date = ? AND "
        "auc IS NOT NULL",
        [day.isoformat()],
    ).fetchone()
    return row[0] / row[1] if row and row[1] else None


@dataclass(frozen=True)
class ChartData:
    """What the equity chart draws: equity through time from the deposit (or window start) and the
    trades."""

    points: list[tuple[datetime, Decimal]]
    trades: list[ClosedTrade]
    deposit: Deposit | None


def chart_data(db: Database, mode: str, end: datetime, days: int) -> ChartData:
    """Return equity snapshots of the `days` before `end`, starting at the deposit when it falls in
    the window."""
    start = end - timedelta(days=days)
    deposit = first_deposit(db, mode)
    points = equity_series(db, mode, start, end)
    if deposit and deposit.at >= start:
        points = [(deposit.at, deposit.amount_jpy), *[(t, e) for t, e in points if t > deposit.at]]
    else:
        before = equity_before(db, mode, start)
        points = ([(start, before.equity_jpy)] if before else []) + points
    return ChartData(points, closed_trades(db, start, end, mode), deposit)


@dataclass(frozen=True)
class OpenTrade:
    """A trade that is pending or open, as /positions shows it."""

    id: int
    symbol: str
    direction: str
    status: str
    size: Decimal
    entry_price: Decimal | None
    stop_loss: Decimal | None
    take_profit_1: Decimal | None
    take_profit_2: Decimal | None
    entry_time: datetime | None
    time_stop_at: datetime | None


def open_trades(db: Database) -> list[OpenTrade]:
    """Return trades that are pending or open, oldest first."""
    rows = db.execute(
        "SELECT id, symbol, direction, status, size, entry_price, stop_loss, take_profit_1, take_profit_2, "
        "entry_time, time_stop_at FROM trades WHERE status IN ('pending', 'open') ORDER BY id"
    ).fetchall()
    return [
        OpenTrade(
            r[0],
            r[1],
            r[2],
            r[3],
            Decimal(r[4]),
            decimal_or_none(r[5]),
            decimal_or_none(r[6]),
            decimal_or_none(r[7]),
            decimal_or_none(r[8]),
            time_or_none(r[9]),
            time_or_none(r[10]),
        )
        for r in rows
    ]
