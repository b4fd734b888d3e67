"""A fake GMO Coin REST server on 127.0.0.1 (stdlib only): signed private API, an order book, SOK, stops, faults.

    with FakeGmo() as fake:
        settings urls -> fake.public_url, fake.private_url   (keys: fake.api_key / fake.api_secret)
        fake.set_book("BTC_JPY", bid="9999000", ask="10000000")
        fake.trade_at("BTC_JPY", "9990000", size="0.005")     # fills resting orders priced through it, fires stops
        fake.fail_next("/v1/order", "timeout")                  # maintenance, rate_limit, timeout, malformed,
                                                                # truncated, http500, not_found, or "ERR-xxxx"
        fake.load_bundled_klines()                              # 15min klines from data/*.csv.gz

Matching: a trade print at P fills resting BUY limits priced >= P and SELL limits <= P (our orders are first in
the queue, as if they had rested there), at their own price as maker, up to `size` in total; a BUY stop triggers
at P >= stop (SELL: P <= stop) and fills at P as taker. An order crossing the book takes the book's levels
(a partial take leaves a FAS remainder resting); a crossing SOK expires with EXPIRED_SOK, like GMO.
Every private request's signature is checked exactly as GMO does (timestamp + method + /v1 path + POST body).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "gmo"
DATA = Path(__file__).resolve().parent.parent.parent / "data"
D = Decimal
ACTIVE = ("WAITING", "ORDERED", "MODIFYING", "CANCELLING")
# Wire rows of /v1/symbols: BTC from the docs example (fixture symbols.json), BTC_JPY/ETH_JPY from the spec's
# live 2026 table, ETH spot by inference (spot fees of the 2026 fee page).
SYMBOLS = [
    {
        "symbol": "BTC",
        "minOrderSize": "0.0001",
        "maxOrderSize": "5",
        "sizeStep": "0.0001",
        "tickSize": "1",
        "takerFee": "0.0005",
        "makerFee": "-0.0001",
    },
    {
        "symbol": "ETH",
        "minOrderSize": "0.01",
        "maxOrderSize": "100",
        "sizeStep": "0.01",
        "tickSize": "1",
        "takerFee": "0.0005",
        "makerFee": "-0.0001",
    },
    {
        "symbol": "BTC_JPY",
        "minOrderSize": "0.001",
        "maxOrderSize": "5",
        "sizeStep": "0.001",
        "tickSize": "1",
        "takerFee": "0",
        "makerFee": "0",
    },
    {
        "symbol": "ETH_JPY",
        "minOrderSize": "0.01",
        "maxOrderSize": "100",
        "sizeStep": "0.01",
        "tickSize": "1",
        "takerFee": "0",
        "makerFee": "0",
    },
]
SOK_SYMBOLS = {"BTC", "ETH", "BTC_JPY"}
BUNDLED = {
    "BTC_JPY": "btcusdt_binance_15m_2025-04_2025-06.csv.gz",
    "BTC": "btcusdt_binance_15m_2025-04_2025-06.csv.gz",
    "ETH_JPY": "ethusdt_binance_15m_2025-04_2025-06.csv.gz",
    "ETH": "ethusdt_binance_15m_2025-04_2025-06.csv.gz",
}
FAULTS = ("maintenance", "rate_limit", "timeout", "malformed", "truncated", "http500", "not_found")


class Refusal(Exception):
    """An error envelope to answer with."""

    def __init__(self, code: str, text: str, status: int = 1, http: int = 200):
        super().__init__(code)
        self.code, self.text, self.status, self.http = code, text, status, http


def fixture(name: str) -> dict:
    """Return one recorded GMO payload from tests/fixtures/gmo."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def gmo_time(moment: datetime) -> str:
    """Render a time the way GMO does (ms, Z)."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def expected_sign(secret: str, timestamp: str, method: str, path: str, body: str) -> str:
    """Return the signature GMO expects (written apart from the client's signer on purpose)."""
    text = timestamp + method + path + (body if method == "POST" else "")
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


class FakeGmo:
    """GMO Coin public + private REST with in-memory orders, executions, positions and balances."""

    def __init__(
        self,
        *,
        api_key: str = "test-api-key",
        api_secret: str = "test-api-secret",
        jpy: str = "10000000",
        coins: dict[str, str] | None = None,
        timeout_sleep: float = 1.5,
        max_clock_skew_ms: int = 30_000,
    ):
        self.api_key, self.api_secret = api_key, api_secret
        self.timeout_sleep, self.max_clock_skew_ms = timeout_sleep, max_clock_skew_ms
        self.lock = threading.RLock()
        self.rules = {
            row["symbol"]: {k: (D(v) if k != "symbol" else v) for k, v in row.items()}
            for row in SYMBOLS
        }
        self.balances = {"JPY": D(jpy), **{k: D(v) for k, v in (coins or {}).items()}}
        self.books: dict[str, dict[str, list[list[Decimal]]]] = {}
        self.last: dict[str, Decimal] = {}
        self.public_trades: dict[str, list[dict]] = {}
        self.klines: dict[tuple[str, str], list[dict]] = {}
        self.orders: dict[int, dict] = {}
        self.executions: list[dict] = []
        self.positions: dict[int, dict] = {}
        self.exchange_status = "OPEN"
        self.faults: dict[str, list[str]] = {}
        self.requests: list[tuple[str, str, dict, str]] = []
        self._ids = itertools.count(700001)
        self._exec_ids = itertools.count(900001)
        self._pos_ids = itertools.count(300001)
        self.httpd: ThreadingHTTPServer | None = None
        self.private_fault: str | None = None  # when set, every private request gets this fault
        self.on_request = None  # optional callable(method, path), called as each request arrives

    # -- lifecycle -------------------------------------------------------------------------------------------

    def __enter__(self) -> FakeGmo:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        """Serve on a free loopback port in a daemon thread."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                fake._handle(self, "GET", "")

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                fake._handle(self, "POST", self.rfile.read(length).decode("utf-8", "replace"))

            def do_PUT(self):
                self.do_POST()

            def do_DELETE(self):
                self.do_POST()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def stop(self) -> None:
        """Stop serving."""
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    @property
    def base_url(self) -> str:
        """Return http://127.0.0.1:PORT."""
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def public_url(self) -> str:
        """Return the public REST base (like https://api.coin.z.com/public)."""
        return self.base_url + "/public"

    @property
    def private_url(self) -> str:
        """Return the private REST base (like https://api.coin.z.com/private)."""
        return self.base_url + "/private"

    # -- test controls ---------------------------------------------------------------------------------------

    def set_book(
        self,
        symbol: str,
        bid: str,
        ask: str,
        bid_size: str = "1",
        ask_size: str = "1",
        bids: list[tuple[str, str]] | None = None,
        asks: list[tuple[str, str]] | None = None,
    ) -> None:
        """Set the order book (best bid/ask, or full levels); resting orders do not fill from a book change."""
        with self.lock:
            self.books[symbol] = {
                "bids": [[D(p), D(s)] for p, s in (bids or [(bid, bid_size)])],
                "asks": [[D(p), D(s)] for p, s in (asks or [(ask, ask_size)])],
            }
            self.last.setdefault(symbol, (D(bid) + D(ask)) / 2)

    def trade_at(
        self, symbol: str, price: str, size: str | None = None, side: str = "SELL"
    ) -> list[int]:
        """Print a trade at `price`: fill resting limits priced through/at it and fire stops; return order ids hit."""
        with self.lock:
            price_d, left = D(price), (D(size) if size is not None else None)
            self.last[symbol] = price_d
            now = datetime.now(UTC)
            self.public_trades.setdefault(symbol, []).insert(
                0,
                {"price": price, "side": side, "size": size or "0.01", "timestamp": gmo_time(now)},
            )
            hit = []
            for order in sorted(self._active(symbol), key=lambda o: o["orderId"]):
                if left is not None and left <= 0:
                    break
                fill_price, maker = self._trade_fill(order, price_d)
                if fill_price is None:
                    continue
                take = order["remaining"] if left is None else min(order["remaining"], left)
                self._fill(order, fill_price, take, maker)
                left = None if left is None else left - take
                hit.append(order["orderId"])
            return hit

    def fail_next(self, path: str, kind: str, times: int = 1) -> None:
        """Answer the next `times` requests to `path` (e.g. "/v1/order") with a fault (see FAULTS or "ERR-xxxx")."""
        if kind not in FAULTS and not kind.startswith("ERR-"):
            raise ValueError(f"fault {kind!r}: use one of {', '.join(FAULTS)} or an ERR-code")
        with self.lock:
            self.faults.setdefault(path, []).extend([kind] * times)

    def set_private_fault(self, kind: str | None) -> None:
        """Answer every private request with a fault (e.g. "maintenance") until called with None."""
        if kind is not None and kind not in FAULTS and not kind.startswith("ERR-"):
            raise ValueError(f"fault {kind!r}: use one of {', '.join(FAULTS)} or an ERR-code")
        self.private_fault = kind

    def set_status(self, status: str) -> None:
        """Set what /v1/status reports (OPEN, PREOPEN, MAINTENANCE)."""
        self.exchange_status = status

    def set_klines(self, symbol: str, interval: str, candles) -> None:
        """Serve these candles (objects with open_time/open/high/low/close/volume) for klines of `interval`."""
        rows = [
            {
                "openTime": str(int(c.open_time.timestamp() * 1000)),
                "open": str(c.open),
                "high": str(c.high),
                "low": str(c.low),
                "close": str(c.close),
                "volume": str(c.volume),
            }
            for c in candles
        ]
        with self.lock:
            self.klines[(symbol, interval)] = sorted(rows, key=lambda r: int(r["openTime"]))

    def load_bundled_klines(self, symbols: tuple[str, ...] = ("BTC_JPY", "ETH_JPY")) -> None:
        """Serve the bundled real 15-minute candles (data/*.csv.gz, Binance USDT proxies) as 15min klines."""
        from signaldesk.candles import read_candle_csv

        for symbol in symbols:
            self.set_klines(symbol, "15min", read_candle_csv(DATA / BUNDLED[symbol]))

    def count(self, method: str, path: str) -> int:
        """Return how many requests reached `method path` (path like /v1/order)."""
        return sum(1 for m, p, _, _ in self.requests if m == method and p == path)

    def order(self, order_id: int) -> dict:
        """Return the wire form of one order (for assertions)."""
        with self.lock:
            return self._order_wire(self.orders[int(order_id)])

    # -- HTTP ------------------------------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler, method: str, body: str) -> None:
        """Route one request and write the answer (or a fault)."""
        url = urlparse(handler.path)
        private = url.path.startswith("/private/")
        path = url.path.removeprefix("/private").removeprefix("/public")
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        if self.on_request is not None:
            self.on_request(method, path)
        with self.lock:
            self.requests.append((method, path, query, body))
            faults = self.faults.get(path)
            fault = faults.pop(0) if faults else (self.private_fault if private else None)
        if fault and fault != "timeout":
            self._write_fault(handler, fault)
            return
        status, payload = self._answer(handler, method, path, query, body, private)
        if fault == "timeout":
            time.sleep(self.timeout_sleep)
        self._write(handler, status, json.dumps(payload).encode())

    def _answer(
        self, handler, method: str, path: str, query: dict, body: str, private: bool
    ) -> tuple[int, dict]:
        """Return (HTTP status, envelope) for one request."""
        try:
            with self.lock:
                if private:
                    self._check_auth(handler, method, path, body)
                route = (PRIVATE_ROUTES if private else PUBLIC_ROUTES).get((method, path))
                if route is None:
                    raise Refusal("ERR-5204", "Invalid API path.", 2, 404)
                params = query if method == "GET" else self._json(body)
                data = route(self, params)
        except Refusal as refusal:
            return refusal.http, {
                "status": refusal.status,
                "messages": [{"message_code": refusal.code, "message_string": refusal.text}],
                "responsetime": gmo_time(datetime.now(UTC)),
            }
        envelope = {"status": 0, "responsetime": gmo_time(datetime.now(UTC))}
        if data is not None:
            envelope["data"] = data
        return 200, envelope

    @staticmethod
    def _json(body: str) -> dict:
        """Parse a POST body."""
        try:
            value = json.loads(body or "{}")
        except ValueError:
            raise Refusal("ERR-5106", "Invalid request parameter.") from None
        if not isinstance(value, dict):
            raise Refusal("ERR-5106", "Invalid request parameter.")
        return value

    def _check_auth(self, handler, method: str, path: str, body: str) -> None:
        """Refuse a private request whose key, timestamp or signature is wrong (ERR-5011/5012/5007/5008/5009/5010)."""
        key, stamp, sign = (
            handler.headers.get(h, "") for h in ("API-KEY", "API-TIMESTAMP", "API-SIGN")
        )
        if not key:
            raise Refusal("ERR-5011", "API-KEY is empty.")
        if key != self.api_key:
            raise Refusal("ERR-5012", "The API authentication is invalid.")
        if not stamp.isdigit():
            raise Refusal("ERR-5007", "API-TIMESTAMP is invalid.")
        skew = int(stamp) - int(time.time() * 1000)
        if skew > self.max_clock_skew_ms:
            raise Refusal("ERR-5008", "API-TIMESTAMP is later than the server time.")
        if skew < -self.max_clock_skew_ms:
            raise Refusal("ERR-5009", "API-TIMESTAMP is earlier than the server time.")
        if not hmac.compare_digest(sign, expected_sign(self.api_secret, stamp, method, path, body)):
            raise Refusal("ERR-5010", "The signature of API-SIGN is invalid.")

    def _write_fault(self, handler, fault: str) -> None:
        """Answer with an injected fault."""
        if fault == "maintenance":
            self._write(
                handler, 200, json.dumps(fixture("error_ERR-5201_maintenance.json")).encode()
            )
        elif fault == "rate_limit":
            self._write(
                handler, 200, json.dumps(fixture("error_ERR-5003_rate_limit.json")).encode()
            )
        elif fault == "malformed":
            self._write(handler, 200, b"<html>502 Bad Gateway</html>")
        elif fault == "truncated":
            self._write(
                handler, 200, b'{"status": 0, "data": {"list": [{"orderId": 1, "price": "10'
            )
        elif fault == "http500":
            self._write(handler, 500, b"Internal Server Error")
        elif fault == "not_found":
            self._write(
                handler, 404, json.dumps(fixture("error_ERR-5207_not_found_http404.json")).encode()
            )
        else:
            envelope = {
                "status": 1,
                "messages": [{"message_code": fault, "message_string": f"injected {fault}"}],
            }
            self._write(handler, 200, json.dumps(envelope).encode())

    @staticmethod
    def _write(handler, status: int, raw: bytes) -> None:
        """Write an HTTP answer, ignoring a client that has already gone (timeouts)."""
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(raw)))
            handler.end_headers()
            handler.wfile.write(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass

    # -- public endpoints ------------------------------------------------------------------------------------

    def _status(self, params: dict) -> dict:
        if self.exchange_status == "MAINTENANCE":
            raise Refusal("ERR-5201", "MAINTENANCE. Please wait for a while", 5)
        return {"status": self.exchange_status}

    def _symbols(self, params: dict) -> list:
        return [dict(row) for row in SYMBOLS]

    def _book(self, symbol: str) -> dict:
        if symbol not in self.books:
            raise Refusal("ERR-5207", "Not found", 2, 404)
        return self.books[symbol]

    def _ticker(self, params: dict) -> list:
        symbols = [params["symbol"]] if params.get("symbol") else sorted(self.books)
        rows = []
        for symbol in symbols:
            book = self._book(symbol)
            last = self.last[symbol]
            rows.append(
                {
                    "ask": str(book["asks"][0][0]),
                    "bid": str(book["bids"][0][0]),
                    "high": str(last),
                    "last": str(last),
                    "low": str(last),
                    "symbol": symbol,
                    "timestamp": gmo_time(datetime.now(UTC)),
                    "volume": "0",
                }
            )
        return rows

    def _orderbooks(self, params: dict) -> dict:
        book = self._book(params.get("symbol", ""))
        return {
            "asks": [{"price": str(p), "size": str(s)} for p, s in book["asks"]],
            "bids": [{"price": str(p), "size": str(s)} for p, s in book["bids"]],
            "symbol": params["symbol"],
        }

    def _trades(self, params: dict) -> dict:
        rows = self.public_trades.get(params.get("symbol", ""), [])[: int(params.get("count", 100))]
        return {"pagination": {"currentPage": 1, "count": len(rows)}, "list": rows} if rows else {}

    def _klines(self, params: dict) -> list:
        symbol, interval, day = (
            params.get("symbol", ""),
            params.get("interval", ""),
            params.get("date", ""),
        )
        rows = self.klines.get((symbol, interval))
        if not rows or len(day) != 8 or not day.isdigit():
            raise Refusal("ERR-5207", "Not found", 2, 404)
        start = datetime.strptime(day, "%Y%m%d").replace(tzinfo=UTC) - timedelta(
            hours=3
        )  # 06:00 JST
        lo, hi = int(start.timestamp() * 1000), int((start + timedelta(days=1)).timestamp() * 1000)
        chosen = [r for r in rows if lo <= int(r["openTime"]) < hi]
        if not chosen:
            raise Refusal("ERR-5207", "Not found", 2, 404)
        return chosen

    # -- private: accounts -----------------------------------------------------------------------------------

    def _assets(self, params: dict) -> list:
        return [
            {
                "amount": str(v),
                "available": str(v),
                "conversionRate": str(self.last.get(k, D(1))),
                "symbol": k,
            }
            for k, v in self.balances.items()
        ]

    def _margin(self, params: dict) -> dict:
        unrealized = sum(
            (
                self._pnl(p, self.last.get(p["symbol"], p["price"]), p["size"])
                for p in self.positions.values()
            ),
            D(0),
        )
        used = sum((p["price"] * p["size"] / 2 for p in self.positions.values()), D(0))
        total = self.balances["JPY"] + unrealized
        return {
            "actualProfitLoss": str(total),
            "availableAmount": str(total - used),
            "margin": str(used),
            "marginCallStatus": "NORMAL",
            "marginRatio": "0",
            "profitLoss": str(unrealized),
            "transferableAmount": str(total - used),
        }

    def _trading_volume(self, params: dict) -> dict:
        return fixture("tradingVolume.json")["data"]

    # -- private: orders -------------------------------------------------------------------------------------

    def _rule(self, symbol: str) -> dict:
        if symbol not in self.rules:
            raise Refusal("ERR-5106", "Invalid request parameter. symbol")
        return self.rules[symbol]

    def _check_numbers(self, rule: dict, size: Decimal, price: Decimal | None) -> None:
        if size % rule["sizeStep"] or price is not None and price % rule["tickSize"]:
            raise Refusal("ERR-5114", "The number of decimal places is too large.")
        if not rule["minOrderSize"] <= size <= rule["maxOrderSize"]:
            raise Refusal("ERR-5126", "The order quantity is out of range.")

    def _new_order(self, params: dict) -> str:
        order = self._parse_order(params, "OPEN")
        symbol = order["symbol"]
        if symbol.endswith("_JPY"):
            needed = (order["price"] or self.last.get(symbol, D(0))) * order["size"] / 2
            if needed > self._margin_available():
                raise Refusal("ERR-201", "Insufficient funds.")
        elif order["side"] == "SELL" and self.balances.get(symbol, D(0)) < order["size"]:
            raise Refusal("ERR-208", "The quantity exceeds the available amount.")
        return str(self._place(order))

    def _parse_order(self, params: dict, settle: str) -> dict:
        try:
            symbol, side, etype = params["symbol"], params["side"], params["executionType"]
            size = D(params["size"]) if "size" in params else D(params["settlePosition"][0]["size"])
            price = D(params["price"]) if "price" in params else None
        except (KeyError, ArithmeticError, IndexError, TypeError):
            raise Refusal("ERR-5106", "Invalid request parameter.") from None
        rule = self._rule(symbol)
        tif = params.get("timeInForce") or ("FAS" if etype == "LIMIT" else "FAK")
        if tif == "SOK" and (etype != "LIMIT" or symbol not in SOK_SYMBOLS):
            raise Refusal("ERR-5111", "Invalid timeInForce.")
        if (etype == "MARKET") != (price is None) or side not in ("BUY", "SELL"):
            raise Refusal("ERR-5106", "Invalid request parameter. price")
        self._check_numbers(rule, size, price)
        return {
            "symbol": symbol,
            "side": side,
            "executionType": etype,
            "timeInForce": tif,
            "size": size,
            "price": price,
            "settleType": settle,
            "losscutPrice": D(params.get("losscutPrice", "0")),
            "positionId": None,
            "bulk": False,
        }

    def _place(self, fields: dict) -> int:
        """Store an order and run it against the book; return its id."""
        book = self._book(fields["symbol"])
        if fields["executionType"] == "STOP":
            best = book["asks"][0][0] if fields["side"] == "BUY" else book["bids"][0][0]
            if (best >= fields["price"]) if fields["side"] == "BUY" else (best <= fields["price"]):
                raise Refusal("ERR-5129", "The stop price would be executed immediately.")
        order_id = next(self._ids)
        order = {
            **fields,
            "orderId": order_id,
            "executed": D(0),
            "remaining": fields["size"],
            "status": "WAITING" if fields["executionType"] == "STOP" else "ORDERED",
            "cancelType": None,
            "timestamp": datetime.now(UTC),
        }
        self.orders[order_id] = order
        if order["executionType"] == "MARKET":
            self._take(order, None)
            if order["remaining"] > 0:
                self._finish(order, "EXPIRED", "EXPIRED_FAK")
        elif order["executionType"] == "LIMIT":
            self._arrive_limit(order)
        return order_id

    def _crosses(self, order: dict) -> bool:
        book = self.books[order["symbol"]]
        if order["side"] == "BUY":
            return bool(book["asks"]) and order["price"] >= book["asks"][0][0]
        return bool(book["bids"]) and order["price"] <= book["bids"][0][0]

    def _arrive_limit(self, order: dict) -> None:
        tif = order["timeInForce"]
        if tif == "SOK" and self._crosses(order):
            self._finish(order, "EXPIRED", "EXPIRED_SOK")
            return
        if tif == "FOK" and self._depth(order) < order["size"]:
            self._finish(order, "EXPIRED", "EXPIRED_FOK")
            return
        self._take(order, order["price"])
        if order["remaining"] > 0 and tif == "FAK":
            self._finish(order, "EXPIRED", "EXPIRED_FAK")

    def _levels(self, order: dict, limit: Decimal | None) -> list[list[Decimal]]:
        side = self.books[order["symbol"]]["asks" if order["side"] == "BUY" else "bids"]
        if limit is None:
            return side
        return [lv for lv in side if (lv[0] <= limit if order["side"] == "BUY" else lv[0] >= limit)]

    def _depth(self, order: dict) -> Decimal:
        return sum((lv[1] for lv in self._levels(order, order["price"])), D(0))

    def _take(self, order: dict, limit: Decimal | None) -> None:
        """Fill against book levels (as taker), consuming their size."""
        for level in self._levels(order, limit):
            if order["remaining"] <= 0:
                break
            take = min(level[1], order["remaining"])
            level[1] -= take
            self._fill(order, level[0], take, maker=False)
        for side in ("asks", "bids"):
            book = self.books[order["symbol"]]
            book[side] = [lv for lv in book[side] if lv[1] > 0] or book[side][-1:]

    def _trade_fill(self, order: dict, price: Decimal) -> tuple[Decimal | None, bool]:
        """Return (fill price, maker) for a resting order when a trade prints at `price`."""
        buy = order["side"] == "BUY"
        if order["executionType"] == "LIMIT" and (
            price <= order["price"] if buy else price >= order["price"]
        ):
            return order["price"], True
        if order["executionType"] == "STOP" and (
            price >= order["price"] if buy else price <= order["price"]
        ):
            return price, False
        return None, False

    def _fill(self, order: dict, price: Decimal, size: Decimal, maker: bool) -> None:
        """Record one execution and move balances / positions."""
        rule = self.rules[order["symbol"]]
        fee = price * size * (rule["makerFee"] if maker else rule["takerFee"])
        now = datetime.now(UTC)
        if order["settleType"] == "CLOSE":
            self._close_fill(order, price, size, fee, now)
        else:
            self._open_fill(order, price, size, fee, now)
        order["executed"] += size
        order["remaining"] -= size
        if order["remaining"] <= 0:
            self._finish(order, "EXECUTED", None)
        elif order["status"] == "WAITING":
            order["status"] = "ORDERED"

    def _open_fill(
        self, order: dict, price: Decimal, size: Decimal, fee: Decimal, now: datetime
    ) -> None:
        symbol, position_id = order["symbol"], None
        if symbol.endswith("_JPY"):
            position_id = next(self._pos_ids)
            self.positions[position_id] = {
                "positionId": position_id,
                "symbol": symbol,
                "side": order["side"],
                "size": size,
                "price": price,
                "losscutPrice": order["losscutPrice"],
                "timestamp": now,
            }
        else:
            sign = 1 if order["side"] == "BUY" else -1
            self.balances[symbol] = self.balances.get(symbol, D(0)) + sign * size
            self.balances["JPY"] -= sign * price * size
        self.balances["JPY"] -= fee
        self._record(order, position_id, price, size, D(0), fee, now)

    def _close_fill(
        self, order: dict, price: Decimal, size: Decimal, fee: Decimal, now: datetime
    ) -> None:
        left = size
        for position in self._close_targets(order):
            take = min(left, position["size"])
            pnl = self._pnl(position, price, take)
            position["size"] -= take
            self.balances["JPY"] += pnl - fee * take / size
            self._record(order, position["positionId"], price, take, pnl, fee * take / size, now)
            if position["size"] <= 0:
                del self.positions[position["positionId"]]
            left -= take
            if left <= 0:
                break

    def _close_targets(self, order: dict) -> list[dict]:
        return [
            p
            for _, p in sorted(self.positions.items())
            if p["symbol"] == order["symbol"]
            and p["side"] != order["side"]
            and (order["bulk"] or p["positionId"] == order["positionId"])
        ]

    @staticmethod
    def _pnl(position: dict, price: Decimal, size: Decimal) -> Decimal:
        move = (price - position["price"]) * size
        return move if position["side"] == "BUY" else -move

    def _record(self, order: dict, position_id, price, size, pnl, fee, now) -> None:
        self.executions.append(
            {
                "executionId": next(self._exec_ids),
                "orderId": order["orderId"],
                "positionId": position_id,
                "symbol": order["symbol"],
                "side": order["side"],
                "settleType": order["settleType"],
                "size": str(size),
                "price": str(price),
                "lossGain": str(pnl),
                "fee": str(fee),
                "timestamp": gmo_time(now),
            }
        )

    def _finish(self, order: dict, status: str, cancel_type: str | None) -> None:
        order["status"], order["cancelType"] = status, cancel_type

    def _margin_available(self) -> Decimal:
        return D(self._margin({})["availableAmount"])

    def _active(self, symbol: str | None = None) -> list[dict]:
        return [
            o
            for o in self.orders.values()
            if o["status"] in ACTIVE and (symbol is None or o["symbol"] == symbol)
        ]

    def _order_wire(self, order: dict) -> dict:
        wire = {
            "rootOrderId": order["orderId"],
            "orderId": order["orderId"],
            "symbol": order["symbol"],
            "side": order["side"],
            "orderType": "NORMAL",
            "executionType": order["executionType"],
            "settleType": order["settleType"],
            "size": str(order["size"]),
            "executedSize": str(order["executed"]),
            "price": str(order["price"] or 0),
            "losscutPrice": str(order["losscutPrice"]),
            "status": order["status"],
            "timeInForce": order["timeInForce"],
            "timestamp": gmo_time(order["timestamp"]),
        }
        if order["cancelType"]:
            wire["cancelType"] = order["cancelType"]
        return wire

    def _close_order(self, params: dict) -> str:
        order = self._parse_order(params, "CLOSE")
        try:
            position_id = int(params["settlePosition"][0]["positionId"])
        except (KeyError, IndexError, TypeError, ValueError):
            raise Refusal("ERR-5106", "Invalid request parameter. settlePosition") from None
        position = self.positions.get(position_id)
        if position is None or position["symbol"] != order["symbol"]:
            raise Refusal("ERR-254", "The position does not exist.")
        if position["side"] == order["side"]:
            raise Refusal("ERR-70", "The side of the close order is invalid.")
        if order["size"] > position["size"]:
            raise Refusal("ERR-189", "The close quantity exceeds the position.")
        return str(self._place({**order, "positionId": position_id}))

    def _close_bulk(self, params: dict) -> str:
        order = self._parse_order(params, "CLOSE")
        if not self._close_targets({**order, "bulk": True}):
            raise Refusal("ERR-422", "There are no positions to close.")
        return str(self._place({**order, "bulk": True}))

    def _cancel(self, order_id) -> None:
        order = self.orders.get(int(order_id)) if str(order_id).isdigit() else None
        if order is None:
            raise Refusal("ERR-5123", "The order does not exist.")
        if order["status"] not in ACTIVE:
            raise Refusal(
                "ERR-5122", "The request is invalid due to the status of the specified order."
            )
        self._finish(order, "CANCELED", "USER")

    def _cancel_order(self, params: dict) -> None:
        self._cancel(params.get("orderId"))

    def _cancel_orders(self, params: dict) -> dict:
        success, failed = [], []
        for order_id in params.get("orderIds", []):
            try:
                self._cancel(order_id)
                success.append(order_id)
            except Refusal as refusal:
                failed.append(
                    {
                        "message_code": refusal.code,
                        "message_string": refusal.text,
                        "orderId": order_id,
                    }
                )
        return {"failed": failed, "success": success}

    def _cancel_bulk(self, params: dict) -> list:
        symbols = params.get("symbols") or []
        chosen = [
            o
            for o in sorted(self._active(), key=lambda o: o["orderId"])
            if o["symbol"] in symbols
            and params.get("side") in (None, o["side"])
            and params.get("settleType") in (None, o["settleType"])
        ]
        for order in chosen[:10]:
            self._finish(order, "CANCELED", "USER")
        return [o["orderId"] for o in chosen[:10]]

    def _change_order(self, params: dict) -> None:
        order = self.orders.get(int(params.get("orderId", 0)))
        if order is None:
            raise Refusal("ERR-5123", "The order does not exist.")
        if order["status"] not in ("ORDERED", "WAITING") or order["executionType"] == "MARKET":
            raise Refusal(
                "ERR-5122", "The request is invalid due to the status of the specified order."
            )
        order["price"] = D(params["price"])
        if "losscutPrice" in params:
            order["losscutPrice"] = D(params["losscutPrice"])
        if order["executionType"] == "LIMIT":
            self._arrive_limit(order)

    def _change_losscut(self, params: dict) -> None:
        position = self.positions.get(int(params.get("positionId", 0)))
        if position is None:
            raise Refusal("ERR-254", "The position does not exist.")
        position["losscutPrice"] = D(params["losscutPrice"])

    # -- private: queries ------------------------------------------------------------------------------------

    @staticmethod
    def _page(rows: list, params: dict) -> dict:
        page, count = int(params.get("page", 1)), int(params.get("count", 100))
        chosen = rows[(page - 1) * count : page * count]
        return (
            {"pagination": {"currentPage": page, "count": count}, "list": chosen} if chosen else {}
        )

    def _orders(self, params: dict) -> dict:
        ids = [int(i) for i in params.get("orderId", "").split(",") if i.isdigit()]
        if not ids or len(ids) > 10:
            raise Refusal("ERR-5106", "Invalid request parameter. orderId")
        return {"list": [self._order_wire(self.orders[i]) for i in ids if i in self.orders]}

    def _active_orders(self, params: dict) -> dict:
        if not params.get("symbol"):
            raise Refusal("ERR-5106", "Invalid request parameter. symbol")
        rows = [
            self._order_wire(o)
            for o in sorted(self._active(params["symbol"]), key=lambda o: -o["orderId"])
        ]
        return self._page(rows, params)

    def _executions(self, params: dict) -> dict:
        if "orderId" in params and "executionId" in params:
            raise Refusal("ERR-5208", "orderId and executionId cannot both be specified.")
        if "orderId" in params:
            rows = [e for e in self.executions if str(e["orderId"]) == params["orderId"]]
        else:
            wanted = set(params.get("executionId", "").split(","))
            rows = [e for e in self.executions if str(e["executionId"]) in wanted]
        return {"list": rows} if rows else {}

    def _latest_executions(self, params: dict) -> dict:
        rows = [e for e in reversed(self.executions) if e["symbol"] == params.get("symbol")]
        return self._page(rows, params)

    def _open_positions(self, params: dict) -> dict:
        rows = []
        for position in sorted(self.positions.values(), key=lambda p: p["positionId"]):
            if position["symbol"] != params.get("symbol"):
                continue
            closing = sum(
                (
                    o["remaining"]
                    for o in self._active(position["symbol"])
                    if o["positionId"] == position["positionId"]
                ),
                D(0),
            )
            rows.append(
                {
                    "positionId": position["positionId"],
                    "symbol": position["symbol"],
                    "side": position["side"],
                    "size": str(position["size"]),
                    "orderdSize": str(closing),
                    "price": str(position["price"]),
                    "lossGain": str(
                        self._pnl(
                            position,
                            self.last.get(position["symbol"], position["price"]),
                            position["size"],
                        )
                    ),
                    "leverage": "2",
                    "losscutPrice": str(position["losscutPrice"]),
                    "timestamp": gmo_time(position["timestamp"]),
                }
            )
        return self._page(rows, params)

    def _position_summary(self, params: dict) -> dict:
        groups: dict[tuple[str, str], list[dict]] = {}
        for position in self.positions.values():
            if params.get("symbol") in (None, position["symbol"]):
                groups.setdefault((position["symbol"], position["side"]), []).append(position)
        rows = []
        for (symbol, side), items in sorted(groups.items()):
            size = sum((p["size"] for p in items), D(0))
            average = sum((p["price"] * p["size"] for p in items), D(0)) / size
            pnl = sum(
                (self._pnl(p, self.last.get(symbol, p["price"]), p["size"]) for p in items), D(0)
            )
            rows.append(
                {
                    "averagePositionRate": str(average),
                    "positionLossGain": str(pnl),
                    "side": side,
                    "sumOrderQuantity": "0",
                    "sumPositionQuantity": str(size),
                    "symbol": symbol,
                }
            )
        return {"list": rows}

    def _ws_auth(self, params: dict) -> str:
        return "fake-ws-token"


PUBLIC_ROUTES = {
    ("GET", "/v1/status"): FakeGmo._status,
    ("GET", "/v1/symbols"): FakeGmo._symbols,
    ("GET", "/v1/ticker"): FakeGmo._ticker,
    ("GET", "/v1/orderbooks"): FakeGmo._orderbooks,
    ("GET", "/v1/trades"): FakeGmo._trades,
    ("GET", "/v1/klines"): FakeGmo._klines,
}
PRIVATE_ROUTES = {
    ("GET", "/v1/account/assets"): FakeGmo._assets,
    ("GET", "/v1/account/margin"): FakeGmo._margin,
    ("GET", "/v1/account/tradingVolume"): FakeGmo._trading_volume,
    ("GET", "/v1/orders"): FakeGmo._orders,
    ("GET", "/v1/activeOrders"): FakeGmo._active_orders,
    ("GET", "/v1/executions"): FakeGmo._executions,
    ("GET", "/v1/latestExecutions"): FakeGmo._latest_executions,
    ("GET", "/v1/openPositions"): FakeGmo._open_positions,
    ("GET", "/v1/positionSummary"): FakeGmo._position_summary,
    ("POST", "/v1/order"): FakeGmo._new_order,
    ("POST", "/v1/closeOrder"): FakeGmo._close_order,
    ("POST", "/v1/closeBulkOrder"): FakeGmo._close_bulk,
    ("POST", "/v1/cancelOrder"): FakeGmo._cancel_order,
    ("POST", "/v1/cancelOrders"): FakeGmo._cancel_orders,
    ("POST", "/v1/cancelBulkOrder"): FakeGmo._cancel_bulk,
    ("POST", "/v1/changeOrder"): FakeGmo._change_order,
    ("POST", "/v1/changeLosscutPrice"): FakeGmo._change_losscut,
    ("POST", "/v1/ws-auth"): FakeGmo._ws_auth,
}
