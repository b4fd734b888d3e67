"""GMO Coin payloads to domain objects: the response envelope, Decimal fields, normalised ids,
strict checks."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from signaldesk.candles import Candle, CandleError, check_candle
from signaldesk.clock import from_ms
from signaldesk.exchange.errors import ExchangeError, MalformedResponse
from signaldesk.exchange.gmo_errors import error_for_code, error_for_http
from signaldesk.exchange.model import (
    Asset,
    BookLevel,
    CancelFailure,
    CancelResult,
    Execution,
    FeeLimit,
    Margin,
    Order,
    OrderBook,
    Position,
    PositionSummary,
    PublicTrade,
    SymbolRules,
    Ticker,
    TradingVolume,
)


def decode_envelope(endpoint: str, http_status: int, content: bytes) -> Any:
    """Return `data` of a GMO answer (None when absent); raise the translated error or
    MalformedResponse."""
    try:
        body = json.loads(content, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        body = None
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("status"), int)
        or isinstance(body["status"], bool)
    ):
        if http_status != 200:
            raise error_for_http(endpoint, http_status, content.decode("utf-8", "replace"))
        raise MalformedResponse(f"not a GMO envelope: {content[:120]!r}", endpoint=endpoint)
    if body["status"] != 0:
        raise _envelope_error(endpoint, body)
    return body.get("data")


def _envelope_error(endpoint: str, body: dict) -> ExchangeError:
    """Return the error named by the first of `messages`."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages or not isinstance(messages[0], dict):
        return MalformedResponse(f"status {body['status']} without messages", endpoint=endpoint)
    first = messages[0]
    return error_for_code(
        endpoint, str(first.get("message_code", "")), str(first.get("message_string", ""))
    )


class Fields:
    """Reads one JSON object's fields strictly; every problem names the endpoint and the field."""

    def __init__(self, endpoint: str, obj: Any, what: str):
        if not isinstance(obj, dict):
            raise MalformedResponse(
                f"{what}: expected an object, got {type(obj).__name__}", endpoint=endpoint
            )
        self.endpoint, self.obj, self.what = endpoint, obj, what

    def _bad(self, key: str, why: str) -> MalformedResponse:
        return MalformedResponse(
            f"{self.what}.{key}: {why} (value {self.obj.get(key)!r})", endpoint=self.endpoint
        )

    def raw(self, key: str) -> Any:
        """Return a required raw value."""
        if key not in self.obj or self.obj[key] is None:
            raise self._bad(key, "missing")
        return self.obj[key]

    def text(self, key: str) -> str:
        """Return a required non-empty string."""
        value = self.raw(key)
        if not isinstance(value, str) or not value:
            raise self._bad(key, "not a non-empty string")
        return value

    def decimal(self, key: str) -> Decimal:
        """Return a required finite Decimal from a string (or exact JSON number)."""
        value = self.raw(key)
        if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
            raise self._bad(key, "not a number")
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise self._bad(key, "not a number") from None
        if not number.is_finite():
            raise self._bad(key, "not finite")
        return number

    def optional_decimal(self, key: str) -> Decimal | None:
        """Return a Decimal or None when the field is absent."""
        return self.decimal(key) if self.obj.get(key) is not None else None

    def integer(self, key: str) -> int:
        """Return a required id/number, accepting JSON numbers and digit strings."""
        value = self.raw(key)
        if isinstance(value, bool):
            raise self._bad(key, "not an integer")
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.isdigit():
            return int(value)
        raise self._bad(key, "not an integer")

    def optional_integer(self, key: str) -> int | None:
        """Return an int or None when the field is absent."""
        return self.integer(key) if self.obj.get(key) is not None else None

    def time(self, key: str) -> datetime:
        """Return a required ISO-8601 UTC timestamp as an aware datetime."""
        value = self.text(key)
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise self._bad(key, "not an ISO-8601 time") from None
        if moment.tzinfo is None:
            raise self._bad(key, "time without zone")
        return moment.astimezone(UTC)

    def optional_text(self, key: str) -> str | None:
        """Return a string or None when absent."""
        return self.text(key) if self.obj.get(key) is not None else None


def _list(endpoint: str, data: Any, what: str) -> list:
    """Return a JSON array, or MalformedResponse."""
    if not isinstance(data, list):
        raise MalformedResponse(
            f"{what}: expected a list, got {type(data).__name__}", endpoint=endpoint
        )
    return data


def page_list(endpoint: str, data: Any) -> list:
    """Return `data.list` of a list endpoint; a missing list (GMO's empty answer `{}`) is []."""
    if data is None:
        return []
    if not isinstance(data, dict):
        raise MalformedResponse(
            f"data: expected an object, got {type(data).__name__}", endpoint=endpoint
        )
    return _list(endpoint, data.get("list", []), "data.list")


def parse_status(endpoint: str, data: Any) -> str:
    """Return MAINTENANCE, PREOPEN or OPEN."""
    status = Fields(endpoint, data, "data").text("status")
    if status not in ("MAINTENANCE", "PREOPEN", "OPEN"):
        raise MalformedResponse(f"data.status: unknown value {status!r}", endpoint=endpoint)
    return status


def parse_ticker(endpoint: str, item: Any) -> Ticker:
    """Return one ticker row."""
    f = Fields(endpoint, item, "ticker")
    return Ticker(
        f.text("symbol"),
        f.decimal("ask"),
        f.decimal("bid"),
        f.decimal("last"),
        f.decimal("high"),
        f.decimal("low"),
        f.decimal("volume"),
        f.time("timestamp"),
    )


def parse_tickers(endpoint: str, data: Any) -> list[Ticker]:
    """Return every ticker row of GET /v1/ticker."""
    return [parse_ticker(endpoint, item) for item in _list(endpoint, data, "data")]


def _levels(endpoint: str, rows: Any, what: str) -> tuple[BookLevel, ...]:
    """Return order book levels."""
    levels = []
    for row in _list(endpoint, rows, what):
        f = Fields(endpoint, row, what)
        levels.append(BookLevel(f.decimal("price"), f.decimal("size")))
    return tuple(levels)


def parse_order_book(endpoint: str, data: Any) -> OrderBook:
    """Return the order book; an empty side is MalformedResponse (no best price to read)."""
    f = Fields(endpoint, data, "data")
    asks, bids = _levels(endpoint, f.raw("asks"), "asks"), _levels(endpoint, f.raw("bids"), "bids")
    if not asks or not bids:
        raise MalformedResponse("order book with an empty side", endpoint=endpoint)
    return OrderBook(f.text("symbol"), asks, bids)


def parse_trades(endpoint: str, data: Any, symbol: str) -> list[PublicTrade]:
    """Return public trades, newest first."""
    trades = []
    for row in page_list(endpoint, data):
        f = Fields(endpoint, row, "trade")
        trades.append(
            PublicTrade(
                symbol, f.text("side"), f.decimal("price"), f.decimal("size"), f.time("timestamp")
            )
        )
    return trades


def parse_klines(endpoint: str, data: Any) -> list[Candle]:
    """Return candles ascending by open time, each checked for a sane OHLC shape."""
    candles = []
    for row in _list(endpoint, data, "data"):
        f = Fields(endpoint, row, "kline")
        opened = f.integer("openTime")
        candle = Candle(
            from_ms(opened), *(f.decimal(k) for k in ("open", "high", "low", "close", "volume"))
        )
        try:
            check_candle(candle, f"kline {opened}")
        except CandleError as exc:
            raise MalformedResponse(str(exc), endpoint=endpoint) from None
        candles.append(candle)
    return sorted(candles, key=lambda c: c.open_time)


def parse_symbol_rules(endpoint: str, data: Any) -> dict[str, SymbolRules]:
    """Return trade rules per symbol; steps and ticks must be positive."""
    rules = {}
    for row in _list(endpoint, data, "data"):
        f = Fields(endpoint, row, "symbol")
        rule = SymbolRules(
            f.text("symbol"),
            f.decimal("minOrderSize"),
            f.decimal("maxOrderSize"),
            f.decimal("sizeStep"),
            f.decimal("tickSize"),
            f.decimal("takerFee"),
            f.decimal("makerFee"),
        )
        if rule.size_step <= 0 or rule.tick_size <= 0 or rule.min_size <= 0:
            raise MalformedResponse(
                f"symbol {rule.symbol}: non-positive step, tick or minimum", endpoint=endpoint
            )
        rules[rule.symbol] = rule
    return rules


def parse_assets(endpoint: str, data: Any) -> list[Asset]:
    """Return spot balances."""
    assets = []
    for row in _list(endpoint, data, "data"):
        f = Fields(endpoint, row, "asset")
        assets.append(
            Asset(
                f.text("symbol"),
                f.decimal("amount"),
                f.decimal("available"),
                f.decimal("conversionRate"),
            )
        )
    return assets


def parse_margin(endpoint: str, data: Any) -> Margin:
    """Return the leverage margin summary."""
    f = Fields(endpoint, data, "data")
    return Margin(
        f.decimal("actualProfitLoss"),
        f.decimal("availableAmount"),
        f.decimal("margin"),
        f.decimal("profitLoss"),
        f.text("marginCallStatus"),
    )


def normal_symbol(symbol: str) -> str:
    """Return the desk spelling of a symbol (the docs once wrote `BTC/JPY` for `BTC_JPY`)."""
    return symbol.replace("/", "_")


def parse_trading_volume(endpoint: str, data: Any) -> TradingVolume:
    """Return volume, tier and per-symbol account fees and limits."""
    f = Fields(endpoint, data, "data")
    limits = []
    for row in _list(endpoint, data.get("limit", []), "data.limit"):
        g = Fields(endpoint, row, "limit")
        limits.append(
            FeeLimit(
                normal_symbol(g.text("symbol")),
                g.decimal("takerFee"),
                g.decimal("makerFee"),
                g.optional_decimal("todayLimitOpenSize"),
                g.optional_decimal("todayLimitBuySize"),
                g.optional_decimal("todayLimitSellSize"),
            )
        )
    return TradingVolume(f.decimal("jpyVolume"), f.integer("tierLevel"), tuple(limits))


def parse_order_id(endpoint: str, data: Any) -> int:
    """Return the new order id (a string in create answers)."""
    if isinstance(data, bool) or not (
        isinstance(data, int) or (isinstance(data, str) and data.isdigit())
    ):
        raise MalformedResponse(f"data: expected an order id, got {data!r}", endpoint=endpoint)
    return int(data)


def parse_order(endpoint: str, item: Any) -> Order:
    """Return one order."""
    f = Fields(endpoint, item, "order")
    return Order(
        f.integer("orderId"),
        f.integer("rootOrderId"),
        f.text("symbol"),
        f.text("side"),
        f.text("executionType"),
        f.text("settleType"),
        f.decimal("size"),
        f.decimal("executedSize"),
        f.decimal("price"),
        f.optional_decimal("losscutPrice") or Decimal(0),
        f.text("status"),
        f.optional_text("cancelType"),
        f.optional_text("timeInForce"),
        f.time("timestamp"),
        f.optional_text("orderType") or "NORMAL",
    )


def parse_orders(endpoint: str, data: Any) -> list[Order]:
    """Return the orders of a list answer ({} = none)."""
    return [parse_order(endpoint, item) for item in page_list(endpoint, data)]


def parse_execution(endpoint: str, item: Any) -> Execution:
    """Return one execution."""
    f = Fields(endpoint, item, "execution")
    return Execution(
        f.integer("executionId"),
        f.integer("orderId"),
        f.optional_integer("positionId"),
        f.text("symbol"),
        f.text("side"),
        f.text("settleType"),
        f.decimal("size"),
        f.decimal("price"),
        f.decimal("lossGain"),
        f.decimal("fee"),
        f.time("timestamp"),
    )


def parse_executions(endpoint: str, data: Any) -> list[Execution]:
    """Return the executions of a list answer ({} = none)."""
    return [parse_execution(endpoint, item) for item in page_list(endpoint, data)]


def parse_position(endpoint: str, item: Any) -> Position:
    """Return one open position (GMO spells the ordered size `orderdSize`)."""
    f = Fields(endpoint, item, "position")
    ordered = f.optional_decimal("orderdSize")
    if ordered is None:
        ordered = f.decimal("orderedSize")
    return Position(
        f.integer("positionId"),
        f.text("symbol"),
        f.text("side"),
        f.decimal("size"),
        ordered,
        f.decimal("price"),
        f.decimal("lossGain"),
        f.decimal("leverage"),
        f.decimal("losscutPrice"),
        f.time("timestamp"),
    )


def parse_positions(endpoint: str, data: Any) -> list[Position]:
    """Return the open positions of a list answer ({} = none)."""
    return [parse_position(endpoint, item) for item in page_list(endpoint, data)]


def parse_position_summary(endpoint: str, data: Any) -> list[PositionSummary]:
    """Return the position summary rows."""
    rows = []
    for item in page_list(endpoint, data):
        f = Fields(endpoint, item, "summary")
        rows.append(
            PositionSummary(
                f.text("symbol"),
                f.text("side"),
                f.decimal("averagePositionRate"),
                f.decimal("positionLossGain"),
                f.decimal("sumOrderQuantity"),
                f.decimal("sumPositionQuantity"),
            )
        )
    return rows


def parse_id_list(endpoint: str, data: Any) -> list[int]:
    """Return a list of order ids (cancelBulkOrder)."""
    if data is None:
        return []
    return [parse_order_id(endpoint, item) for item in _list(endpoint, data, "data")]


def parse_cancel_result(endpoint: str, data: Any) -> CancelResult:
    """Return what cancelOrders cancelled and refused."""
    f = Fields(endpoint, data, "data")
    failed = []
    for row in _list(endpoint, data.get("failed", []), "data.failed"):
        g = Fields(endpoint, row, "failed")
        failed.append(
            CancelFailure(
                g.integer("orderId"),
                g.text("message_code"),
                g.optional_text("message_string") or "",
            )
        )
    cancelled = tuple(
        parse_order_id(endpoint, i)
        for i in _list(endpoint, f.obj.get("success", []), "data.success")
    )
    return CancelResult(cancelled, tuple(failed))
