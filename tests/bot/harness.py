"""Bot test harness: the fake Bot API server fixture, settings pointing at it, seeded rows and a
running desk."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from bot.desk import Desk
from bot.jobs import JobTimes
from bot.main import build_application, serve
from signaldesk import signals
from signaldesk.candles import read_candle_csv
from signaldesk.clock import to_db, utc_now
from signaldesk.exchange.feed import CandleFeed
from signaldesk.exchange.paper import PaperExchange
from tests.conftest import DATA
from tests.fakes.telegram_server import FakeTelegram, fixture

TOKEN = "7000000001:TEST-PLACEHOLDER-TOKEN"
BUNDLED = {
    "BTC_JPY": "btcusdt_binance_15m_2025-04_2025-06.csv.gz",
    "ETH_JPY": "ethusdt_binance_15m_2025-04_2025-06.csv.gz",
}
MARKET_INDEX = 200  # a quiet moment of the bundled candles
ALICE, MALLORY = 111111111, 222222222
FAST = JobTimes(announce=0.1, sweep=0.1, alerts=0.1, health=0.2, manage=0.2, watch=0.2, first=0.05)
IDLE = JobTimes(
    announce=3600, sweep=3600, alerts=3600, health=3600, manage=3600, watch=3600, first=3600
)


@pytest.fixture
def fake_telegram():
    """Return a running fake Bot API server (closed after the test)."""
    fake = FakeTelegram(TOKEN, fixture("getMe.json")["result"])
    yield fake
    fake.close()


# The behaviour tests read English and offer signals at any hour; the desk's defaults (Japanese,
# active hours 08:00-23:00 JST, quiet hours at night) have their own tests
# (test_trader_telegram.py).
ENGLISH_ALL_DAY = '[telegram]\nlanguage = "en"\nactive_hours = "00:00-24:00"\nquiet_hours = ""\n'


@pytest.fixture
def bot_settings(make_settings, fake_telegram, db_path, tmp_path):
    """Return settings for one allowed user (Alice) in her private chat, pointing at the fake
    server (English, signals at any hour)."""
    config = tmp_path / "bot-config.toml"
    config.write_text(ENGLISH_ALL_DAY, encoding="utf-8")
    return alice_settings(make_settings, fake_telegram, db_path, config)


def alice_settings(make_settings, fake_telegram, db_path, config):
    """Return settings for Alice alone in her private chat on the fake Telegram, with `config`."""
    return make_settings(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_CHAT_ID=str(ALICE),
        TELEGRAM_USER_IDS=str(ALICE),
        TELEGRAM_API_URL=fake_telegram.url,
        SIGNALDESK_DB=str(db_path),
        SIGNALDESK_CONFIG=str(config),
    )


def seed_signal(db, now: datetime, **values) -> int:
    """Insert a PENDING LONG BTC_JPY signal expiring in 15 minutes (override any column, as stored);
    return its id."""
    row = {
        "created_at": to_db(now),
        "symbol": "BTC_JPY",
        "candle_time": to_db(now - timedelta(minutes=15)),
        "direction": "LONG",
        "confidence": 0.81,
        "prob_long": 0.81,
        "prob_short": 0.05,
        "confidence_rank": 0.95,
        "features": json.dumps(
            {
                "top": [
                    {"feature": "rsi_14", "value": 0.615, "contribution": 0.42},
                    {"feature": "atr_ratio", "value": 0.0041, "contribution": -0.3},
                    {"feature": "volume_z", "value": 1.2, "contribution": 0.1},
                ]
            }
        ),
        "model_version": "v-test",
        "status": "PENDING",
        "reasons": json.dumps(["passed all rules"]),
        "close_price": "10000000",
        "atr": "50000",
        "entry_price": "10000000",
        "stop_loss": "9900000",
        "take_profit_1": "10100000",
        "take_profit_2": "10200000",
        "size": "0.01",
        "risk_jpy": "1000.00",
        "expires_at": to_db(now + timedelta(minutes=15)),
    }
    row.update(values)
    if "told_status" not in values and row["status"] in signals.DECIDED_STATUSES:
        row["told_status"] = row[
            "status"
        ]  # seeded history was told long ago; pass told_status=None if not
    return signals.insert(db, signals.from_row({c: row.get(c) for c in signals.COLUMNS}))


def seed_trade(
    db,
    exit_time: datetime,
    pnl: str,
    pnl_pct: str | None = None,
    status: str = "closed",
    fees: str = "0",
    symbol: str = "BTC_JPY",
) -> int:
    """Insert one trade (closed at exit_time with P/L `pnl`, or open); return its id."""
    row = {
        "symbol": symbol,
        "direction": "LONG",
        "status": status,
        "mode": "paper",
        "size": "0.01",
        "entry_price": "10000000",
        "stop_loss": "9900000",
        "take_profit_1": "10100000",
        "take_profit_2": "10200000",
        "entry_time": to_db(exit_time - timedelta(hours=1)),
        "exit_time": to_db(exit_time) if status == "closed" else None,
        "pnl_jpy": pnl if status == "closed" else None,
        "pnl_pct": pnl_pct,
        "fees_jpy": fees,
        "exit_reason": "tp1" if status == "closed" else None,
        "created_at": to_db(exit_time - timedelta(hours=1)),
        "updated_at": to_db(exit_time),
    }
    with db.conn:
        cursor = db.conn.execute(
            f"INSERT INTO trades ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
            list(row.values()),
        )
    return cursor.lastrowid


def signal_row(db, signal_id: int) -> dict:
    """Return one signal row as a dict."""
    cursor = db.conn.execute("SELECT * FROM signals WHERE id = ?", [signal_id])
    return dict(zip([c[0] for c in cursor.description], cursor.fetchone(), strict=True))


ANNOUNCEMENT_COLUMNS = ("announced_at", "telegram_chat_id", "telegram_message_id")


def state_of(db, announced: bool = True) -> dict:
    """Return what a person's input could change: signals, trades, orders, fills and system state
    (heartbeats left out; the announcement columns too unless `announced`)."""
    from signaldesk import signals as signal_rows

    columns = [c for c in signal_rows.COLUMNS if announced or c not in ANNOUNCEMENT_COLUMNS]
    state = {
        "signals": db.execute(f"SELECT {', '.join(columns)} FROM signals ORDER BY id").fetchall()
    }
    for table in ("trades", "orders", "fills"):
        state[table] = db.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()
    state["system_state"] = db.execute(
        "SELECT key, value FROM system_state WHERE key NOT LIKE 'heartbeat:%' ORDER BY key"
    ).fetchall()
    return state


def texts_to(fake: FakeTelegram, chat_id: int) -> list[str]:
    """Return the texts the bot sent to one chat, in order."""
    return [p["text"] for p in fake.calls_to("sendMessage") if int(p["chat_id"]) == chat_id]


def paper_exchange(db, settings, start_index: int = MARKET_INDEX) -> PaperExchange:
    """Return a paper exchange over the bundled real BTC_JPY / ETH_JPY candles, its present after
    `start_index`."""
    candles = {s: read_candle_csv(DATA / name) for s, name in BUNDLED.items()}
    start = candles["BTC_JPY"][start_index].open_time + timedelta(minutes=15)
    feed = CandleFeed(candles, spread_bps=Decimal("2"), start=start)
    return PaperExchange(db, feed, starting_jpy=settings.risk.paper_equity_jpy)


def seed_market_signal(db, exchange: PaperExchange, **values) -> int:
    """Insert a PENDING BTC_JPY LONG planned the way the cycle plans it at the paper market's
    present candle."""
    candles = read_candle_csv(DATA / BUNDLED["BTC_JPY"])
    index = next(
        i
        for i, c in enumerate(candles)
        if c.open_time + timedelta(minutes=15) == exchange.feed.now()
    )
    candle = candles[index]
    ranges = [c.high - c.low for c in candles[index - 13 : index + 1]]
    atr = (sum(ranges, Decimal(0)) / 14).quantize(Decimal("0.01"))
    plan = {
        "close_price": candle.close,
        "atr": atr,
        "entry_price": candle.close,
        "stop_loss": candle.close - 2 * atr,
        "take_profit_1": candle.close + 2 * atr,
        "take_profit_2": candle.close + 4 * atr,
        "size": Decimal("0.001"),
    }
    plan = {k: str(v) for k, v in plan.items()}
    now = exchange.feed.now()
    timing = {
        "candle_time": to_db(candle.open_time),
        "expires_at": to_db(now + timedelta(minutes=15)),
    }
    return seed_signal(db, now, **{**timing, **plan, **values})


@asynccontextmanager
async def running_desk(
    settings,
    db,
    times: JobTimes = FAST,
    clock: Callable[[], datetime] = utc_now,
    exchange=None,
):
    """Run the real application against the fake server as `signaldesk bot` runs it
    (bot.main.serve): start-up repair, the job queue, and polling that confirms an update only after
    processing it.

    The desk trades on a paper exchange over the bundled real candles unless another exchange is
    given.
    """
    exchange = exchange or paper_exchange(db, settings)
    desk = Desk(settings=settings, db=db, exchange=exchange, clock=clock)
    app = build_application(settings, desk, times)
    stop = asyncio.Event()
    serving = asyncio.create_task(serve(app, stop))
    while not app.running and not serving.done():
        await asyncio.sleep(0.01)
    if serving.done():
        serving.result()  # start-up failed: raise its error
    try:
        yield app
    finally:
        stop.set()
        await serving


def fixed_clock(moment: datetime) -> Callable[[], datetime]:
    """Return a clock that always says `moment`."""
    return lambda: moment


GMO_BOOKS = {"BTC_JPY": ("9999000", "10000000"), "ETH_JPY": ("399900", "400000")}


@pytest.fixture
def gmo():
    """Return a running fake GMO with books at 10,000,000 (BTC_JPY) and 400,000 (ETH_JPY)."""
    from tests.fakes.gmo_server import FakeGmo

    fake = FakeGmo()
    fake.start()
    for symbol, (bid, ask) in GMO_BOOKS.items():
        fake.set_book(symbol, bid=bid, ask=ask)
    yield fake
    fake.stop()


@pytest.fixture
def live_settings(make_settings, fake_telegram, gmo, db_path, tmp_path):
    """Return live-mode settings against the fake GMO, retrying an unseen exchange every 0.2 s."""
    config = tmp_path / "config.toml"
    config.write_text(
        "[bot]\nexchange_retry_seconds = 0.2\nexchange_retry_max_seconds = 1.0\n" + ENGLISH_ALL_DAY,
        encoding="utf-8",
    )
    return make_settings(**live_env(gmo, fake_telegram.url, db_path, config))


def live_env(gmo, telegram_url: str, db_path, config) -> dict[str, str]:
    """Return the environment of a live desk against the fakes (Alice in her private chat)."""
    return {
        "SIGNALDESK_MODE": "live",
        "SIGNALDESK_CONFIG": str(config),
        "SIGNALDESK_DB": str(db_path),
        **gmo.env(),
        "GMO_WS_PRIVATE_URL": gmo.ws_private_url,  # the fake's private stream, never GMO's
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_CHAT_ID": str(ALICE),
        "TELEGRAM_USER_IDS": str(ALICE),
        "TELEGRAM_API_URL": telegram_url,
    }


@pytest.fixture
def gmo_exchange(live_settings):
    """Return the live GMO client pointed at the fake (no pauses between read retries)."""
    from signaldesk.exchange.factory import build_gmo, build_http

    http = build_http()
    yield build_gmo(live_settings, http, sleep=lambda seconds: None)
    http.close()
