"""The one exchange interface the desk uses; live (GMO Coin) and paper implementations both satisfy
it."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Protocol

from signaldesk.candles import Candle
from signaldesk.exchange.model import (
    Asset,
    CancelResult,
    CloseBulkRequest,
    CloseRequest,
    Execution,
    Margin,
    Order,
    OrderBook,
    OrderRequest,
    Position,
    PositionSummary,
    SymbolRules,
    Ticker,
    TradingVolume,
)


class Exchange(Protocol):
    """What risk, the cycle, the bot and execution may ask of an exchange; they cannot tell live
    from paper."""

    def status(self) -> str:
        """Return MAINTENANCE, PREOPEN or OPEN."""

    def symbol_rules(self) -> dict[str, SymbolRules]:
        """Return trade rules per symbol (tick, step, min/max size, fees)."""

    def ticker(self, symbol: str) -> Ticker:
        """Return the ticker of one symbol."""

    def order_book(self, symbol: str) -> OrderBook:
        """Return the order book of one symbol."""

    def klines(self, symbol: str, interval: str, date: str) -> list[Candle]:
        """Return the candles of one GMO trading day (YYYYMMDD, from 06:00 JST) or year (YYYY); []
        when none."""

    def assets(self) -> list[Asset]:
        """Return spot balances (JPY and coins)."""

    def margin(self) -> Margin:
        """Return the leverage margin summary."""

    def active_orders(self, symbol: str) -> list[Order]:
        """Return orders that can still fill, for one symbol."""

    def orders(self, order_ids: Sequence[int]) -> list[Order]:
        """Return orders by id (any status)."""

    def executions(self, order_id: int) -> list[Execution]:
        """Return the fills of one order."""

    def latest_executions(self, symbol: str) -> list[Execution]:
        """Return the fills of about the last day for one symbol, newest first."""

    def open_positions(self, symbol: str) -> list[Position]:
        """Return open leverage positions of one symbol."""

    def place_order(self, request: OrderRequest) -> int:
        """Send a new order once and return its order id; a lost answer raises
        OrderOutcomeUnknown."""

    def close_order(self, request: CloseRequest) -> int:
        """Send an order closing one leverage position once and return its order id."""

    def cancel_order(self, order_id: int) -> None:
        """Cancel one order; an order already final counts as cancelled."""

    def cancel_bulk(
        self, symbols: Sequence[str], side: str | None = None, settle_type: str | None = None
    ) -> list[int]:
        """Cancel every matching active order; return the ids cancelled."""

    def change_order(
        self,
        order_id: int,
        price: Decimal,
        losscut_price: Decimal | None = None,
        *,
        symbol: str | None = None,
    ) -> None:
        """Change the price (and loss-cut price) of a resting order (`symbol` sets the wire
        decimals)."""

    def change_losscut_price(
        self, position_id: int, losscut_price: Decimal, *, symbol: str | None = None
    ) -> None:
        """Set the loss-cut price of one leverage position."""

    def trading_volume(self) -> TradingVolume:
        """Return this week's volume, the rate-limit tier and the account's fees per symbol."""

    def position_summary(self, symbol: str | None = None) -> list[PositionSummary]:
        """Return open leverage positions summed per symbol and side."""

    def close_bulk(self, request: CloseBulkRequest) -> int:
        """Send an order closing `size` across every position of the opposite side once; return its
        id."""

    def cancel_orders(self, order_ids: Sequence[int]) -> CancelResult:
        """Cancel up to 10 orders by id; return which were cancelled and which refused."""
