"""Kline history: pull GMO 15-minute candles day by day into `candles`, resumable, gaps reported
never filled."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Protocol

from signaldesk.candles import Candle, Gap, find_gaps, load_candles, save_candles
from signaldesk.clock import to_db
from signaldesk.exchange.tradingday import FIRST_SHORT_KLINE_DAY, trading_day, trading_day_start

SOURCE = "gmo:klines"
STEP = timedelta(minutes=15)
BARS_PER_DAY = 96


class KlineSource(Protocol):
    """Anything that serves GMO klines (the live client, or a paper feed)."""

    def klines(self, symbol: str, interval: str, date: str) -> list[Candle]: ...  # noqa: D102


@dataclass
class BackfillReport:
    """What one backfill did."""

    symbol: str
    days: int = 0
    skipped: int = 0
    added: int = 0
    empty_days: list[date] = field(default_factory=list)
    short_days: list[tuple[date, int]] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)


def check_range(since: date, until: date, today: date) -> None:
    """Raise ValueError with the allowed range when a backfill range is impossible."""
    if since < FIRST_SHORT_KLINE_DAY:
        raise ValueError(f"--since {since}: GMO 15-minute klines begin {FIRST_SHORT_KLINE_DAY}")
    if until < since:
        raise ValueError(f"--until {until} is before --since {since}")
    if since > today:
        raise ValueError(f"--since {since} is in the future (GMO trading day now: {today})")


def stored_count(db, symbol: str, day: date) -> int:
    """Return how many 15m candles of one trading day are stored."""
    start = trading_day_start(day)
    row = db.execute(
        "SELECT COUNT(*) FROM candles WHERE symbol = ? AND interval = '15m' AND open_time >= ? "
        "AND open_time < ?",
        [symbol, to_db(start), to_db(start + timedelta(days=1))],
    ).fetchone()
    return row[0]


def backfill_day(source: KlineSource, db, symbol: str, day: date, now: datetime) -> tuple[int, int]:
    """Fetch one trading day and store its closed candles; return (closed candles received, new
    rows)."""
    start = trading_day_start(day)
    rows = source.klines(symbol, "15min", f"{day:%Y%m%d}")
    closed = [
        c
        for c in rows
        if start <= c.open_time < start + timedelta(days=1) and c.open_time + STEP <= now
    ]
    return len(closed), save_candles(db, symbol, "15m", closed, SOURCE, now)


def backfill_klines(
    source: KlineSource,
    db,
    symbol: str,
    since: date,
    until: date,
    now: datetime,
    progress: Callable[[int, int, date, BackfillReport], None] | None = None,
) -> BackfillReport:
    """Backfill trading days since..until (complete days already stored are skipped); report
    gaps."""
    report = BackfillReport(symbol)
    last = min(until, trading_day(now))
    days = [since + timedelta(days=n) for n in range((last - since).days + 1)]
    for n, day in enumerate(days, start=1):
        report.days += 1
        if stored_count(db, symbol, day) >= BARS_PER_DAY:
            report.skipped += 1
        else:
            received, added = backfill_day(source, db, symbol, day, now)
            report.added += added
            _note_short_day(report, day, received, now)
        if progress:
            progress(n, len(days), day, report)
    stored = load_candles(
        db, symbol, "15m", trading_day_start(since), trading_day_start(last + timedelta(days=1))
    )
    report.gaps = find_gaps([c.open_time for c in stored], "15m")
    return report


def _note_short_day(report: BackfillReport, day: date, received: int, now: datetime) -> None:
    """Record a finished trading day that came back empty or short."""
    if trading_day_start(day + timedelta(days=1)) > now:
        return  # today: still forming
    if received == 0:
        report.empty_days.append(day)
    elif received < BARS_PER_DAY:
        report.short_days.append((day, received))
