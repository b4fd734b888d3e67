"""Time conventions: aware UTC inside, ISO-8601 text in the database, JST where a person sees it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

JST = ZoneInfo("Asia/Tokyo")


def utc_now() -> datetime:
    """Return the current time, aware UTC (call only at the edges; pass `now` into pure code)."""
    return datetime.now(UTC)


@lru_cache(maxsize=4096)  # equal instants have one text; a backtest renders each moment many times
def to_db(moment: datetime) -> str:
    """Render an aware datetime as the database's UTC text (sortable, millisecond precision)."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: signaldesk only stores aware times")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def from_db(text: str) -> datetime:
    """Parse the database's UTC text back into an aware datetime."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no time zone")
    return moment.astimezone(UTC)


def from_ms(ms: int | str) -> datetime:
    """Convert epoch milliseconds to an aware UTC datetime."""
    return datetime.fromtimestamp(int(ms) / 1000, UTC)


def to_ms(moment: datetime) -> int:
    """Convert an aware datetime to epoch milliseconds."""
    return int(moment.timestamp() * 1000)


def jst_day_start(now: datetime) -> datetime:
    """Return the start (00:00 JST) of the JST calendar day containing `now`, as UTC."""
    local = now.astimezone(JST)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def jst_week_start(now: datetime) -> datetime:
    """Return Monday 00:00 JST of the week containing `now`, as UTC."""
    day = jst_day_start(now).astimezone(JST)
    return (day - timedelta(days=day.weekday())).astimezone(UTC)


def jst_month_start(now: datetime) -> datetime:
    """Return the 1st 00:00 JST of the month containing `now`, as UTC."""
    return jst_day_start(now).astimezone(JST).replace(day=1).astimezone(UTC)


def floor_to(moment: datetime, minutes: int) -> datetime:
    """Round an aware datetime down to a multiple of `minutes` since the epoch."""
    step = minutes * 60
    return datetime.fromtimestamp(int(moment.timestamp()) // step * step, UTC)
