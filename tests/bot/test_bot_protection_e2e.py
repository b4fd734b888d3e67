"""Protection first at start-up: the real bot, on a paper desk, runs its first management step as
soon as it has started (not at the first interval), so a position found at start has its stop on the
exchange at once."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

from signaldesk.exchange.model import OrderRequest
from tests.bot.harness import IDLE, paper_exchange, running_desk


def test_a_position_found_at_start_up_is_protected_at_once(bot_settings, db, fake_telegram):
    exchange = paper_exchange(db, bot_settings)
    exchange.place_order(OrderRequest("BTC_JPY", "BUY", "MARKET", Decimal("0.01")))  # by hand

    async def scenario():
        async with running_desk(
            bot_settings, db, times=IDLE, clock=exchange.feed.now, exchange=exchange
        ):
            started = time.monotonic()
            while time.monotonic() - started < 5:
                stops = [o for o in exchange.active_orders("BTC_JPY") if o.execution_type == "STOP"]
                if stops:
                    return time.monotonic() - started, stops
                await asyncio.sleep(0.05)
            return None, []

    waited, stops = asyncio.run(scenario())
    assert stops and sum(o.size for o in stops) == Decimal(
        "0.01"
    )  # every job's interval is an hour
    assert waited < 5
    row = db.execute("SELECT origin, status FROM trades").fetchone()
    assert row == ("adopted", "open")
