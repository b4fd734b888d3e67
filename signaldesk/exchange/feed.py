"""Market feeds for the paper exchange: live GMO public data, or recorded candles advanced one
candle at a time."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

from signaldesk.candles import Candle
from signaldesk.clock import utc_now
from signaldesk.exchange.model import BookLevel, OrderBook, Ticker
from signaldesk.exchange.tradingday import (
    INTERVAL_MINUTES,
    gmo_interval,
    parse_kline_date,
    trading_day,
    trading_day_start,
)

REPLAY_SPREAD_BPS = Decimal(
    "4.3"
)  # median bitFlyer BTC/JPY spread in the bundled real ticker sample


class MarketFeed(Protocol):
    """Where a paper exchange gets prices and the time; it never offers anything after `now()`."""

    step: timedelta  # the length of one bar of `price_bars`

    def now(self) -> datetime:
        """Return the feed's present moment (aware UTC)."""

    def status(self) -> str:
        """Return MAINTENANCE, PREOPEN or OPEN."""

    def ticker(self, symbol: str) -> Ticker:
        """Return the ticker of one symbol as of now."""

    def order_book(self, symbol: str) -> OrderBook:
        """Return the order book of one symbol as of now."""

    def klines(self, symbol: str, interval: str, date: str) -> list[Candle]:
        """Return closed candles of one trading day (YYYYMMDD) or year (YYYY); [] when none."""

    def price_bars(self, symbol: str, since: datetime) -> list[Candle]:
        """Return closed bars opening at or after `since`, oldest first: what the market traded
        since then."""


class PublicMarket(Protocol):
    """The public half of the live GMO client that a LiveFeed needs."""

    def status(self) -> str: ...  # noqa: D102
    def ticker(self, symbol: str) -> Ticker: ...  # noqa: D102
    def order_book(self, symbol: str) -> OrderBook: ...  # noqa: D102
    def klines(self, symbol: str, interval: str, date: str) -> list[Candle]: ...  # noqa: D102


class LiveFeed:
    """Live GMO public data for paper trading; trades-through are read from closed 1-minute
    klines."""

    def __init__(
        self,
        market: PublicMarket,
        *,
        clock: Callable[[], datetime] = utc_now,
        interval: str = "1min",
    ):
        self.market, self.clock, self.interval = market, clock, gmo_interval(interval)
        self.step = timedelta(minutes=INTERVAL_MINUTES[self.interval])

    def now(self) -> datetime:
        """Return the wall clock."""
        return self.clock()

    def status(self) -> str:
        """Return GMO's status."""
        return self.market.status()

    def ticker(self, symbol: str) -> Ticker:
        """Return GMO's ticker."""
        return self.market.ticker(symbol)

    def order_book(self, symbol: str) -> OrderBook:
        """Return GMO's order book."""
        return self.market.order_book(symbol)

    def klines(self, symbol: str, interval: str, date: str) -> list[Candle]:
        """Return GMO's klines."""
        return self.market.klines(symbol, interval, date)

    def price_bars(self, symbol: str, since: datetime) -> list[Candle]:
        """Return closed klines opening at or after `since` (one request per trading day
        spanned)."""
        now, day = self.now(), trading_day(since)
        bars: list[Candle] = []
        while day <= trading_day(now):
            rows = self.market.klines(symbol, self.interval, f"{day:%Y%m%d}")
            bars.extend(c for c in rows if c.open_time >= since and c.open_time + self.step <= now)
            day += timedelta(days=1)
        return bars


class CandleFeed:
    """Recorded candles replayed in time order; the caller advances it candle by candle, so nothing
    is seen early.

    `now()` is the close time of the latest candle released. Ticker and book are made from that
    candle's close with an optional spread (`spread_bps`, default 0: a post-only BUY at or above the
    close would cross).
    """

    def __init__(
        self,
        candles: Mapping[str, Sequence[Candle]],
        *,
        interval_minutes: int = 15,
        spread_bps: Decimal = Decimal(0),
        start: datetime | None = None,
    ):
        self.step = timedelta(minutes=interval_minutes)
        self.spread_bps = spread_bps
        self.series = {s: sorted(rows, key=lambda c: c.open_time) for s, rows in candles.items()}
        self.opens = {s: [c.open_time for c in rows] for s, rows in self.series.items()}
        self.closes = sorted({t + self.step for times in self.opens.values() for t in times})
        if not self.closes:
            raise ValueError("CandleFeed needs at least one candle")
        self.index = 0 if start is None else max(bisect.bisect_right(self.closes, start) - 1, 0)

    def now(self) -> datetime:
        """Return the close time of the latest released candle."""
        return self.closes[self.index]

    def advance(self) -> bool:
        """Release the next candle time; return False (and stay) at the end of the data."""
        if self.index + 1 >= len(self.closes):
            return False
        self.index += 1
        return True

    def advance_to(self, moment: datetime) -> None:
        """Release every candle that has closed by `moment`."""
        while self.index + 1 < len(self.closes) and self.closes[self.index + 1] <= moment:
            self.index += 1

    def status(self) -> str:
        """Return OPEN (recorded markets never sleep)."""
        return "OPEN"

    def _released_count(self, symbol: str) -> int:
        """Return how many candles of a symbol have closed by now."""
        if symbol not in self.series:
            raise KeyError(
                f"CandleFeed has no candles for {symbol!r} (has {', '.join(self.series)})"
            )
        return bisect.bisect_right(self.opens[symbol], self.now() - self.step)

    def _between(self, symbol: str, since: datetime) -> list[Candle]:
        """Return released candles opening at or after `since`."""
        first = bisect.bisect_left(self.opens[symbol], since)
        return self.series[symbol][first : self._released_count(symbol)]

    def current(self, symbol: str) -> Candle:
        """Return the latest closed candle of a symbol."""
        count = self._released_count(symbol)
        if not count:
            raise KeyError(
                f"CandleFeed: no candle of {symbol} has closed by {self.now():%Y-%m-%d %H:%M} UTC"
            )
        return self.series[symbol][count - 1]

    def _quotes(self, symbol: str) -> tuple[Decimal, Decimal, Candle]:
        """Return (ask, bid, candle) from the latest close and the spread."""
        candle = self.current(symbol)
        half = candle.close * self.spread_bps / Decimal(20000)
        return candle.close + half, candle.close - half, candle

    def ticker(self, symbol: str) -> Ticker:
        """Return a ticker from the latest closed candle (high/low/volume over the last 24
        hours)."""
        ask, bid, candle = self._quotes(symbol)
        day = self._between(symbol, self.now() - timedelta(days=1))
        return Ticker(
            symbol,
            ask,
            bid,
            candle.close,
            max(c.high for c in day),
            min(c.low for c in day),
            sum((c.volume for c in day), Decimal(0)),
            self.now(),
        )

    def order_book(self, symbol: str) -> OrderBook:
        """Return a one-level book at the latest close (sized by the candle's volume)."""
        ask, bid, candle = self._quotes(symbol)
        return OrderBook(symbol, (BookLevel(ask, candle.volume),), (BookLevel(bid, candle.volume),))

    def klines(self, symbol: str, interval: str, date: str) -> list[Candle]:
        """Return released candles of one trading day; only the feed's own interval is available."""
        if INTERVAL_MINUTES.get(gmo_interval(interval)) != int(self.step.total_seconds() // 60):
            return []
        start = trading_day_start(parse_kline_date(date))
        return [c for c in self._between(symbol, start) if c.open_time < start + timedelta(days=1)]

    def price_bars(self, symbol: str, since: datetime) -> list[Candle]:
        """Return released candles opening at or after `since`."""
        return self._between(symbol, since)
