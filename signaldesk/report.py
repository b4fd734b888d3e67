"""Report numbers: trade statistics (win rate, profit factor, drawdown, Sharpe) and the daily summary of one JST day."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from signaldesk import signals
from signaldesk.clock import JST, from_db, to_db
from signaldesk.columns import decimal_or_none, time_or_none
from signaldesk.signals import APPROVED_STATUSES, EXPIRED, PROPOSED_STATUSES, REJECTED
from signaldesk.storage import writing

ZERO = Decimal(0)


def win_rate(pnls: Sequence[Decimal]) -> float | None:
    """Return the share of trades with P/L > 0, or None without trades."""
    return sum(1 for p in pnls if p > 0) / len(pnls) if pnls else None


def profit_factor(pnls: Sequence[Decimal]) -> float | None:
    """Return gross profit / gross loss; inf with profits and no losses; None when there is neither."""
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
    """Return the largest peak-to-trough fall of cumulative P/L (>= 0), the start counting as a peak."""
    peak, worst = ZERO, ZERO
    for level in equity_curve(pnls):
        peak = max(peak, level)
        worst = max(worst, peak - level)
    return worst


def sharpe(returns: Sequence[float], periods_per_year: float = 1.0) -> float | None:
    """Return mean / sample standard deviation of per-period returns, scaled by sqrt(periods_per_year); None if undefined."""
    if len(returns) < 2:
        return None
    spread = statistics.stdev(returns)
    if spread == 0:
        return None
    return statistics.fmean(returns) / spread * math.sqrt(periods_per_year)


def signed_return(direction: str | None, outcome_return: float) -> float:
    """Return what a position in `direction` would have earned from the price return `outcome_return`."""
    return -outcome_return if direction == "SHORT" else outcome_return


@dataclass(frozen=True)
class ClosedTrade:
    """The numbers of one closed trade that reports use."""

    id: int
    symbol: str
    direction: str
    exit_time: datetime
    pnl_jpy: Decimal
    pnl_pct: Decimal | None
    fees_jpy: Decimal
    exit_reason: str | None


@dataclass(frozen=True)
class DailyReport:
    """Everything the morning report says about one JST day."""

    day: date
    trades: tuple[ClosedTrade, ...]
    total_pnl_jpy: Decimal
    fees_jpy: Decimal
    win_rate: float | None
    profit_factor: float | None
    max_drawdown_jpy: Decimal
    sharpe: float | None
    signals_generated: int
    signals_approved: int
    signals_rejected: int
    signals_expired: int
    missed_rejected_pct: float | None
    missed_expired_pct: float | None
    missed_resolved: int
    model_auc: float | None

    @property
    def winning(self) -> int:
        """Return the number of trades with P/L > 0."""
        return sum(1 for t in self.trades if t.pnl_jpy > 0)

    @property
    def losing(self) -> int:
        """Return the number of trades with P/L < 0."""
        return sum(1 for t in self.trades if t.pnl_jpy < 0)

    @property
    def missed_return_pct(self) -> float | None:
        """Return what rejected and expired signals together would have earned, in percent."""
        parts = [p for p in (self.missed_rejected_pct, self.missed_expired_pct) if p is not None]
        return sum(parts) if parts else None


def day_bounds(day: date, tz: ZoneInfo = JST) -> tuple[datetime, datetime]:
    """Return the start and end (exclusive) of a calendar day in `tz`, as aware datetimes."""
    start = datetime.combine(day, time(0), tzinfo=tz)
    return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)


def previous_day(now: datetime, tz: ZoneInfo = JST) -> date:
    """Return the calendar day in `tz` before the one containing `now`."""
    return now.astimezone(tz).date() - timedelta(days=1)


def closed_trades(db, start: datetime, end: datetime) -> list[ClosedTrade]:
    """Return trades closed in [start, end), in exit order."""
    rows = db.execute(
        "SELECT id, symbol, direction, exit_time, pnl_jpy, pnl_pct, fees_jpy, exit_reason FROM trades "
        "WHERE status = 'closed' AND exit_time >= ? AND exit_time < ? ORDER BY exit_time, id",
        [to_db(start), to_db(end)],
    ).fetchall()
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
        )
        for r in rows
    ]


def trade_returns(trades: Sequence[ClosedTrade]) -> list[float]:
    """Return per-trade returns for Sharpe: pnl_pct when every trade has it, else P/L in JPY (Sharpe is scale-free)."""
    if trades and all(t.pnl_pct is not None for t in trades):
        return [float(t.pnl_pct) for t in trades]
    return [float(t.pnl_jpy) for t in trades]


def signal_counts(db, start: datetime, end: datetime) -> dict[str, int]:
    """Return how many proposed signals were created in [start, end), by status."""
    return signals.status_counts(db, start, end, statuses=PROPOSED_STATUSES)


def missed_return(db, status: str, start: datetime, end: datetime) -> tuple[float | None, int]:
    """Return the summed direction-signed outcome (percent) of resolved signals of one status, and how many."""
    rows = signals.read_columns(
        db,
        ("direction", "outcome_return"),
        "status = ? AND created_at >= ? AND created_at < ? AND outcome_return IS NOT NULL",
        [status, to_db(start), to_db(end)],
    )
    if not rows:
        return None, 0
    return sum(signed_return(d, r) for d, r in rows) * 100, len(rows)


def live_auc(db, day: date) -> float | None:
    """Return the prediction-weighted mean live AUC of the model on one day, or None without data."""
    row = db.execute(
        "SELECT sum(auc * predictions), sum(predictions) FROM model_performance WHERE date = ? AND auc IS NOT NULL",
        [day.isoformat()],
    ).fetchone()
    return row[0] / row[1] if row and row[1] else None


def daily_report(db, day: date, tz: ZoneInfo = JST) -> DailyReport:
    """Gather the numbers of one calendar day (in `tz`) from the database."""
    start, end = day_bounds(day, tz)
    trades = closed_trades(db, start, end)
    pnls = [t.pnl_jpy for t in trades]
    counts = signal_counts(db, start, end)
    rejected, n_rejected = missed_return(db, REJECTED, start, end)
    expired, n_expired = missed_return(db, EXPIRED, start, end)
    return DailyReport(
        day=day,
        trades=tuple(trades),
        total_pnl_jpy=sum(pnls, ZERO),
        fees_jpy=sum((t.fees_jpy for t in trades), ZERO),
        win_rate=win_rate(pnls),
        profit_factor=profit_factor(pnls),
        max_drawdown_jpy=max_drawdown(pnls),
        sharpe=sharpe(trade_returns(trades)),
        signals_generated=sum(counts.values()),
        signals_approved=sum(counts.get(s, 0) for s in APPROVED_STATUSES),
        signals_rejected=counts.get(REJECTED, 0),
        signals_expired=counts.get(EXPIRED, 0),
        missed_rejected_pct=rejected,
        missed_expired_pct=expired,
        missed_resolved=n_rejected + n_expired,
        model_auc=live_auc(db, day),
    )


def save_daily_summary(db, report: DailyReport, equity_jpy: Decimal | None, now: datetime) -> None:
    """Write (or rewrite) the daily_summary row of the report's day."""
    pf = (
        report.profit_factor
        if report.profit_factor is None or math.isfinite(report.profit_factor)
        else None
    )
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
                report.win_rate,
                str(report.total_pnl_jpy),
                str(report.fees_jpy),
                pf,
                str(report.max_drawdown_jpy),
                report.sharpe,
                report.signals_generated,
                report.signals_approved,
                report.signals_rejected,
                report.signals_expired,
                report.missed_return_pct,
                None if equity_jpy is None else str(equity_jpy),
                report.model_auc,
                to_db(now),
            ],
        )


def equity_points(
    db, end: datetime, days: int, end_equity: Decimal | None
) -> list[tuple[datetime, Decimal]]:
    """Return (time, equity) after each trade closed in the `days` before `end`, ending at `end_equity` if known."""
    trades = closed_trades(db, end - timedelta(days=days), end)
    pnls = [t.pnl_jpy for t in trades]
    start = (end_equity - sum(pnls, ZERO)) if end_equity is not None else ZERO
    curve = equity_curve(pnls, start)
    return [(end - timedelta(days=days), curve[0])] + [
        (t.exit_time, e) for t, e in zip(trades, curve[1:], strict=True)
    ]


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


def open_trades(db) -> list[OpenTrade]:
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
            *(decimal_or_none(v) for v in r[5:9]),
            time_or_none(r[9]),
            time_or_none(r[10]),
        )
        for r in rows
    ]
