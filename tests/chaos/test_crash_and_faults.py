"""Crash and fault harness, the representative set run by `./dev test`: the real `signaldesk bot`
process (live mode) over HTTP and WebSocket to the strict fake GMO and the local Telegram Bot API,
killed with SIGKILL at steps of a trade's life or given GMO faults at its steps; every position must
stay covered on the exchange, nothing may be duplicated, and every trade must settle consistently.
The full sweep (every crash point both ways, every fault class on every step): `.venv/bin/python -m
tests.chaos.sweep --full` (about 15 minutes).
"""

from __future__ import annotations

import html
import time

import pytest

from signaldesk.clock import to_db, utc_now
from tests.chaos.lives import SLOW, Trial, covered_by_stops, fake_entries, run_life, settle
from tests.chaos.world import World

REPRESENTATIVE = [
    Trial("crash:entry-done", crash="entry-done"),
    Trial("crash:stop-sent", crash="stop-sent"),
    Trial("crash:tp-cancel-done", crash="tp-cancel-done"),
    Trial("crash:tp-close-sent:SHORT", "SHORT", crash="tp-close-sent"),
    Trial("crash:exit-close-done", crash="exit-close-done"),
    Trial("fault:entry:reset_after", fault=("entry", "reset_after")),
    Trial("fault:entry:timeout", fault=("entry", "timeout")),
    Trial("fault:entry:expired_sok", fault=("entry", "expired_sok")),
    Trial("fault:fill:http503", fault=("fill", "http503")),
    Trial("fault:sync:malformed", fault=("sync", "malformed")),
    Trial("fault:tp:malformed_after", fault=("tp", "malformed_after")),
    Trial("fault:exit:reset_before", fault=("exit", "reset_before")),
]


def world_for(tmp_path, trial: Trial, **options) -> World:
    """Return the world of a trial (a fake answering slower than the bot's timeout for `timeout`
    faults)."""
    slow = trial.fault is not None and trial.fault[1] == "timeout"
    return World(tmp_path, timeout_sleep=SLOW if slow else 1.5, **options)


@pytest.mark.parametrize("trial", REPRESENTATIVE, ids=lambda t: t.name)
def test_every_position_stays_covered_and_every_trade_settles(tmp_path, trial):
    with world_for(tmp_path, trial) as world:
        outcome = run_life(world, trial)
    assert outcome.problems == [], outcome
    assert outcome.cover["longest_bare_s"] == 0  # the loss-cut guards from the first fill
    assert outcome.cover["longest_stopless_s"] < 10
    assert outcome.kills == (1 if trial.crash else 0)


def test_look_alike_trades_whose_answers_were_lost_keep_their_own_orders(tmp_path):
    risk = "max_trades_per_symbol = 2\nmax_position_fraction = 0.5"
    with World(tmp_path, risk=risk) as world:
        world.start_bot()
        world.fake.fail_next(
            "/v1/order", "reset_after", times=2
        )  # both entries created, answers lost
        for _ in range(2):
            world.approve(world.seed_signal("LONG"))
            time.sleep(0.5)
        world.until(lambda: len(world.rows("SELECT id FROM trades")) == 2, 30, "two trades")
        world.until(lambda: len(resting(world)) == 2, 30, "two resting entries")
        world.fake.fail_next("/v1/closeOrder", "reset_after", times=4)  # and every stop's answer
        for entry in resting(world):
            world.fake.trade_at("BTC_JPY", str(entry["price"]), size=str(entry["remaining"]))
        world.until(lambda: covered_by_stops(world), 40, "both positions covered")
        mine = own_orders(world)
        world.write("UPDATE trades SET time_stop_at = ?", [to_db(utc_now())])
        world.fake.nudge()
        world.until(lambda: closed(world, 2), 40, "both time stops")
        settle(world)
        world.stop_bot()
    assert len(mine) == 2 and all(len(positions) == 1 for positions in mine.values())
    assert len({p for positions in mine.values() for p in positions}) == 2  # each its own position
    assert world.rows("SELECT COUNT(*) FROM orders WHERE status IN ('PLACING', 'UNKNOWN')") == [
        (0,)
    ]


def test_a_desk_blind_to_the_exchange_halts_after_the_failures_and_says_why(tmp_path):
    with World(tmp_path) as world:
        world.start_bot()
        world.approve(world.seed_signal("LONG"))
        world.until(lambda: resting(world), 30, "a resting entry")
        (entry,) = resting(world)
        world.fake.trade_at("BTC_JPY", str(entry["price"]), size=str(entry["remaining"]))
        world.until(lambda: covered_by_stops(world), 30, "the stops")
        for path in ("/v1/orders", "/v1/openPositions", "/v1/account/margin", "/v1/orderbooks"):
            world.fake.fail_next(path, "http503", times=1000)
        started = time.monotonic()

        def halted() -> bool:
            world.fake.nudge()
            return world.rows("SELECT value FROM system_state WHERE key = 'trading'") == [
                ("HALTED",)
            ]

        world.until(halted, 90, "the halt")
        halted_after = time.monotonic() - started
        world.until(lambda: any("取引を停止しました" in t for t in world.texts()), 30, "the alert")
        world.stop_bot()
    texts = [html.unescape(t) for t in world.texts()]  # alerts go out as escaped HTML
    reason = world.rows("SELECT value FROM system_state WHERE key = 'halt_reason'")[0][0]
    assert reason.startswith("3 management steps in a row failed talking to the exchange (last: ")
    # the desk speaks Japanese (the default): both alerts are critical, rendered from their data
    last = reason.split("(last: ", 1)[1][:-1]
    assert any("<b>重大</b> 建玉の保護\n保有中の取引 #1 ロング（買い） BTC_JPY の保護を確認できません" in t
               for t in texts)  # fmt: skip
    assert any(
        f"取引所との通信に失敗した管理処理が 3 回続きました（最後: {last}）" in t for t in texts
    )
    assert covered_by_stops(world) and halted_after < 90


def resting(world: World) -> list[dict]:
    """Return the resting entry orders on the exchange."""
    return [o for o in fake_entries(world) if o["status"] in ("ORDERED", "WAITING")]


def closed(world: World, count: int) -> bool:
    """Return True when `count` trades are closed (nudging the desk meanwhile)."""
    world.fake.nudge()
    return world.rows("SELECT COUNT(*) FROM trades WHERE status = 'closed'") == [(count,)]


def own_orders(world: World) -> dict[int, set[int]]:
    """Return, per trade, the positions its entry (by its executions) and its closing orders act on,
    as the exchange knows them."""
    found: dict[int, set[int]] = {}
    for trade_id, exchange_id, purpose in world.rows(
        "SELECT trade_id, exchange_order_id, purpose FROM orders WHERE status != 'REJECTED' "
        "AND exchange_order_id IS NOT NULL"
    ):
        with world.fake.lock:
            order = world.fake.orders[exchange_id]
            acted_on = (
                {e["positionId"] for e in world.fake.executions if e["orderId"] == exchange_id}
                if purpose == "entry"
                else {order["positionId"]}
            )
        found.setdefault(trade_id, set()).update(acted_on)
    return found  # a trade whose entry and stops act on two positions holds another trade's order
