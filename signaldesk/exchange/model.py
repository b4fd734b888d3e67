"""Exchange domain objects: symbol rules, market data, orders, executions and positions (Decimal
everywhere)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

BUY, SELL = "BUY", "SELL"
LIMIT, MARKET, STOP = "LIMIT", "MARKET", "STOP"
FAS, FAK, FOK, SOK = "FAS", "FAK", "FOK", "SOK"
OPEN_SETTLE, CLOSE_SETTLE = "OPEN", "CLOSE"
# Leverage symbols that accept post-only (SOK) as of the spec (2024-06-01); every spot symbol
# accepts it.
SOK_LEVERAGE_SYMBOLS = frozenset(
    {"BTC_JPY", "DOT_JPY", "ATOM_JPY", "ADA_JPY", "LINK_JPY", "DOGE_JPY", "SOL_JPY"}
)
ACTIVE_STATUSES = frozenset({"WAITING", "ORDERED", "MODIFYING", "CANCELLING"})


def is_leverage(symbol: str) -> bool:
    """Return True for leverage symbols (`BTC_JPY`), False for spot (`BTC`)."""
    return symbol.endswith("_JPY")


def accepts_post_only(symbol: str) -> bool:
    """Return True when the symbol accepts timeInForce=SOK."""
    return not is_leverage(symbol) or symbol in SOK_LEVERAGE_SYMBOLS


@dataclass(frozen=True)
class SymbolRules:
    """Trade rules of one symbol from GET /v1/symbols; every rounding uses these."""

    symbol: str
    min_size: Decimal
    max_size: Decimal
    size_step: Decimal
    tick_size: Decimal
    taker_fee: Decimal
    maker_fee: Decimal


@dataclass(frozen=True)
class Ticker:
    """Best prices and the day's range of one symbol."""

    symbol: str
    ask: Decimal
    bid: Decimal
    last: Decimal
    high: Decimal
    low: Decimal
    volume: Decimal
    timestamp: datetime


@dataclass(frozen=True)
class BookLevel:
    """One price level of an order book."""

    price: Decimal
    size: Decimal


@dataclass(frozen=True)
class OrderBook:
    """Asks ascending, bids descending."""

    symbol: str
    asks: tuple[BookLevel, ...]
    bids: tuple[BookLevel, ...]

    @property
    def best_ask(self) -> Decimal:
        """Return the lowest ask."""
        return self.asks[0].price

    @property
    def best_bid(self) -> Decimal:
        """Return the highest bid."""
        return self.bids[0].price

    @property
    def spread_bps(self) -> Decimal:
        """Return the spread in basis points of the mid price."""
        mid = (self.best_ask + self.best_bid) / 2
        return (self.best_ask - self.best_bid) / mid * Decimal(10000)


@dataclass(frozen=True)
class Asset:
    """A spot balance (JPY or a coin)."""

    symbol: str
    amount: Decimal
    available: Decimal
    conversion_rate: Decimal


@dataclass(frozen=True)
class Margin:
    """Leverage account margin summary."""

    actual_profit_loss: Decimal
    available_amount: Decimal
    margin: Decimal
    profit_loss: Decimal
    margin_call_status: str


@dataclass(frozen=True)
class OrderRequest:
    """A new order (spot buy/sell, or a leverage open)."""

    symbol: str
    side: str
    execution_type: str
    size: Decimal
    price: Decimal | None = None
    time_in_force: str | None = None
    losscut_price: Decimal | None = None


@dataclass(frozen=True)
class CloseRequest:
    """An order closing (part of) one leverage position; `side` is the closing side."""

    symbol: str
    side: str
    execution_type: str
    position_id: int
    size: Decimal
    price: Decimal | None = None
    time_in_force: str | None = None


@dataclass(frozen=True)
class Order:
    """An order as the exchange reports it."""

    order_id: int
    root_order_id: int
    symbol: str
    side: str
    execution_type: str
    settle_type: str
    size: Decimal
    executed_size: Decimal
    price: Decimal
    losscut_price: Decimal
    status: str
    cancel_type: str | None
    time_in_force: str | None
    timestamp: datetime
    order_type: str = "NORMAL"  # LOSSCUT for GMO's own loss-cut orders

    @property
    def is_active(self) -> bool:
        """Return True while the order can still fill."""
        return self.status in ACTIVE_STATUSES


@dataclass(frozen=True)
class Execution:
    """One fill; fee > 0 is paid, fee < 0 is a maker rebate."""

    execution_id: int
    order_id: int
    position_id: int | None
    symbol: str
    side: str
    settle_type: str
    size: Decimal
    price: Decimal
    loss_gain: Decimal
    fee: Decimal
    timestamp: datetime


@dataclass(frozen=True)
class Position:
    """An open leverage position."""

    position_id: int
    symbol: str
    side: str
    size: Decimal
    ordered_size: Decimal
    price: Decimal
    loss_gain: Decimal
    leverage: Decimal
    losscut_price: Decimal
    timestamp: datetime


@dataclass(frozen=True)
class PublicTrade:
    """One trade print from GET /public/v1/trades (side = the taker's side)."""

    symbol: str
    side: str
    price: Decimal
    size: Decimal
    timestamp: datetime


@dataclass(frozen=True)
class FeeLimit:
    """Account-specific fees and remaining daily size limits of one symbol
    (tradingVolume.limit[])."""

    symbol: str
    taker_fee: Decimal
    maker_fee: Decimal
    today_limit_open_size: Decimal | None = None
    today_limit_buy_size: Decimal | None = None
    today_limit_sell_size: Decimal | None = None


@dataclass(frozen=True)
class TradingVolume:
    """This week's JPY volume, the rate-limit tier and per-symbol account fees."""

    jpy_volume: Decimal
    tier_level: int
    limits: tuple[FeeLimit, ...]


@dataclass(frozen=True)
class PositionSummary:
    """Open leverage positions of one symbol and side, summed."""

    symbol: str
    side: str
    average_price: Decimal
    loss_gain: Decimal
    order_quantity: Decimal
    position_quantity: Decimal


@dataclass(frozen=True)
class CloseBulkRequest:
    """An order closing `size` across every position of the opposite side; `side` is the closing
    side."""

    symbol: str
    side: str
    execution_type: str
    size: Decimal
    price: Decimal | None = None
    time_in_force: str | None = None


@dataclass(frozen=True)
class CancelFailure:
    """One order that cancelOrders could not cancel, with the exchange's reason."""

    order_id: int
    code: str
    text: str


@dataclass(frozen=True)
class CancelResult:
    """What cancelOrders did: ids cancelled and ids refused."""

    cancelled: tuple[int, ...]
    failed: tuple[CancelFailure, ...]
