"""The live GMO Coin client: public and private REST over an injected httpx.Client, signed,
rate-limited, retried."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from signaldesk.candles import Candle
from signaldesk.clock import to_ms, utc_now
from signaldesk.exchange import parse
from signaldesk.exchange.errors import (
    AuthError,
    ExchangeError,
    MalformedResponse,
    NotFound,
    OrderOutcomeUnknown,
    OrderRejected,
    RateLimited,
    TemporaryError,
)
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
    PublicTrade,
    SymbolRules,
    Ticker,
    TradingVolume,
)
from signaldesk.exchange.orderrules import check_order_shape
from signaldesk.exchange.precision import wire_price, wire_size
from signaldesk.exchange.ratelimit import RateLimits
from signaldesk.exchange.signing import auth_headers
from signaldesk.exchange.tradingday import gmo_interval

log = logging.getLogger("signaldesk.exchange.gmo")
PAGE_SIZE = 100
MAX_PAGES = 20
ORDER_CREATING = frozenset({"/v1/order", "/v1/closeOrder", "/v1/closeBulkOrder"})
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)
# GMO answers an order in well under a second; past this the outcome is treated as unknown and
# resolved from GMO's records at once, so a slow answer holds the desk (and the protection of other
# positions) for 5 s at most.
ORDER_TIMEOUT = httpx.Timeout(5.0, connect=3.0)


def failure_of(state: RetryCallState) -> BaseException | None:
    """Return the exception of the attempt tenacity is about to retry."""
    return state.outcome.exception() if state.outcome is not None else None


def order_timeout(client: httpx.Timeout) -> httpx.Timeout:
    """Return the timeout of an order POST: ORDER_TIMEOUT, or the client's own where that is
    shorter."""

    def shorter(mine, theirs):
        return mine if theirs is None else min(mine, theirs)

    return httpx.Timeout(
        connect=shorter(ORDER_TIMEOUT.connect, client.connect),
        read=shorter(ORDER_TIMEOUT.read, client.read),
        write=shorter(ORDER_TIMEOUT.write, client.write),
        pool=shorter(ORDER_TIMEOUT.pool, client.pool),
    )


def wire(value: Decimal) -> str:
    """Render a Decimal as GMO's plain decimal string (never exponent notation)."""
    return format(value, "f")


def backoff_seconds(attempt: int, error: BaseException | None) -> float:
    """Return the pause before retry `attempt`: exponential from 0.5 s, at least 2 s after a rate
    limit, max 8 s."""
    pause = min(0.5 * 2 ** (attempt - 1), 8.0)
    return max(pause, 2.0) if isinstance(error, RateLimited) else pause


def _reveal(secret: Any) -> str:
    """Return the plain text of a Secret (or a str)."""
    return secret.reveal() if hasattr(secret, "reveal") else str(secret or "")


class GmoExchange:
    """GMO Coin (spot and leverage) behind the `Exchange` interface; reads retried, order POSTs sent
    exactly once."""

    def __init__(
        self,
        http: httpx.Client,
        *,
        public_url: str,
        private_url: str,
        api_key: Any = "",
        api_secret: Any = "",
        limits: RateLimits | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = utc_now,
        read_attempts: int = 4,
    ):
        self.http, self.public_url, self.private_url = (
            http,
            public_url.rstrip("/"),
            private_url.rstrip("/"),
        )
        self._key, self._secret = _reveal(api_key), _reveal(api_secret)
        self.limits = limits or RateLimits.conservative(sleep=sleep)
        self.sleep, self.clock, self.read_attempts = sleep, clock, read_attempts
        self.read_retries = 0
        self._rules: dict[str, SymbolRules] | None = None

    # -- transport
    # -------------------------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        *,
        private: bool,
        params: dict | None = None,
        body: dict | None = None,
    ) -> Any:
        """Send one request and return `data`; raise the translated ExchangeError."""
        endpoint = f"{method} {'/private' if private else '/public'}{path}"
        payload = json.dumps(body, separators=(",", ":")) if body is not None else ""
        headers = self._headers(method, path, payload, endpoint) if private else {}
        self.limits.for_request(private, method).acquire()
        url = (self.private_url if private else self.public_url) + path
        creates = method == "POST" and path in ORDER_CREATING
        timeout = order_timeout(self.http.timeout) if creates else self.http.timeout
        try:
            response = self.http.request(
                method,
                url,
                params=params,
                content=payload or None,
                headers=headers,
                timeout=timeout,
            )
        except httpx.HTTPError as exc:
            raise self._transport_error(endpoint, method, path, exc) from exc
        if method == "POST" and path in ORDER_CREATING:
            return self._order_answer(endpoint, response)
        return parse.decode_envelope(endpoint, response.status_code, response.content)

    def _headers(self, method: str, path: str, payload: str, endpoint: str) -> dict[str, str]:
        """Return signed headers; AuthError when no keys are configured."""
        if not (self._key and self._secret):
            raise AuthError(
                "no GMO API key/secret configured (set GMO_API_KEY and GMO_API_SECRET)",
                endpoint=endpoint,
            )
        return auth_headers(self._key, self._secret, to_ms(self.clock()), method, path, payload)

    def _transport_error(
        self, endpoint: str, method: str, path: str, exc: httpx.HTTPError
    ) -> ExchangeError:
        """Translate a transport failure; a POST that may have reached GMO becomes
        OrderOutcomeUnknown."""
        text = f"{type(exc).__name__}: {exc}"
        if method == "POST" and path in ORDER_CREATING and not isinstance(exc, NOT_SENT):
            return OrderOutcomeUnknown(
                f"no answer, the order may or may not exist ({text})", endpoint=endpoint
            )
        return TemporaryError(f"transport failure ({text})", endpoint=endpoint)

    def _order_answer(self, endpoint: str, response: httpx.Response) -> Any:
        """Decode an order POST answer; an unreadable or server-error answer leaves the outcome
        unknown."""
        try:
            return parse.decode_envelope(endpoint, response.status_code, response.content)
        except (MalformedResponse, TemporaryError) as exc:
            if exc.code:  # GMO answered with an error envelope: the order was refused, not lost
                raise
            raise OrderOutcomeUnknown(
                f"unreadable answer, the order may or may not exist ({exc})", endpoint=endpoint
            ) from exc

    def _read(self, path: str, *, private: bool = False, params: dict | None = None) -> Any:
        """GET with retries on temporary errors (exponential backoff, injectable sleep)."""
        retrying = Retrying(
            stop=stop_after_attempt(self.read_attempts),
            retry=retry_if_exception_type(TemporaryError),
            wait=lambda state: backoff_seconds(state.attempt_number, failure_of(state)),
            sleep=self.sleep,
            before_sleep=self._count_retry,
            reraise=True,
        )
        return retrying(self._send, "GET", path, private=private, params=params)

    def _count_retry(self, state: RetryCallState) -> None:
        """Count and log one retry."""
        self.read_retries += 1
        log.warning("retrying after %s (attempt %d)", failure_of(state), state.attempt_number)

    def _write(self, path: str, body: dict) -> Any:
        """POST once; never retried."""
        return self._send("POST", path, private=True, body=body)

    def _pages(self, path: str, params: dict) -> list:
        """Read every page of a paginated private list endpoint ({} = empty)."""
        rows: list = []
        for page in range(1, MAX_PAGES + 1):
            data = self._read(
                path, private=True, params={**params, "page": page, "count": PAGE_SIZE}
            )
            batch = parse.page_list(f"GET /private{path}", data)
            rows.extend(batch)
            if len(batch) < PAGE_SIZE:
                break
        return rows

    # -- public
    # ----------------------------------------------------------------------------------------------

    def status(self) -> str:
        """Return MAINTENANCE, PREOPEN or OPEN (an ERR-5201/5202 answer raises Maintenance)."""
        return parse.parse_status("GET /public/v1/status", self._read("/v1/status"))

    def symbol_rules(self) -> dict[str, SymbolRules]:
        """Return trade rules per symbol, loaded from GET /v1/symbols once and kept."""
        if self._rules is None:
            self._rules = parse.parse_symbol_rules(
                "GET /public/v1/symbols", self._read("/v1/symbols")
            )
        return dict(self._rules)

    def rules_for(self, symbol: str) -> SymbolRules:
        """Return the rules of one symbol; OrderRejected when GMO does not list it."""
        rules = self.symbol_rules()
        if symbol not in rules:
            raise OrderRejected(
                f"symbol {symbol!r} is not traded on GMO Coin", reason="invalid_parameter"
            )
        return rules[symbol]

    def tickers(self) -> list[Ticker]:
        """Return the tickers of every symbol in one call."""
        return parse.parse_tickers("GET /public/v1/ticker", self._read("/v1/ticker"))

    def ticker(self, symbol: str) -> Ticker:
        """Return the ticker of one symbol."""
        endpoint = "GET /public/v1/ticker"
        rows = [
            t
            for t in parse.parse_tickers(
                endpoint, self._read("/v1/ticker", params={"symbol": symbol})
            )
            if t.symbol == symbol
        ]
        if not rows:
            raise MalformedResponse(f"no ticker row for {symbol}", endpoint=endpoint)
        return rows[0]

    def order_book(self, symbol: str) -> OrderBook:
        """Return the order book of one symbol (asks ascending, bids descending)."""
        return parse.parse_order_book(
            "GET /public/v1/orderbooks", self._read("/v1/orderbooks", params={"symbol": symbol})
        )

    def trades(self, symbol: str, count: int = PAGE_SIZE) -> list[PublicTrade]:
        """Return the latest public trades of one symbol, newest first."""
        data = self._read(
            "/v1/trades", params={"symbol": symbol, "page": 1, "count": min(count, PAGE_SIZE)}
        )
        return parse.parse_trades("GET /public/v1/trades", data, symbol)

    def klines(self, symbol: str, interval: str, date: str) -> list[Candle]:
        """Return the candles of one trading day (YYYYMMDD) or year (YYYY); [] when GMO has none
        (ERR-5207)."""
        params = {"symbol": symbol, "interval": gmo_interval(interval), "date": date}
        try:
            data = self._read("/v1/klines", params=params)
        except NotFound as exc:
            if exc.code in ("ERR-5207", ""):
                return []
            raise
        return parse.parse_klines("GET /public/v1/klines", data)

    # -- private reads
    # ---------------------------------------------------------------------------------------

    def assets(self) -> list[Asset]:
        """Return spot balances (JPY and coins)."""
        return parse.parse_assets(
            "GET /private/v1/account/assets", self._read("/v1/account/assets", private=True)
        )

    def margin(self) -> Margin:
        """Return the leverage margin summary."""
        return parse.parse_margin(
            "GET /private/v1/account/margin", self._read("/v1/account/margin", private=True)
        )

    def trading_volume(self) -> TradingVolume:
        """Return this week's volume, the rate-limit tier and account fees."""
        data = self._read("/v1/account/tradingVolume", private=True)
        return parse.parse_trading_volume("GET /private/v1/account/tradingVolume", data)

    def active_orders(self, symbol: str) -> list[Order]:
        """Return orders that can still fill, for one symbol."""
        rows = self._pages("/v1/activeOrders", {"symbol": symbol})
        return [parse.parse_order("GET /private/v1/activeOrders", r) for r in rows]

    def orders(self, order_ids: Sequence[int]) -> list[Order]:
        """Return orders by id (any status), 10 ids per request."""
        found: list[Order] = []
        ids = [int(i) for i in order_ids]
        for start in range(0, len(ids), 10):
            chunk = ",".join(str(i) for i in ids[start : start + 10])
            data = self._read("/v1/orders", private=True, params={"orderId": chunk})
            found.extend(parse.parse_orders("GET /private/v1/orders", data))
        return found

    def executions(self, order_id: int) -> list[Execution]:
        """Return the fills of one order."""
        data = self._read("/v1/executions", private=True, params={"orderId": int(order_id)})
        return parse.parse_executions("GET /private/v1/executions", data)

    def latest_executions(self, symbol: str) -> list[Execution]:
        """Return the fills of about the last day for one symbol, newest first."""
        data = self._read(
            "/v1/latestExecutions", private=True, params={"symbol": symbol, "page": 1, "count": 100}
        )
        return parse.parse_executions("GET /private/v1/latestExecutions", data)

    def open_positions(self, symbol: str) -> list[Position]:
        """Return open leverage positions of one symbol."""
        rows = self._pages("/v1/openPositions", {"symbol": symbol})
        return [parse.parse_position("GET /private/v1/openPositions", r) for r in rows]

    def position_summary(self, symbol: str | None = None) -> list[PositionSummary]:
        """Return open positions summed per symbol and side."""
        data = self._read(
            "/v1/positionSummary", private=True, params={"symbol": symbol} if symbol else None
        )
        return parse.parse_position_summary("GET /private/v1/positionSummary", data)

    # -- private writes
    # --------------------------------------------------------------------------------------

    def _order_body(self, request, losscut: Decimal | None = None) -> dict[str, Any]:
        """Check an order against GMO's rules and return its body; every number a fixed-point string
        with exactly the symbol's decimals (OrderRejected for anything GMO would refuse)."""
        rules = self.rules_for(request.symbol)
        tif = check_order_shape(
            rules,
            request.side,
            request.execution_type,
            request.size,
            request.price,
            request.time_in_force,
            losscut,
        )
        body: dict[str, Any] = {
            "symbol": request.symbol,
            "side": request.side,
            "executionType": request.execution_type,
            "timeInForce": tif,
        }
        if request.price is not None:
            body["price"] = wire_price(request.price, rules)
        if losscut is not None:
            body["losscutPrice"] = wire_price(losscut, rules)
        return body

    def place_order(self, request: OrderRequest) -> int:
        """Send a new order once and return its id; a lost answer raises OrderOutcomeUnknown (never
        re-sent)."""
        body = self._order_body(request, request.losscut_price)
        body["size"] = wire_size(request.size, self.rules_for(request.symbol))
        return parse.parse_order_id("POST /private/v1/order", self._write("/v1/order", body))

    def close_order(self, request: CloseRequest) -> int:
        """Send an order closing one leverage position once and return its id."""
        body = self._order_body(request)
        size = wire_size(request.size, self.rules_for(request.symbol))
        body["settlePosition"] = [{"positionId": int(request.position_id), "size": size}]
        return parse.parse_order_id(
            "POST /private/v1/closeOrder", self._write("/v1/closeOrder", body)
        )

    def close_bulk(self, request: CloseBulkRequest) -> int:
        """Send an order closing `size` across positions of the opposite side, once; return its
        id."""
        body = self._order_body(request)
        body["size"] = wire_size(request.size, self.rules_for(request.symbol))
        return parse.parse_order_id(
            "POST /private/v1/closeBulkOrder", self._write("/v1/closeBulkOrder", body)
        )

    def cancel_order(self, order_id: int) -> None:
        """Cancel one order; an order already final (ERR-5122) counts as cancelled."""
        try:
            self._write("/v1/cancelOrder", {"orderId": int(order_id)})
        except OrderRejected as exc:
            if exc.code != "ERR-5122":
                raise

    def cancel_orders(self, order_ids: Sequence[int]) -> CancelResult:
        """Cancel up to 10 orders in one request; return which were cancelled and which refused."""
        ids = [int(i) for i in order_ids]
        if not 1 <= len(ids) <= 10:
            raise ValueError(f"cancel_orders takes 1 to 10 ids, got {len(ids)}")
        data = self._write("/v1/cancelOrders", {"orderIds": ids})
        return parse.parse_cancel_result("POST /private/v1/cancelOrders", data)

    def cancel_bulk(
        self, symbols: Sequence[str], side: str | None = None, settle_type: str | None = None
    ) -> list[int]:
        """Cancel every matching active order (GMO cancels 10 per call: repeat until none); return
        the ids."""
        body: dict[str, Any] = {"symbols": list(symbols)}
        if side:
            body["side"] = side
        if settle_type:
            body["settleType"] = settle_type
        cancelled: list[int] = []
        for _ in range(MAX_PAGES):
            batch = parse.parse_id_list(
                "POST /private/v1/cancelBulkOrder", self._write("/v1/cancelBulkOrder", body)
            )
            cancelled.extend(i for i in batch if i not in cancelled)
            if len(batch) < 10:
                break
        return cancelled

    def _price_text(self, price: Decimal, symbol: str | None) -> str:
        """Render a price with the symbol's tick decimals (plain notation when the symbol is not
        given)."""
        return wire_price(price, self.rules_for(symbol)) if symbol else wire(price)

    def change_order(
        self,
        order_id: int,
        price: Decimal,
        losscut_price: Decimal | None = None,
        *,
        symbol: str | None = None,
    ) -> None:
        """Change the price (and loss-cut price) of a resting order."""
        body: dict[str, Any] = {"orderId": int(order_id), "price": self._price_text(price, symbol)}
        if losscut_price is not None:
            body["losscutPrice"] = self._price_text(losscut_price, symbol)
        self._write("/v1/changeOrder", body)

    def change_losscut_price(
        self, position_id: int, losscut_price: Decimal, *, symbol: str | None = None
    ) -> None:
        """Set the loss-cut price of one leverage position."""
        self._write(
            "/v1/changeLosscutPrice",
            {
                "positionId": int(position_id),
                "losscutPrice": self._price_text(losscut_price, symbol),
            },
        )

    # -- private WebSocket tokens
    # ------------------------------------------------------------------------------

    def ws_token(self) -> str:
        """Create a private WebSocket token (valid 60 minutes; GMO keeps at most 5 per key)."""
        data = self._send("POST", "/v1/ws-auth", private=True, body={})
        if not isinstance(data, str) or not data:
            raise MalformedResponse(
                f"data: expected a token, got {data!r}", endpoint="POST /v1/ws-auth"
            )
        return data

    def extend_ws_token(self, token: str) -> None:
        """Reset a token's expiry to 60 minutes; an unknown or expired token raises OrderRejected
        (ERR-5106)."""
        self._send("PUT", "/v1/ws-auth", private=True, body={"token": token})

    def delete_ws_token(self, token: str) -> None:
        """Delete a token (on shutdown)."""
        self._send("DELETE", "/v1/ws-auth", private=True, body={"token": token})
