"""End to end with real execution: an approval becomes a resting entry on the paper exchange, /stop
cancels it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

from bot.jobs import JobTimes
from signaldesk.candles import read_candle_csv
from signaldesk.clock import to_db
from signaldesk.exchange.feed import CandleFeed
from signaldesk.exchange.paper import PaperExchange
from signaldesk.state import trading_state
from tests.bot.harness import ALICE, running_desk, seed_signal, signal_row, texts_to
from tests.conftest import DATA
from tests.fakes.telegram_server import callback_update, message_update

INDEX = 200  # a quiet moment of the bundled BTC candles; any index with 14 bars of history works
ONLY_DECISIONS = JobTimes(
    announce=0.1, sweep=3600, alerts=3600, health=3600, manage=3600, first=0.05
)


def paper_market():
    """Return the bundled BTC candles, a feed positioned after candle INDEX (2 bps spread), and its
    ATR."""
    candles = read_candle_csv(DATA / "btcusdt_binance_15m_2025-04_2025-06.csv.gz")
    feed = CandleFeed(
        {"BTC_JPY": candles},
        spread_bps=Decimal("2"),
        start=candles[INDEX].open_time + timedelta(minutes=15),
    )
    ranges = [c.high - c.low for c in candles[INDEX - 13 : INDEX + 1]]
    return candles[INDEX], feed, (sum(ranges, Decimal(0)) / 14).quantize(Decimal("0.01"))


def test_approve_places_a_resting_entry_and_stop_cancels_it(bot_settings, db, fake_telegram):
    candle, feed, atr = paper_market()
    exchange = PaperExchange(db, feed, starting_jpy=bot_settings.risk.paper_equity_jpy)
    plan = {
        "entry_price": str(candle.close),
        "stop_loss": str(candle.close - 2 * atr),  # the cycle's plan
        "take_profit_1": str(candle.close + 2 * atr),
        "take_profit_2": str(candle.close + 4 * atr),
    }
    signal_id = seed_signal(
        db,
        feed.now(),
        candle_time=to_db(candle.open_time),
        close_price=str(candle.close),
        atr=str(atr),
        expires_at=to_db(feed.now() + timedelta(minutes=15)),
        **plan,
    )

    async def scenario():
        async with running_desk(
            bot_settings,
            db,
            times=ONLY_DECISIONS,
            clock=feed.now,
            exchange=exchange,
        ):
            await fake_telegram.wait_for("sendMessage")
            await asyncio.sleep(0.2)  # the announcement's message id is stored
            message_id = signal_row(db, signal_id)["telegram_message_id"]
            fake_telegram.push_update(
                callback_update(f"approve:{signal_id}", ALICE, ALICE, message_id)
            )
            edit = (
                await fake_telegram.wait_for(
                    "editMessageText", where=lambda p: "the order follows" in p["text"]
                )
            )[0]
            await fake_telegram.wait_for(  # the announcement, then the outcome notice
                "sendMessage", n=2, where=lambda p: int(p["chat_id"]) == ALICE
            )
            resting = [o.order_id for o in exchange.active_orders("BTC_JPY")]
            fake_telegram.push_update(message_update("/positions", ALICE, ALICE))
            fake_telegram.push_update(message_update("/stop", ALICE, ALICE))
            await fake_telegram.wait_for(
                "sendMessage", n=5, where=lambda p: int(p["chat_id"]) == ALICE
            )
            return edit, resting

    edit, resting = asyncio.run(scenario())
    positions, halted, stop_reply = texts_to(fake_telegram, ALICE)[2:5]
    cancelled = db.conn.execute(
        "SELECT id, exchange_order_id FROM orders WHERE purpose = 'entry' AND status = 'CANCELED'"
    ).fetchall()
    assert signal_row(db, signal_id)["status"] == "EXECUTED" and "the order follows" in edit["text"]
    assert len(resting) == 1 and [r[1] for r in cancelled] == resting
    assert exchange.active_orders("BTC_JPY") == [] and trading_state(db).halted
    assert positions.startswith("<b>1 open</b>\n#1 BTC_JPY LONG (buy)")
    assert "(entry resting)" in positions
    assert halted == "⛔ Trading halted. Cancelling resting entry orders…"
    assert stop_reply.startswith(f"Cancelled orders: #{cancelled[0][0]}.")
