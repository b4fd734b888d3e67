"""Bot test harness: the fake Bot API server fixture, settings pointing at it, seeded rows and a running desk."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from telegram import Update

from bot.desk import Desk
from bot.jobs import JobTimes
from bot.main import build_application, start_desk
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
FAST = JobTimes(announce=0.1, sweep=0.1, alerts=0.1, health=0.2, manage=0.2, first=0.05)
IDLE = JobTimes(announce=3600, sweep=3600, alerts=3600, health=3600, manage=3600, first=3600)


@pytest.fixture
def fake_telegram():
    """Return a running fake Bot API server (closed after the test)."""
    fake = FakeTelegram(TOKEN, fixture("getMe.json")["result"])
    yield fake
    fake.close()


@pytest.fixture
def bot_settings(make_settings, fake_telegram, db_path):
    """Return settings for one allowed user (Alice) in her private chat, pointing at the fake server."""
    return make_settings(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_CHAT_ID=str(ALICE),
        TELEGRAM_USER_IDS=str(ALICE),
        TELEGRAM_API_URL=fake_telegram.url,
        SIGNALDESK_DB=str(db_path),
    )


def seed_signal(db, now: datetime, **values) -> int:
    """Insert a PENDING LONG BTC_JPY signal expiring in 15 minutes (override any column, as stored); return its id."""
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
                    {"feature": "rsi_14", "value": 61.5, "contribution": 0.42},
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


def texts_to(fake: FakeTelegram, chat_id: int) -> list[str]:
    """Return the texts the bot sent to one chat, in order."""
    return [p["text"] for p in fake.calls_to("sendMessage") if int(p["chat_id"]) == chat_id]


def paper_exchange(db, settings, start_index: int = MARKET_INDEX) -> PaperExchange:
    """Return a paper exchange over the bundled real BTC_JPY / ETH_JPY candles, its present after `start_index`."""
    candles = {s: read_candle_csv(DATA / name) for s, name in BUNDLED.items()}
    start = candles["BTC_JPY"][start_index].open_time + timedelta(minutes=15)
    feed = CandleFeed(candles, spread_bps=Decimal("2"), start=start)
    return PaperExchange(db, feed, starting_jpy=settings.risk.paper_equity_jpy)


def seed_market_signal(db, exchange: PaperExchange, **values) -> int:
    """Insert a PENDING BTC_JPY LONG planned the way the cycle plans it at the paper market's present candle."""
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
    return seed_signal(
        db,
        now,
        candle_time=to_db(candle.open_time),
        expires_at=to_db(now + timedelta(minutes=15)),
        **{**plan, **values},
    )


@asynccontextmanager
async def running_desk(
    settings,
    db,
    times: JobTimes = FAST,
    clock: Callable[[], datetime] = utc_now,
    exchange=None,
):
    """Run the real application against the fake server (manual lifecycle, post_init called by hand).

    The desk trades on a paper exchange over the bundled real candles unless another exchange is given.
    """
    exchange = exchange or paper_exchange(db, settings)
    desk = Desk(settings=settings, db=db, exchange=exchange, clock=clock)
    app = build_application(settings, desk, times)
    async with app:
        await start_desk(app)
        await app.start()
        await app.updater.start_polling(
            poll_interval=0, timeout=timedelta(seconds=1), allowed_updates=Update.ALL_TYPES
        )
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()


def fixed_clock(moment: datetime) -> Callable[[], datetime]:
    """Return a clock that always says `moment`."""
    return lambda: moment
