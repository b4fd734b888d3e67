"""Candles: reading the shared CSV format, saving to and loading from the `candles` table, and
finding gaps."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

from signaldesk.clock import from_ms, to_db, utc_now
from signaldesk.storage import writing

if TYPE_CHECKING:
    from signaldesk.storage import Database

INTERVAL_MINUTES = {"1m": 1, "5m": 5, "15m": 15, "1h": 60}
PRICE_COLUMNS = ("open", "high", "low", "close", "volume")


class CandleError(ValueError):
    """A candle file or payload is malformed; the message says where."""


@dataclass(frozen=True)
class Candle:
    """One closed candle; prices and volume as Decimal, open time aware UTC."""

    open_time: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


@dataclass(frozen=True)
class Gap:
    """Missing candles between two present ones."""

    last_present: datetime
    next_present: datetime
    missing: int


def read_candle_csv(
    path: Path, since: datetime | None = None, until: datetime | None = None
) -> list[Candle]:
    """Read a candle CSV in the shared format (timestamp ms, open, high, low, close, volume); raise
    CandleError.

    With `since` / `until`, only candles opening in [since, until) are converted and checked (a year
    out of a long file costs what the year costs).
    """
    import csv
    import gzip

    opener = gzip.open if str(path).endswith(".gz") else open
    first = -math.inf if since is None else since.timestamp() * 1000
    end = math.inf if until is None else until.timestamp() * 1000
    with opener(path, "rt", newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        missing = {"timestamp", *PRICE_COLUMNS} - set(header)
        if missing:
            raise CandleError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        stamp = header.index("timestamp")
        # blank lines skipped, as csv.DictReader does
        rows = (values for values in reader if values)
        return [
            _row_to_candle(_fields(header, values), path, n)
            for n, values in enumerate(rows, start=2)
            if _in_range(values[stamp] if len(values) > stamp else None, first, end)
        ]


def _fields(header: list[str], values: list[str]) -> dict:
    """Return a row by column name; columns the row lacks are None (as csv.DictReader does)."""
    return {name: values[i] if i < len(values) else None for i, name in enumerate(header)}


def _in_range(stamp: str | None, first: float, end: float) -> bool:
    """Return True when a row opens in [first, end) ms or has no readable time (refused later)."""
    if stamp is None:
        return True
    try:
        opened = float(stamp)
    except (TypeError, ValueError):
        return True
    return first <= opened < end or math.isnan(opened)


def _row_to_candle(row: dict, path: Path, line: int) -> Candle:
    """Convert one CSV row, checking the numbers and the OHLC relations."""
    try:
        values = {k: Decimal(row[k]) for k in PRICE_COLUMNS}
        candle = Candle(from_ms(row["timestamp"]), **values)
    except (InvalidOperation, ValueError, TypeError) as exc:
        raise CandleError(f"{path}:{line}: bad number ({exc.__class__.__name__}): {row}") from None
    check_candle(candle, f"{path}:{line}")
    return candle


def check_candle(candle: Candle, where: str) -> None:
    """Raise CandleError unless low <= open, close <= high, prices > 0 and volume >= 0."""
    prices_ok = all(
        p.is_finite() and p > 0 for p in (candle.open, candle.high, candle.low, candle.close)
    )
    shape_ok = candle.low <= min(candle.open, candle.close) and candle.high >= max(
        candle.open, candle.close
    )
    if not (prices_ok and shape_ok and candle.volume.is_finite() and candle.volume >= 0):
        raise CandleError(f"{where}: inconsistent candle {candle}")


def save_candles(
    db: Database,
    symbol: str,
    interval: str,
    candles: list[Candle],
    source: str,
    now: datetime | None = None,
) -> int:
    """Insert candles not yet stored (existing rows are kept as they are); return how many were
    new."""
    if interval not in INTERVAL_MINUTES:
        raise CandleError(f"interval {interval!r}: allowed {', '.join(INTERVAL_MINUTES)}")
    fetched = to_db(now or utc_now())
    rows = [
        (
            symbol,
            interval,
            to_db(c.open_time),
            str(c.open),
            str(c.high),
            str(c.low),
            str(c.close),
            str(c.volume),
            source,
            fetched,
        )
        for c in candles
    ]
    with writing(db):
        before = db.execute("SELECT total_changes()").fetchone()[0]
        db.conn.executemany(
            "INSERT INTO candles (symbol, interval, open_time, open, high, low, close, volume, source, fetched_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            rows,
        )
        return db.execute("SELECT total_changes()").fetchone()[0] - before


def load_candles(
    db: Database,
    symbol: str,
    interval: str = "15m",
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
) -> list[Candle]:
    """Return stored candles in time order; with `limit`, the latest `limit` of them."""
    sql = "SELECT open_time, open, high, low, close, volume FROM candles WHERE symbol = ? AND interval = ?"
    params: list = [symbol, interval]
    if since is not None:
        sql += " AND open_time >= ?"
        params.append(to_db(since))
    if until is not None:
        sql += " AND open_time < ?"
        params.append(to_db(until))
    sql += " ORDER BY open_time DESC" if limit else " ORDER BY open_time"
    if limit:
        sql += f" LIMIT {int(limit)}"
    rows = db.execute(sql, params).fetchall()
    if limit:
        rows.reverse()
    return [Candle(datetime.fromisoformat(r[0]), *(Decimal(v) for v in r[1:])) for r in rows]


def candle_summary(db: Database) -> list[dict]:
    """Return per symbol and interval: rows, first and last open time, and sources."""
    rows = db.execute(
        "SELECT symbol, interval, COUNT(*), MIN(open_time), MAX(open_time), GROUP_CONCAT(DISTINCT source) "
        "FROM candles GROUP BY symbol, interval ORDER BY symbol, interval"
    ).fetchall()
    keys = ("symbol", "interval", "rows", "first", "last", "sources")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def find_gaps(times: list[datetime], interval: str) -> list[Gap]:
    """Return the gaps in a sorted list of candle open times (never fills them)."""
    step = timedelta(minutes=INTERVAL_MINUTES[interval])
    gaps = []
    for previous, current in zip(times, times[1:], strict=False):
        if current - previous > step:
            gaps.append(Gap(previous, current, int((current - previous) / step) - 1))
    return gaps
