"""A fake GMO Coin REST server on 127.0.0.1 (stdlib only) as strict as GMO: signed private API, an
order book, post-only, stops, loss-cuts, asynchronous cancels, closable-size and decimals refusals,
faults and a private WebSocket.

    with FakeGmo() as fake:
        settings urls -> fake.public_url, fake.private_url, fake.ws_private_url  (keys: fake.api_key
        / api_secret) fake.set_book("BTC_JPY", bid="9999000", ask="10000000")
        fake.trade_at("BTC_JPY", "9990000", size="0.005")     # fills resting orders priced through
        it, fires
                                                                # stops, then loss-cuts of positions
        fake.fail_next("/v1/order", "reset_after")              # see FAULTS, or "ERR-xxxx"
        fake.on("/v1/closeOrder", "answered", callback)         # run callback(method, path, body)
        at a moment fake.cover.report()                                     # per position: windows
        without stop / any cover

Where GMO refuses, the fake refuses: a close beyond the closable size net of resting closes
(ERR-200), a spot sell beyond the balance net of resting sells (ERR-208), too many decimals
(ERR-5114), missing or malformed parameters, JSON numbers for prices and sizes included (ERR-5106),
a stop that would fire at once (ERR-5129), a second cancel or a change of an order that is
CANCELLING or MODIFYING (ERR-5122), a loss-cut price on a spot or MARKET order (ERR-5118). Cancels
are asynchronous: CANCELLING for `cancel_delay` seconds, then CANCELED; a changed order is MODIFYING
for `modify_delay` seconds. A position's `losscutPrice` (from its opening order or POST
/v1/changeLosscutPrice) settles it at market when a trade prints through it, with GMO's 0.5 %
loss-cut fee.

Matching: a trade print at P fills resting BUY limits priced >= P and SELL limits <= P (our orders
are first in the queue), at their own price as maker, up to `size` in total; a BUY stop triggers at
P >= stop (SELL: P <= stop) and fills at P as taker. An order crossing the book takes the book's
levels (a partial take leaves a FAS remainder resting); a crossing SOK expires with EXPIRED_SOK,
like GMO. Every private request's signature is checked as GMO does (timestamp + method + /v1 path +
POST body).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import socket
import struct
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from tests.fakes.gmo_cover import CoverLog
from tests.fakes.gmo_stream import PrivateStream, Tokens

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "gmo"
DATA = Path(__file__).resolve().parent.parent.parent / "data"
D = Decimal
ACTIVE = ("WAITING", "ORDERED", "MODIFYING", "CANCELLING")
LIVE = ("WAITING", "ORDERED", "MODIFYING")  # can still fill and protect
LOSSCUT_FEE = D("0.005")  # 0.5 % of the position's value (spec §7.7, fee page)
# Wire rows of /v1/symbols: BTC from the docs example (fixture symbols.json), BTC_JPY/ETH_JPY from
# the spec's live 2026 table, ETH spot by inference (spot fees of the 2026 fee page).
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
# Faults answered before the request is processed (nothing happens on the exchange) ...
BEFORE = (
    "maintenance",
    "rate_limit",
    "http429",
    "http500",
    "http503",
    "malformed",
    "truncated",
    "not_found",
    "reset_before",
)
# ... and after it was processed (an order was created; the answer is lost, late or unreadable).
AFTER = ("timeout", "reset_after", "malformed_after", "http502_after")
FAULTS = (*BEFORE, *AFTER, "expired_sok")
TIF = {"LIMIT": ("FAS", "FAK", "FOK", "SOK"), "MARKET": ("FAK",), "STOP": ("FAK",)}


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


def decimals(text: str) -> int:
    """Return how many decimals a number's text has."""
    return len(text.split(".", 1)[1]) if "." in text else 0


def number(params: dict, key: str, step: Decimal | None = None, required: bool = True):
    """Return a price/size field as Decimal: it must be a string (ERR-5106), a positive number
    (ERR-5106) with no more decimals than the step allows and on the step (ERR-5114)."""
    if key not in params:
        if required:
            raise Refusal("ERR-5106", f"Invalid request parameter. {key}")
        return None
    raw = params[key]
    if not isinstance(raw, str):
        raise Refusal("ERR-5106", f"Invalid request parameter. {key}")
    try:
        value = D(raw)
    except InvalidOperation:
        raise Refusal("ERR-5106", f"Invalid request parameter. {key}") from None
    if not value.is_finite() or value <= 0 or "e" in raw.lower():
        raise Refusal("ERR-5106", f"Invalid request parameter. {key}")
    if step is not None and (decimals(raw) > max(-step.as_tuple().exponent, 0) or value % step):
        raise Refusal("ERR-5114", "The number of decimal places is too large.")
    return value


def order_id_param(params: dict, key: str = "orderId") -> int:
    """Return an order/position id: a JSON number (ERR-5106 otherwise)."""
    value = params.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise Refusal("ERR-5106", f"Invalid request parameter. {key}")
    return value


class FakeGmo:
    """GMO Coin public + private REST and the private WebSocket, with in-memory orders, executions,
    positions and balances."""

    def __init__(
        self,
        *,
        api_key: str = "test-api-key",
        api_secret: str = "test-api-secret",
        jpy: str = "10000000",
        coins: dict[str, str] | None = None,
        timeout_sleep: float = 1.5,
        max_clock_skew_ms: int = 30_000,
        cancel_delay: float = 0.15,
        modify_delay: float = 0.05,
    ):
        self.api_key, self.api_secret = api_key, api_secret
        self.timeout_sleep, self.max_clock_skew_ms = timeout_sleep, max_clock_skew_ms
        self.cancel_delay, self.modify_delay = cancel_delay, modify_delay
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
        self.hooks: dict[tuple[str, str], list[Callable]] = {}
        self.requests: list[tuple[str, str, dict, str]] = []
        self.tokens = Tokens()
        self.cover = CoverLog()
        self.stream: PrivateStream | None = None
        self._ids = itertools.count(700001)
        self._exec_ids = itertools.count(900001)
        self._pos_ids = itertools.count(300001)
        self.httpd: ThreadingHTTPServer | None = None
        self._running = threading.Event()
        self.private_fault: str | None = None  # when set, every private request gets this fault
        self.on_request = None  # optional callable(method, path), called as each request arrives

    # -- lifecycle
    # -------------------------------------------------------------------------------------------

    def __enter__(self) -> FakeGmo:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        """Serve REST on a free loopback port, the private WebSocket on another, and watch the
        cover."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                fake._handle(self, "GET", "")

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                fake._handle(self, self.command, self.rfile.read(length).decode("utf-8", "replace"))

            do_PUT = do_DELETE = do_POST

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        self.stream = PrivateStream(self.tokens)
        self._running.set()
        threading.Thread(target=self._watch, daemon=True).start()

    def stop(self) -> None:
        """Stop serving."""
        self._running.clear()
        if self.stream:
            self.stream.close()
            self.stream = None
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    def _watch(self) -> None:
        """Finish asynchronous cancels and changes on time and record every position's cover, 20
        times a second."""
        while self._running.is_set():
            with self.lock:
                self._settle_async()
            time.sleep(0.05)

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

    @property
    def ws_private_url(self) -> str:
        """Return the private WebSocket base (like wss://api.coin.z.com/ws/private/v1); clients add
        /{token}."""
        return self.stream.url

    def env(self) -> dict[str, str]:
        """Return the settings' environment that points a desk at this fake (keys and REST bases)."""
        return {
            "GMO_API_KEY": self.api_key,
            "GMO_API_SECRET": self.api_secret,
            "GMO_PUBLIC_URL": self.public_url,
            "GMO_PRIVATE_URL": self.private_url,
        }

    def client(self, http, **options):
        """Return the real GMO client on this fake over `http` (no retry sleeps unless `options`
        say otherwise)."""
        from signaldesk.exchange.gmo import GmoExchange

        keys = {"api_key": self.api_key, "api_secret": self.api_secret}
        return GmoExchange(
            http,
            public_url=self.public_url,
            private_url=self.private_url,
            **{"sleep": lambda s: None, **keys, **options},
        )

    # -- test controls
    # ---------------------------------------------------------------------------------------

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
        """Set the order book (best bid/ask, or full levels); resting orders do not fill from a book
        change."""
        with self.lock:
            self.books[symbol] = {
                "bids": [[D(p), D(s)] for p, s in (bids or [(bid, bid_size)])],
                "asks": [[D(p), D(s)] for p, s in (asks or [(ask, ask_size)])],
            }
            self.last.setdefault(symbol, (D(bid) + D(ask)) / 2)

    def trade_at(
        self, symbol: str, price: str, size: str | None = None, side: str = "SELL"
    ) -> list[int]:
        """Print a trade at `price`: fill resting limits priced through/at it, fire stops, then
        settle positions whose loss-cut it reaches; return the order ids hit."""
        with self.lock:
            self._settle_async()
            price_d, left = D(price), (D(size) if size is not None else None)
            self.last[symbol] = price_d
            now = datetime.now(UTC)
            self.public_trades.setdefault(symbol, []).insert(
                0,
                {"price": price, "side": side, "size": size or "0.01", "timestamp": gmo_time(now)},
            )
            hit = []
            for order in sorted(self._live(symbol), key=lambda o: o["orderId"]):
                if left is not None and left <= 0:
                    break
                fill_price, maker = self._trade_fill(order, price_d)
                if fill_price is None or order["remaining"] <= 0:
                    continue
                take = order["remaining"] if left is None else min(order["remaining"], left)
                take = self._fill(order, fill_price, take, maker)
                left = None if left is None else left - take
                hit.append(order["orderId"])
            hit += self._losscuts(symbol, price_d)
            self._observe()
            return hit

    def fail_next(self, path: str, kind: str, times: int = 1) -> None:
        """Answer the next `times` requests to `path` (e.g. "/v1/order") with a fault (see FAULTS or
        "ERR-xxxx")."""
        if kind not in FAULTS and not kind.startswith("ERR-"):
            raise ValueError(f"fault {kind!r}: use one of {', '.join(FAULTS)} or an ERR-code")
        with self.lock:
            self.faults.setdefault(path, []).extend([kind] * times)

    def on(self, path: str, moment: str, callback: Callable, times: int = 1) -> None:
        """Call callback(method, path, body) at a moment of the next `times` requests to `path`:
        `received` (nothing done yet) or `answered` (done, the answer not yet written)."""
        if moment not in ("received", "answered"):
            raise ValueError("moment: received or answered")
        with self.lock:
            self.hooks.setdefault((path, moment), []).extend([callback] * times)

    def nudge(self) -> None:
        """Push a positionEvents update (UPR) for every open position, as GMO does when one
        changes."""
        with self.lock:
            for position in self.positions.values():
                self._position_event(position, "UPR")

    def set_private_fault(self, kind: str | None) -> None:
        """Answer every private request with a fault (e.g. "maintenance") until called with None."""
        if kind is not None and kind not in FAULTS and not kind.startswith("ERR-"):
            raise ValueError(f"fault {kind!r}: use one of {', '.join(FAULTS)} or an ERR-code")
        self.private_fault = kind

    def set_status(self, status: str) -> None:
        """Set what /v1/status reports (OPEN, PREOPEN, MAINTENANCE)."""
        self.exchange_status = status

    def set_klines(self, symbol: str, interval: str, candles) -> None:
        """Serve these candles (objects with open_time/open/high/low/close/volume) for klines of
        `interval`."""
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
        """Serve the bundled real 15-minute candles (data/*.csv.gz, Binance USDT proxies) as 15min
        klines."""
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

    def open_orders(self, symbol: str | None = None) -> list[dict]:
        """Return the wire form of every active order (for assertions)."""
        with self.lock:
            self._settle_async()
            return [
                self._order_wire(o)
                for o in sorted(self._active(symbol), key=lambda o: o["orderId"])
            ]

    # -- HTTP ------------------------------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler, method: str, body: str) -> None:
        """Route one request and write the answer (or a fault), running hooks at their moments."""
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
        self._run_hooks(path, "received", method, body)
        if fault in BEFORE or (fault or "").startswith("ERR-"):
            self._write_fault(handler, fault)
            return
        status, payload = self._answer(handler, method, path, query, body, private, fault)
        self._run_hooks(path, "answered", method, body)
        if fault == "timeout":
            time.sleep(self.timeout_sleep)
        if fault in ("reset_after", "malformed_after", "http502_after"):
            self._write_fault(handler, fault)
            return
        self._write(handler, status, json.dumps(payload).encode())

    def _run_hooks(self, path: str, moment: str, method: str, body: str) -> None:
        """Run (and forget) the next hook registered for this path and moment."""
        with self.lock:
            waiting = self.hooks.get((path, moment))
            hook = waiting.pop(0) if waiting else None
        if hook is not None:
            hook(method, path, body)

    def _answer(
        self, handler, method: str, path: str, query: dict, body: str, private: bool, fault
    ) -> tuple[int, dict]:
        """Return (HTTP status, envelope) for one request."""
        try:
            with self.lock:
                self._settle_async()
                if private:
                    self._check_auth(handler, method, path, body)
                route = (PRIVATE_ROUTES if private else PUBLIC_ROUTES).get((method, path))
                if route is None:
                    raise Refusal("ERR-5204", "Invalid API path.", 2, 404)
                params = query if method == "GET" else self._json(body)
                if fault == "expired_sok":
                    params = {**params, "_expire_sok": True}
                data = route(self, params)
                self._observe()
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
        """Parse a POST/PUT/DELETE body (a JSON object)."""
        try:
            value = json.loads(body or "{}")
        except ValueError:
            raise Refusal("ERR-5106", "Invalid request parameter.") from None
        if not isinstance(value, dict):
            raise Refusal("ERR-5106", "Invalid request parameter.")
        return value

    def _check_auth(self, handler, method: str, path: str, body: str) -> None:
        """Refuse a private request whose key, timestamp or signature is wrong
        (ERR-5011/5012/5007/5008/5009/5010)."""
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
        """Answer with an injected fault (or cut the connection)."""
        if fault in ("reset_before", "reset_after"):
            self._reset(handler)
        elif fault == "maintenance":
            self._write(
                handler, 200, json.dumps(fixture("error_ERR-5201_maintenance.json")).encode()
            )
        elif fault == "rate_limit":
            self._write(
                handler, 200, json.dumps(fixture("error_ERR-5003_rate_limit.json")).encode()
            )
        elif fault == "http429":
            self._write(handler, 429, b"Too Many Requests")
        elif fault in ("malformed", "malformed_after"):
            self._write(handler, 200, b"<html>502 Bad Gateway</html>")
        elif fault == "truncated":
            self._write(
                handler, 200, b'{"status": 0, "data": {"list": [{"orderId": 1, "price": "10'
            )
        elif fault in ("http500", "http503", "http502_after"):
            self._write(handler, {"http500": 500, "http503": 503}.get(fault, 502), b"Server Error")
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
    def _reset(handler) -> None:
        """Cut the connection with a TCP reset, answering nothing."""
        sock = handler.connection
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        handler.close_connection = True
        sock.close()

    @staticmethod
    def _write(handler, status: int, raw: bytes) -> None:
        """Write an HTTP answer, ignoring a client that has already gone (timeouts)."""
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(raw)))
            handler.end_headers()
            handler.wfile.write(raw)
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass

    # -- public endpoints
    # ------------------------------------------------------------------------------------

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

    # -- private: accounts
    # -----------------------------------------------------------------------------------

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

    # -- private: orders
    # -------------------------------------------------------------------------------------

    def _rule(self, symbol) -> dict:
        if not isinstance(symbol, str) or symbol not in self.rules:
            raise Refusal("ERR-5106", "Invalid request parameter. symbol")
        return self.rules[symbol]

    def _parse_order(self, params: dict, settle: str) -> dict:
        """Check an order's fields as GMO does; return the order's fields."""
        rule = self._rule(params.get("symbol"))
        symbol, side, etype = params["symbol"], params.get("side"), params.get("executionType")
        if side not in ("BUY", "SELL"):
            raise Refusal("ERR-5106", "Invalid request parameter. side")
        if etype not in TIF:
            raise Refusal("ERR-5106", "Invalid request parameter. executionType")
        tif = params.get("timeInForce", "FAS" if etype == "LIMIT" else "FAK")
        if tif not in ("FAS", "FAK", "FOK", "SOK"):
            raise Refusal("ERR-5106", "Invalid request parameter. timeInForce")
        if tif not in TIF[etype] or (tif == "SOK" and symbol not in SOK_SYMBOLS):
            raise Refusal("ERR-5111", "Invalid timeInForce.")
        if settle == "CLOSE":
            size = number(self._settle_position(params), "size", rule["sizeStep"])
        else:
            size = number(params, "size", rule["sizeStep"])
        price = number(params, "price", rule["tickSize"], required=etype != "MARKET")
        if etype == "MARKET" and "price" in params:
            raise Refusal("ERR-5106", "Invalid request parameter. price")
        losscut = number(params, "losscutPrice", rule["tickSize"], required=False)
        if losscut is not None and (
            not symbol.endswith("_JPY") or etype == "MARKET" or settle == "CLOSE"
        ):
            raise Refusal("ERR-5118", "losscutPrice cannot be specified.")
        if not rule["minOrderSize"] <= size <= rule["maxOrderSize"]:
            raise Refusal("ERR-5126", "The order quantity is out of range.")
        return {
            "symbol": symbol,
            "side": side,
            "executionType": etype,
            "timeInForce": tif,
            "size": size,
            "price": price,
            "settleType": settle,
            "losscutPrice": losscut or D(0),
            "positionId": None,
            "bulk": False,
            "orderType": "NORMAL",
            "expireSok": bool(params.get("_expire_sok")),
        }

    @staticmethod
    def _settle_position(params: dict) -> dict:
        """Return the one settlePosition element of a closeOrder (ERR-5106 unless exactly one, well
        formed)."""
        items = params.get("settlePosition")
        if not isinstance(items, list) or len(items) != 1 or not isinstance(items[0], dict):
            raise Refusal("ERR-5106", "Invalid request parameter. settlePosition")
        order_id_param(items[0], "positionId")
        return items[0]

    def _new_order(self, params: dict) -> str:
        order = self._parse_order(params, "OPEN")
        symbol = order["symbol"]
        if symbol.endswith("_JPY"):
            needed = (order["price"] or self.last.get(symbol, D(0))) * order["size"] / 2
            if needed > self._margin_available():
                raise Refusal("ERR-201", "Insufficient funds.")
        elif order["side"] == "SELL" and self._sellable(symbol) < order["size"]:
            raise Refusal("ERR-208", "The quantity exceeds the available amount.")
        return str(self._place(order))

    def _sellable(self, coin: str) -> Decimal:
        """Return the coins free for a new spot sell: the balance net of resting sells."""
        resting = sum((o["remaining"] for o in self._active(coin) if o["side"] == "SELL"), D(0))
        return self.balances.get(coin, D(0)) - resting

    def _closable(self, position: dict) -> Decimal:
        """Return a position's size not used by resting close orders (CANCELLING ones still
        count)."""
        used = sum(
            (
                o["remaining"]
                for o in self._active(position["symbol"])
                if o["positionId"] == position["positionId"]
            ),
            D(0),
        )
        return position["size"] - used

    def _place(self, fields: dict) -> int:
        """Store an order and run it against the book; return its id."""
        book = self._book(fields["symbol"])
        if fields["executionType"] == "STOP" and self._stop_fires(fields, book):
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
            "until": None,
            "before": None,
        }
        self.orders[order_id] = order
        self._order_event(order, "NOR")
        if order["executionType"] == "MARKET":
            self._take(order, None)
            if order["remaining"] > 0:
                self._finish(order, "EXPIRED", "EXPIRED_FAK")
        elif order["executionType"] == "LIMIT":
            self._arrive_limit(order)
        return order_id

    @staticmethod
    def _stop_fires(order: dict, book: dict) -> bool:
        """Return True when a stop at its price would trigger at once against the book."""
        if order["side"] == "BUY":
            return book["asks"][0][0] >= order["price"]
        return book["bids"][0][0] <= order["price"]

    def _crosses(self, order: dict) -> bool:
        book = self.books[order["symbol"]]
        if order["side"] == "BUY":
            return bool(book["asks"]) and order["price"] >= book["asks"][0][0]
        return bool(book["bids"]) and order["price"] <= book["bids"][0][0]

    def _arrive_limit(self, order: dict) -> None:
        tif = order["timeInForce"]
        if tif == "SOK" and (self._crosses(order) or order.get("expireSok")):
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
            if order["remaining"] <= 0 or order["status"] not in ACTIVE:
                break
            take = self._fill(order, level[0], min(level[1], order["remaining"]), maker=False)
            level[1] -= take
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

    def _fill(self, order: dict, price: Decimal, size: Decimal, maker: bool) -> Decimal:
        """Record one execution and move balances / positions; return the size done."""
        rule = self.rules[order["symbol"]]
        fee = price * size * (rule["makerFee"] if maker else rule["takerFee"])
        if order["orderType"] == "LOSSCUT":
            fee = price * size * LOSSCUT_FEE
        now = datetime.now(UTC)
        if order["settleType"] == "CLOSE":
            size = self._close_fill(order, price, size, fee, now)
        else:
            self._open_fill(order, price, size, fee, now)
        order["executed"] += size
        order["remaining"] -= size
        if order["remaining"] <= 0:
            self._finish(order, "EXECUTED", None)
        elif order["status"] == "WAITING":
            order["status"] = "ORDERED"
        return size

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
                "opened_mono": time.monotonic(),
            }
        else:
            sign = 1 if order["side"] == "BUY" else -1
            self.balances[symbol] = self.balances.get(symbol, D(0)) + sign * size
            self.balances["JPY"] -= sign * price * size
        self.balances["JPY"] -= fee
        self._record(order, position_id, price, size, D(0), fee, now)
        if position_id is not None:
            self._position_event(self.positions[position_id], "OPR")

    def _close_fill(
        self, order: dict, price: Decimal, size: Decimal, fee: Decimal, now: datetime
    ) -> Decimal:
        """Close target positions; return the size done (less when the positions are smaller)."""
        left = size
        for position in self._close_targets(order):
            take = min(left, position["size"])
            pnl = self._pnl(position, price, take)
            position["size"] -= take
            self.balances["JPY"] += pnl - fee * take / size
            self._record(order, position["positionId"], price, take, pnl, fee * take / size, now)
            if position["size"] <= 0:
                del self.positions[position["positionId"]]
                self._position_event(position, "CPR")
                self._end_closes_of(position["positionId"], order["orderId"])
            else:
                self._position_event(position, "UPR")
            left -= take
            if left <= 0:
                break
        return size - left

    def _end_closes_of(self, position_id: int, but: int) -> None:
        """Cancel the other close orders of a position that is gone (cancelType CLOSED_ORDER)."""
        for other in list(self._active()):
            if other["positionId"] == position_id and other["orderId"] != but:
                self._finish(other, "CANCELED", "CLOSED_ORDER")

    def _close_targets(self, order: dict) -> list[dict]:
        return [
            p
            for _, p in sorted(self.positions.items())
            if p["symbol"] == order["symbol"]
            and p["side"] != order["side"]
            and (order["bulk"] or p["positionId"] == order["positionId"])
        ]

    def _losscuts(self, symbol: str, price: Decimal) -> list[int]:
        """Settle every position of the symbol whose loss-cut price the trade reached, at market,
        with the fee."""
        hit = []
        for position in [p for p in list(self.positions.values()) if p["symbol"] == symbol]:
            cut = position["losscutPrice"]
            reached = price <= cut if position["side"] == "BUY" else price >= cut
            if cut <= 0 or not reached or position["positionId"] not in self.positions:
                continue
            order_id = next(self._ids)
            order = {
                "orderId": order_id,
                "symbol": symbol,
                "executionType": "MARKET",
                "timeInForce": "FAK",
                "side": "SELL" if position["side"] == "BUY" else "BUY",
                "settleType": "CLOSE",
                "size": position["size"],
                "price": None,
                "losscutPrice": D(0),
                "positionId": position["positionId"],
                "bulk": False,
                "orderType": "LOSSCUT",
                "executed": D(0),
                "remaining": position["size"],
                "status": "ORDERED",
                "cancelType": None,
                "timestamp": datetime.now(UTC),
                "until": None,
                "before": None,
            }
            self.orders[order_id] = order
            self._fill(order, price, position["size"], maker=False)
            hit.append(order_id)
        return hit

    @staticmethod
    def _pnl(position: dict, price: Decimal, size: Decimal) -> Decimal:
        move = (price - position["price"]) * size
        return move if position["side"] == "BUY" else -move

    def _record(self, order: dict, position_id, price, size, pnl, fee, now) -> None:
        execution = {
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
        self.executions.append(execution)
        self._execution_event(order, execution, size)

    def _finish(self, order: dict, status: str, cancel_type: str | None) -> None:
        order["status"], order["cancelType"] = status, cancel_type
        if status in ("CANCELED", "EXPIRED"):
            self._order_event(order, "COR" if status == "CANCELED" else "ROR")

    def _settle_async(self) -> None:
        """Finish the cancels and changes whose time has come."""
        now = time.monotonic()
        for order in self.orders.values():
            if order["status"] == "CANCELLING" and order["until"] <= now:
                self._finish(order, "CANCELED", "USER")
            elif order["status"] == "MODIFYING" and order["until"] <= now:
                order["status"] = order["before"]
        self._observe()

    def _observe(self) -> None:
        """Record every position's cover."""
        self.cover.observe(self.positions, self.orders)

    def _margin_available(self) -> Decimal:
        return D(self._margin({})["availableAmount"])

    def _active(self, symbol: str | None = None) -> list[dict]:
        return [
            o
            for o in self.orders.values()
            if o["status"] in ACTIVE and (symbol is None or o["symbol"] == symbol)
        ]

    def _live(self, symbol: str) -> list[dict]:
        """Return the orders that can still fill (not being cancelled)."""
        return [o for o in self._active(symbol) if o["status"] in LIVE]

    def _order_wire(self, order: dict) -> dict:
        wire = {
            "rootOrderId": order["orderId"],
            "orderId": order["orderId"],
            "symbol": order["symbol"],
            "side": order["side"],
            "orderType": order["orderType"],
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
        position_id = self._settle_position(params)["positionId"]
        position = self.positions.get(position_id)
        if position is None or position["symbol"] != order["symbol"]:
            raise Refusal("ERR-254", "The position does not exist.")
        if position["side"] == order["side"]:
            raise Refusal("ERR-70", "The side of the close order is invalid.")
        if order["size"] > position["size"]:
            raise Refusal("ERR-189", "The close quantity exceeds the position.")
        if order["size"] > self._closable(position):
            raise Refusal(
                "ERR-200", "There are existing active orders that exceed the closable amount."
            )
        return str(self._place({**order, "positionId": position_id}))

    def _close_bulk(self, params: dict) -> str:
        order = self._parse_order(params, "OPEN")
        order["settleType"] = "CLOSE"
        targets = self._close_targets({**order, "bulk": True})
        if not targets:
            raise Refusal("ERR-422", "There are no positions to close.")
        if order["size"] > sum((self._closable(p) for p in targets), D(0)):
            raise Refusal(
                "ERR-200", "There are existing active orders that exceed the closable amount."
            )
        return str(self._place({**order, "bulk": True}))

    def _cancel(self, order_id) -> None:
        order = self.orders.get(order_id)
        if order is None:
            raise Refusal("ERR-5123", "The order does not exist.")
        if order["status"] not in ("WAITING", "ORDERED"):
            raise Refusal(
                "ERR-5122", "The request is invalid due to the status of the specified order."
            )
        order["status"], order["until"] = "CANCELLING", time.monotonic() + self.cancel_delay
        if self.cancel_delay <= 0:
            self._finish(order, "CANCELED", "USER")

    def _cancel_order(self, params: dict) -> None:
        self._cancel(order_id_param(params))

    def _cancel_orders(self, params: dict) -> dict:
        ids = params.get("orderIds")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 10:
            raise Refusal("ERR-5106", "Invalid request parameter. orderIds")
        success, failed = [], []
        for order_id in ids:
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
        symbols = params.get("symbols")
        if not isinstance(symbols, list) or not symbols:
            raise Refusal("ERR-5106", "Invalid request parameter. symbols")
        chosen = [
            o
            for o in sorted(self._active(), key=lambda o: o["orderId"])
            if o["status"] in ("WAITING", "ORDERED")
            and o["symbol"] in symbols
            and params.get("side") in (None, o["side"])
            and params.get("settleType") in (None, o["settleType"])
        ]
        for order in chosen[:10]:
            self._cancel(order["orderId"])
        return [o["orderId"] for o in chosen[:10]]

    def _change_order(self, params: dict) -> None:
        order = self.orders.get(order_id_param(params))
        if order is None:
            raise Refusal("ERR-5123", "The order does not exist.")
        rule = self.rules[order["symbol"]]
        price = number(params, "price", rule["tickSize"])
        losscut = number(params, "losscutPrice", rule["tickSize"], required=False)
        if order["status"] not in ("ORDERED", "WAITING") or order["executionType"] == "MARKET":
            raise Refusal(
                "ERR-5122", "The request is invalid due to the status of the specified order."
            )
        if order["executionType"] == "STOP" and self._stop_fires(
            {**order, "price": price}, self._book(order["symbol"])
        ):
            raise Refusal("ERR-5129", "The stop price would be executed immediately.")
        order["price"] = price
        if losscut is not None:
            order["losscutPrice"] = losscut
        order["before"], order["status"] = order["status"], "MODIFYING"
        order["until"] = time.monotonic() + self.modify_delay
        if order["executionType"] == "LIMIT":
            self._arrive_limit(order)

    def _change_losscut(self, params: dict) -> None:
        position = self.positions.get(order_id_param(params, "positionId"))
        if position is None:
            raise Refusal("ERR-254", "The position does not exist.")
        position["losscutPrice"] = number(
            params, "losscutPrice", self.rules[position["symbol"]]["tickSize"]
        )
        self._position_event(position, "ULR")

    # -- private WebSocket: tokens and pushes
    # ----------------------------------------------------------------

    def _ws_auth(self, params: dict) -> str:
        return self.tokens.create()

    def _ws_extend(self, params: dict) -> None:
        if not self.tokens.extend(str(params.get("token", ""))):
            raise Refusal("ERR-5106", "Invalid request parameter.")

    def _ws_delete(self, params: dict) -> None:
        if not self.tokens.delete(str(params.get("token", ""))):
            raise Refusal("ERR-5106", "Invalid request parameter.")

    def _publish(self, channel: str, payload: dict) -> None:
        if self.stream is not None:
            self.stream.publish(channel, payload)

    def _order_event(self, order: dict, kind: str) -> None:
        self._publish(
            "orderEvents",
            {
                "orderId": order["orderId"],
                "symbol": order["symbol"],
                "settleType": order["settleType"],
                "executionType": order["executionType"],
                "side": order["side"],
                "orderStatus": order["status"],
                "cancelType": order["cancelType"] or "",
                "orderTimestamp": gmo_time(order["timestamp"]),
                "orderPrice": str(order["price"] or 0),
                "orderSize": str(order["size"]),
                "orderExecutedSize": str(order["executed"]),
                "losscutPrice": str(order["losscutPrice"]),
                "timeInForce": order["timeInForce"],
                "msgType": kind,
            },
        )

    def _execution_event(self, order: dict, execution: dict, size: Decimal) -> None:
        self._publish(
            "executionEvents",
            {
                "orderId": order["orderId"],
                "executionId": execution["executionId"],
                "symbol": order["symbol"],
                "settleType": order["settleType"],
                "executionType": order["executionType"],
                "side": order["side"],
                "executionPrice": execution["price"],
                "executionSize": execution["size"],
                "positionId": execution["positionId"],
                "orderTimestamp": gmo_time(order["timestamp"]),
                "executionTimestamp": execution["timestamp"],
                "lossGain": execution["lossGain"],
                "fee": execution["fee"],
                "orderPrice": str(order["price"] or 0),
                "orderSize": str(order["size"]),
                "orderExecutedSize": str(order["executed"] + size),
                "timeInForce": order["timeInForce"],
                "msgType": "ER",
            },
        )

    def _position_event(self, position: dict, kind: str) -> None:
        self._publish(
            "positionEvents",
            {
                "positionId": position["positionId"],
                "symbol": position["symbol"],
                "side": position["side"],
                "size": str(position["size"]),
                "orderdSize": "0",
                "price": str(position["price"]),
                "lossGain": "0",
                "leverage": "2",
                "losscutPrice": str(position["losscutPrice"]),
                "timestamp": gmo_time(datetime.now(UTC)),
                "msgType": kind,
            },
        )

    # -- private: queries
    # ------------------------------------------------------------------------------------

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
    ("PUT", "/v1/ws-auth"): FakeGmo._ws_extend,
    ("DELETE", "/v1/ws-auth"): FakeGmo._ws_delete,
}
