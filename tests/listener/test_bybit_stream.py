"""The listener against a local fake Bybit stream: subscribe, pings, reconnects, pushes, malformed
frames, spikes."""

from __future__ import annotations

import asyncio
import json
import logging
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from signaldesk.clock import to_ms, utc_now
from signaldesk.liquidations import LONG, SHORT, SpikeRule, gaps_between, recent_spike
from signaldesk.listener import StreamConfig, StreamRefused, StreamStatus, listen, topics_for
from signaldesk.outbox import unsent
from signaldesk.state import last_beat
from tests.fakes.bybit_server import FakeBybit, fixture, liquidation_push

BTC, ETH = "allLiquidation.BTCUSDT", "allLiquidation.ETHUSDT"
MINUTE = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)  # the batch fixture's minute
FAST = dict(
    symbol_map=(("BTCUSDT", "BTC_JPY"), ("ETHUSDT", "ETH_JPY")),
    rule=SpikeRule(Decimal("5"), 60, Decimal("100000")),
    ping_seconds=0.2,
    pong_timeout_seconds=0.5,
    silence_seconds=2,
    backoff_initial_seconds=0.05,
    backoff_max_seconds=0.2,
    flush_period_seconds=0.1,
    flush_grace_seconds=0,
)


@asynccontextmanager
async def listening(db, fake: FakeBybit, **changes):
    """Run the listener against the fake with fast intervals; stop it (and let it flush) on exit."""
    config = replace(StreamConfig(url=fake.url, **FAST), **changes)
    status, stop = StreamStatus(topics_for(config.symbol_map)), asyncio.Event()
    task = asyncio.create_task(listen(db, config, stop, status=status))
    try:
        yield status
    finally:
        stop.set()
        await task


def rows(db, sql: str) -> list:
    """Return all rows of a query."""
    return db.execute(sql).fetchall()


def run(scenario) -> None:
    """Run one async scenario with a time limit."""
    asyncio.run(asyncio.wait_for(scenario(), 20))


def test_subscribes_to_every_configured_topic_with_a_req_id(db):
    async def scenario():
        async with FakeBybit() as fake, listening(db, fake) as status:
            await fake.wait_until(lambda: status.live)
            assert fake.ops("subscribe") == [
                {"req_id": "sub-1", "op": "subscribe", "args": [BTC, ETH]}
            ]

    run(scenario)


def test_sends_json_pings_and_stays_connected_while_pongs_come(db):
    async def scenario():
        async with FakeBybit() as fake, listening(db, fake):
            await fake.wait_until(lambda: len(fake.ops("ping")) >= 3)
            assert fake.connections == 1

    run(scenario)


def test_goes_live_when_acks_come_back_without_req_id(db):
    async def scenario():
        async with FakeBybit(echo_req_id=False) as fake, listening(db, fake) as status:
            await fake.wait_until(lambda: status.live)

    run(scenario)


def test_beats_the_listener_heartbeat_once_subscribed(db):
    async def scenario():
        async with FakeBybit() as fake, listening(db, fake) as status:
            await fake.wait_until(lambda: status.live)

    run(scenario)
    assert last_beat(db, "listener") is not None


def test_dropped_connection_reconnects_and_resubscribes(db):
    async def scenario():
        async with FakeBybit() as fake, listening(db, fake) as status:
            await fake.wait_until(lambda: status.live)
            await fake.drop()
            await fake.wait_until(lambda: fake.connections == 2 and status.live)
            assert [r["args"] for r in fake.ops("subscribe")] == [[BTC, ETH], [BTC, ETH]]

    run(scenario)


def test_dropped_connection_is_recorded_as_a_closed_gap(db):
    async def scenario():
        async with FakeBybit() as fake, listening(db, fake) as status:
            await fake.wait_until(lambda: status.live)
            started = utc_now()
            await fake.drop()
            await fake.wait_until(lambda: fake.connections == 2 and status.live)
            [gap] = [
                g
                for g in gaps_between(db, started, utc_now())
                if g.reason != "listener was not running"
            ]
            assert gap.reason.startswith("connection lost") and gap.started_at <= gap.ended_at

    run(scenario)


def test_missing_pong_counts_as_a_dead_connection(db):
    async def scenario():
        async with FakeBybit(answer_pings=False) as fake, listening(db, fake):
            await fake.wait_until(lambda: fake.connections >= 2)

    run(scenario)
    assert "no pong within 0.5 s" in [g.reason for g in gaps_between(db, MINUTE, utc_now())]


def test_silent_server_counts_as_a_dead_connection(db):
    async def scenario():
        async with (
            FakeBybit(answer_pings=False) as fake,
            listening(db, fake, ping_seconds=5, silence_seconds=0.3),
        ):
            await fake.wait_until(lambda: fake.connections >= 2)

    run(scenario)
    assert "nothing received for 0.3 s" in [g.reason for g in gaps_between(db, MINUTE, utc_now())]


def test_batch_push_is_written_per_minute_and_side(db):
    async def scenario():
        async with FakeBybit() as fake, listening(db, fake) as status:
            await fake.wait_until(lambda: status.live)
            await fake.push(fixture("liquidation_push_batch"))
            await fake.wait_until(lambda: len(rows(db, "SELECT * FROM liquidation_minutes")) == 2)

    run(scenario)
    assert rows(
        db, "SELECT symbol, side, count, notional_usd FROM liquidation_minutes ORDER BY side"
    ) == [("BTC_JPY", LONG, 2, "147226.46880"), ("BTC_JPY", SHORT, 1, "344.60000")]


def test_malformed_frames_are_skipped_logged_and_not_fatal(db, caplog):
    bad_side = fixture("liquidation_push_batch")
    bad_side["data"][0]["S"] = "Long"
    frames = ["{not json", json.dumps([1, 2]), json.dumps(bad_side)]

    async def scenario():
        async with FakeBybit() as fake, listening(db, fake) as status:
            await fake.wait_until(lambda: status.live)
            for frame in frames:
                await fake.push(frame)
            await fake.push(fixture("liquidation_push_batch"))
            await fake.wait_until(lambda: len(rows(db, "SELECT * FROM liquidation_minutes")) == 2)
            assert (status.malformed, fake.connections) == (3, 1)

    with caplog.at_level(logging.WARNING, logger="signaldesk.listener"):
        run(scenario)
    assert sum("malformed frame skipped" in r.getMessage() for r in caplog.records) == 3


def test_spike_is_detected_and_read_back_by_the_cycle_filter(db):
    async def scenario():
        async with FakeBybit() as fake, listening(db, fake) as status:
            await fake.wait_until(lambda: status.live)
            await fake.push(fixture("liquidation_push_batch"))
            await fake.wait_until(
                lambda: recent_spike(db, "BTC_JPY", MINUTE + timedelta(minutes=5), 15) is not None
            )

    run(scenario)
    spike = recent_spike(db, "BTC_JPY", MINUTE + timedelta(minutes=5), 15)
    assert (spike.side, spike.count, spike.notional_usd) == (LONG, 2, Decimal("147226.46880"))


def test_small_liquidations_raise_no_spike(db):
    async def scenario():
        async with FakeBybit() as fake, listening(db, fake) as status:
            await fake.wait_until(lambda: status.live)
            await fake.push(
                liquidation_push("ETHUSDT", [("Sell", "2.5", "2950.10")], to_ms(MINUTE))
            )
            await fake.wait_until(lambda: len(rows(db, "SELECT * FROM liquidation_minutes")) == 1)

    run(scenario)
    assert recent_spike(db, "ETH_JPY", MINUTE + timedelta(minutes=5), 15) is None


def test_refused_topic_is_dropped_and_the_rest_resubscribed(db):
    async def scenario():
        async with FakeBybit(refuse=(ETH,)) as fake, listening(db, fake) as status:
            await fake.wait_until(lambda: status.live)
            assert [r["args"] for r in fake.ops("subscribe")] == [[BTC, ETH], [BTC]]
            assert status.topics == [BTC]

    run(scenario)


def test_refused_topic_is_told_to_a_person(db):
    async def scenario():
        async with FakeBybit(refuse=(ETH,)) as fake, listening(db, fake) as status:
            await fake.wait_until(lambda: status.live)

    run(scenario)
    [alert] = unsent(db)
    assert (alert.kind, ETH in alert.text) == ("listener_topic_refused", True)


def test_refused_topic_stays_dropped_after_a_reconnect(db):
    async def scenario():
        async with FakeBybit(refuse=(ETH,)) as fake, listening(db, fake) as status:
            await fake.wait_until(lambda: status.live)
            await fake.drop()
            await fake.wait_until(lambda: fake.connections == 2 and status.live)
            assert [r["args"] for r in fake.ops("subscribe")][-1] == [BTC]

    run(scenario)


def test_every_topic_refused_stops_the_listener(db):
    async def scenario():
        async with FakeBybit(refuse=(BTC, ETH)) as fake:
            config = StreamConfig(url=fake.url, **FAST)
            await listen(db, config, asyncio.Event())

    with pytest.raises(StreamRefused, match="every liquidation topic"):
        run(scenario)


def test_stop_writes_the_still_open_minute(db):
    now = utc_now()

    async def scenario():
        async with FakeBybit() as fake, listening(db, fake, flush_period_seconds=3600) as status:
            await fake.wait_until(lambda: status.live)
            await fake.push(liquidation_push("BTCUSDT", [("Buy", "0.010", "90000.00")], to_ms(now)))
            await fake.wait_until(lambda: status.liquidations == 1)

    run(scenario)
    assert rows(db, "SELECT side, count, notional_usd FROM liquidation_minutes") == [
        (LONG, 1, "900.00000")
    ]


def test_stop_opens_a_gap_that_the_next_start_closes(db):
    async def scenario():
        async with FakeBybit() as fake:
            for _ in range(2):
                async with listening(db, fake) as status:
                    await fake.wait_until(lambda: status.live)

    run(scenario)
    reasons = [(g.reason, g.ended_at is None) for g in gaps_between(db, MINUTE, utc_now())]
    assert reasons == [
        ("listener was not running", False),
        ("listener stopped", False),
        ("listener stopped", True),
    ]
