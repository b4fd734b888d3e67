"""GMO Coin's calendar: trading days start 06:00 JST (21:00 UTC the day before); kline dates and fee
boundaries."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from signaldesk.clock import JST

DAY_START = time(6, 0)
SHORT_INTERVALS = ("1min", "5min", "10min", "15min", "30min", "1hour")
LONG_INTERVALS = ("4hour", "8hour", "12hour", "1day", "1week", "1month")
DESK_TO_GMO_INTERVAL = {"1m": "1min", "5m": "5min", "15m": "15min", "1h": "1hour"}
INTERVAL_MINUTES = {"1min": 1, "5min": 5, "10min": 10, "15min": 15, "30min": 30, "1hour": 60}
FIRST_SHORT_KLINE_DAY = date(2021, 4, 15)


def gmo_interval(interval: str) -> str:
    """Return GMO's interval name for a desk name (`15m` -> `15min`); GMO names pass through;
    ValueError otherwise."""
    name = DESK_TO_GMO_INTERVAL.get(interval, interval)
    if name not in SHORT_INTERVALS + LONG_INTERVALS:
        raise ValueError(
            f"interval {interval!r}: use one of {', '.join(SHORT_INTERVALS + LONG_INTERVALS)}"
        )
    return name


def trading_day(moment: datetime) -> date:
    """Return the GMO trading day (06:00 JST to 05:59 JST) containing an aware moment."""
    return (moment.astimezone(JST) - timedelta(hours=6)).date()


def trading_day_start(day: date) -> datetime:
    """Return the UTC start of a GMO trading day (06:00 JST of that date)."""
    return datetime.combine(day, DAY_START, tzinfo=JST).astimezone(UTC)


def kline_date(interval: str, day: date) -> str:
    """Return the klines `date` parameter: YYYYMMDD for short intervals, YYYY for long ones."""
    return f"{day:%Y%m%d}" if gmo_interval(interval) in SHORT_INTERVALS else f"{day:%Y}"


def parse_kline_date(text: str) -> date:
    """Parse a YYYYMMDD kline date; ValueError with the accepted form."""
    try:
        return datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        raise ValueError(f"date {text!r}: expected YYYYMMDD") from None


def fee_boundaries(start: datetime, end: datetime) -> list[datetime]:
    """Return the 06:00 JST instants in (start, end]: the moments GMO charges the daily leverage
    fee."""
    first = trading_day_start(trading_day(start) + timedelta(days=1))
    moments = []
    while first <= end:
        moments.append(first)
        first += timedelta(days=1)
    return moments
