"""Test harness for execution: a paper desk over the bundled real candles, signals, ATR and path
finders."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path

from signaldesk import signals
from signaldesk.candles import Candle, read_candle_csv
from signaldesk.exchange.feed import CandleFeed
from signaldesk.exchange.model import BookLevel, OrderBook
from signaldesk.exchange.paper import PaperExchange
from signaldesk.execution import manage_trades

DATA = Path(__file__).resolve().parents[2] / "data"
STEP = timedelta(minutes=15)
SPREAD_BPS = Decimal("2")


@cache
def real_candles(symbol: str) -> tuple[Candle, ...]:
    """Return the bundled real 15-minute candles used as the paper market of a symbol."""
    name = "btcusdt" if symbol.startswith("BTC") else "ethusdt"
    return tuple(read_candle_csv(DATA / f"{name}_binance_15m_2025-04_2025-06.csv.gz"))


def atr(candles: Sequence[Candle], index: int, bars: int = 14) -> Decimal:
    """Return the average true range of the `bars` candles ending at `index`."""
    ranges = []
    for i in range(index - bars + 1, index + 1):
        prev = candles[i - 1].close
        ranges.append(
            max(
                candles[i].high - candles[i].low,
                abs(candles[i].high - prev),
                abs(candles[i].low - prev),
            )
        )
    return (sum(ranges, Decimal(0)) / bars).quantize(Decimal("0.01"))


class ShiftingFeed(CandleFeed):
    """A candle feed whose book can be moved once, between the desk reading it and the order
    arriving.

    `shift_after_reads(n, book)` makes the (n+1)-th and later order-book reads return `book` until
    the next advance: the market moved while the order was in flight (what makes a post-only expire
    or a limit partly take).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reads, self.moved_after, self.moved_book = 0, None, None

    def shift_after_reads(self, reads: int, book: OrderBook) -> None:
        """Move the book after `reads` more reads."""
        self.reads, self.moved_after, self.moved_book = 0, reads, book

    def advance(self) -> bool:
        """Release the next candle and forget any moved book."""
        self.moved_after = self.moved_book = None
        return super().advance()

    def order_book(self, symbol: str) -> OrderBook:
        """Return the candle book, or the moved book once enough reads happened."""
        self.reads += 1
        if (
            self.moved_book is not None
            and symbol == self.moved_book.symbol
            and self.reads > self.moved_after
        ):
            return self.moved_book
        return super().order_book(symbol)


@dataclass
class Desk:
    """A paper desk: database, feed, exchange and settings."""

    db: object
    feed: ShiftingFeed
    exchange: PaperExchange
    settings: object

    @property
    def now(self):
        """Return the feed's present."""
        return self.feed.now()

    def step(self) -> list[str]:
        """Advance one candle and run one management step."""
        self.feed.advance()
        return manage_trades(self.db, self.exchange, self.settings, self.now)

    def run_until_closed(self, trade_id: int, max_steps: int = 40) -> list[str]:
        """Advance candle by candle until the trade is closed or cancelled; return every notice."""
        notices = []
        for _ in range(max_steps):
            status = self.db.execute(
                "SELECT status FROM trades WHERE id = ?", [trade_id]
            ).fetchone()[0]
            if status in ("closed", "cancelled"):
                break
            notices += self.step()
        return notices


def open_desk(db, settings, symbol: str, index: int) -> Desk:
    """Return a paper desk whose present is the close of candle `index` of the symbol's real
    data."""
    candles = real_candles(symbol)
    feed = ShiftingFeed(
        {symbol: candles}, spread_bps=SPREAD_BPS, start=candles[index].open_time + STEP
    )
    return Desk(
        db, feed, PaperExchange(db, feed, starting_jpy=settings.risk.paper_equity_jpy), settings
    )


def approved_signal(
    db, symbol: str, direction: str, candle: Candle, atr_value: Decimal, **plan: Decimal
) -> int:
    """Insert an APPROVED signal for a candle (with an approved plan, if given) and return its
    id."""
    return signals.insert(
        db,
        signals.Signal(
            created_at=candle.open_time + STEP,
            symbol=symbol,
            candle_time=candle.open_time,
            direction=direction,
            confidence=0.8,
            model_version="test",
            status=signals.APPROVED,
            close_price=candle.close,
            atr=atr_value,
            expires_at=candle.open_time + 2 * STEP,
            approved_by="tester",
            **plan,
        ),
    )


def find_start(
    symbol: str, wanted: Callable[[Sequence[Candle], int, Decimal], bool], first: int = 20
) -> int:
    """Return the first candle index of the real data after which the market did what `wanted`
    describes."""
    candles = real_candles(symbol)
    for index in range(first, len(candles) - 40):
        if wanted(candles, index, atr(candles, index)):
            return index
    raise LookupError("no such moment in the bundled data")


def thin_book(symbol: str, bid: Decimal, ask: Decimal, size: Decimal) -> OrderBook:
    """Return a one-level book with a given depth."""
    return OrderBook(symbol, (BookLevel(ask, size),), (BookLevel(bid, size),))


class CrashAfterPost(BaseException):
    """The process died right after the exchange accepted an order."""


class CrashingExchange:
    """Any exchange, except that the process dies just after its next order is accepted."""

    def __init__(self, inner):
        self.inner = inner

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def place_order(self, request):
        self.inner.place_order(request)
        raise CrashAfterPost("killed after the order was accepted")
