"""The paper exchange's fill rules, pure: crossing, book sweeps, trade-through on bars, stops
(leverage fees: signaldesk.fees).

Where these numbers come from: the default symbol rules are the spec's live 2026 table
(gmo-coin-api.md §6.6, measured 2026-09-22) for BTC_JPY/ETH_JPY; BTC spot uses the doc example row
of GET /v1/symbols (fees agree with the 2026 fee page: maker -0.01 %, taker 0.05 %); ETH spot
min/step/tick were never captured, so they mirror ETH_JPY with the spot fees of the same fee page
[inference]. Live trading always loads /v1/symbols instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from signaldesk.candles import Candle
from signaldesk.exchange.model import BUY, LIMIT, STOP, OrderBook, SymbolRules

D = Decimal
DEFAULT_RULES = {
    "BTC_JPY": SymbolRules("BTC_JPY", D("0.001"), D("5"), D("0.001"), D("1"), D("0"), D("0")),
    "ETH_JPY": SymbolRules("ETH_JPY", D("0.01"), D("100"), D("0.01"), D("1"), D("0"), D("0")),
    "BTC": SymbolRules("BTC", D("0.0001"), D("5"), D("0.0001"), D("1"), D("0.0005"), D("-0.0001")),
    "ETH": SymbolRules("ETH", D("0.01"), D("100"), D("0.01"), D("1"), D("0.0005"), D("-0.0001")),
}
LEVERAGE = D(2)  # individual accounts on GMO Coin trade leverage at 2x


@dataclass(frozen=True)
class Fill:
    """A price and size an order trades at, and whether it was the maker."""

    price: Decimal
    size: Decimal
    maker: bool


def crosses(side: str, price: Decimal, book: OrderBook) -> bool:
    """Return True when a limit at `price` would trade at once (BUY at/above the ask, SELL at/below
    the bid)."""
    return price >= book.best_ask if side == BUY else price <= book.best_bid


def sweep(side: str, size: Decimal, book: OrderBook, limit: Decimal | None = None) -> list[Fill]:
    """Return taker fills walking the opposite side of the book, up to `size` and (if given) the
    limit price."""
    levels = book.asks if side == BUY else book.bids
    fills, left = [], size
    for level in levels:
        beyond = limit is not None and (level.price > limit if side == BUY else level.price < limit)
        if left <= 0 or beyond:
            break
        take = min(left, level.size)
        if take > 0:
            fills.append(Fill(level.price, take, maker=False))
            left -= take
    return fills


def market_fills(side: str, size: Decimal, book: OrderBook) -> list[Fill]:
    """Return the fills of a market order: sweep the book; anything beyond its depth at the last
    level's price."""
    fills = sweep(side, size, book)
    left = size - sum((f.size for f in fills), D(0))
    if left > 0:
        last = (book.asks if side == BUY else book.bids)[-1].price
        fills.append(Fill(last, left, maker=False))
    return fills


def bar_fill(execution_type: str, side: str, price: Decimal, bar: Candle) -> Fill | None:
    """Return how a resting order fills in one later bar, or None.

    A LIMIT fills at its price only when the market trades through it (BUY: low < price; SELL: high
    > price); touching is not enough. A STOP triggers when the market reaches it (BUY: high >=
    price; SELL: low <= price) and fills as taker at its price, or at the bar's open when the bar
    opened beyond it (a gap).
    """
    if execution_type == LIMIT:
        through = bar.low < price if side == BUY else bar.high > price
        return Fill(price, D(0), maker=True) if through else None
    if execution_type == STOP:
        if side == BUY and bar.high >= price:
            return Fill(max(price, bar.open), D(0), maker=False)
        if side != BUY and bar.low <= price:
            return Fill(min(price, bar.open), D(0), maker=False)
    return None


def stop_triggers_now(side: str, price: Decimal, book: OrderBook) -> bool:
    """Return True when a stop at `price` would trigger at once (GMO refuses it, ERR-5129)."""
    return book.best_ask >= price if side == BUY else book.best_bid <= price


def position_pnl(side: str, entry: Decimal, exit_price: Decimal, size: Decimal) -> Decimal:
    """Return the P/L of closing `size` of a position opened at `entry` (BUY = long)."""
    move = exit_price - entry
    return move * size if side == BUY else -move * size


def required_margin(price: Decimal, size: Decimal) -> Decimal:
    """Return the margin a leverage position of this value needs."""
    return price * size / LEVERAGE
