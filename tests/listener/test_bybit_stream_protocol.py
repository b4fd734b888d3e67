"""The listener's pure protocol rules: refusals, ack matching, liveness deadlines, flush timing,
frame kinds."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from signaldesk.listener import (
    Liveness,
    Subscriptions,
    frame_kind,
    next_flush_delay,
    plan_after_rejection,
)
from tests.fakes.bybit_server import fixture

BTC, ETH, BAD = "allLiquidation.BTCUSDT", "allLiquidation.ETHUSDT", "allLiquidation.NOTASYMBOL"
REFUSAL = fixture("subscribe_response_failure")["ret_msg"]


def test_refusal_naming_a_topic_drops_it_and_resubscribes_the_rest():
    assert plan_after_rejection((BTC, BAD, ETH), REFUSAL) == ((BAD,), [(BTC, ETH)])


def test_refusal_of_a_lone_topic_drops_it_without_retry():
    assert plan_after_rejection((BAD,), REFUSAL) == ((BAD,), [])


def test_refusal_naming_no_topic_retries_each_topic_alone():
    assert plan_after_rejection((BTC, ETH), "error:handler not found") == ((), [(BTC,), (ETH,)])


def test_subscribe_request_carries_a_req_id_and_the_topics():
    assert json.loads(Subscriptions().request((BTC, ETH))) == {
        "req_id": "sub-1",
        "op": "subscribe",
        "args": [BTC, ETH],
    }


def test_ack_is_matched_by_its_echoed_req_id():
    subs = Subscriptions()
    subs.request((BTC,))
    subs.request((ETH,))
    assert subs.answer("sub-2") == (ETH,)


def test_ack_without_req_id_answers_the_oldest_request():
    subs = Subscriptions()
    subs.request((BTC,))
    subs.request((ETH,))
    assert subs.answer("") == (BTC,)


def test_liveness_is_dead_when_the_pong_is_late():
    alive = Liveness(10, 30, heard=100.0, next_ping=120.0, pong_due=110.0)
    assert alive.expired(110.0) == "no pong within 10 s"


def test_liveness_is_dead_after_silence():
    assert (
        Liveness(10, 30, heard=100.0, next_ping=200.0).expired(130.0) == "nothing received for 30 s"
    )


def test_liveness_is_alive_between_deadlines():
    assert Liveness(10, 30, heard=100.0, next_ping=120.0, pong_due=110.0).expired(109.9) is None


def test_liveness_wakes_at_the_earliest_deadline():
    assert Liveness(10, 30, heard=100.0, next_ping=120.0, pong_due=115.0).next_deadline() == 115.0


def test_flush_waits_for_the_next_minute_plus_grace():
    assert next_flush_delay(datetime(2026, 1, 1, 0, 0, 50, tzinfo=UTC), 60, 3) == 13


def test_flush_right_after_the_grace_waits_a_whole_period():
    assert next_flush_delay(datetime(2026, 1, 1, 0, 1, 3, tzinfo=UTC), 60, 3) == 60


def test_frames_are_told_apart_by_their_documented_shapes():
    kinds = [
        frame_kind(fixture(n))
        for n in (
            "pong",
            "subscribe_response",
            "subscribe_response_failure",
            "liquidation_push_batch",
            "liquidation_push_legacy",
            "ping",
        )
    ]
    assert kinds == ["pong", "subscribe", "subscribe", "push", "legacy", "other"]
