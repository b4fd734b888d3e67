"""Approvals on a real SQLite file: compare-and-set decisions, one announcement, expiry,
modification rules."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest

from signaldesk.approvals import (
    ModificationError,
    check_modification,
    decide,
    expire_stale_signals,
    modify,
    parse_modification,
)
from signaldesk.audit import events
from signaldesk.clock import to_db, utc_now
from signaldesk.signals import claim_announcement, release_announcement
from signaldesk.signals import load as load_signal
from tests.bot.harness import seed_signal


def test_only_the_first_decision_changes_the_signal(db):
    now = utc_now()
    signal_id = seed_signal(db, now)
    first = decide(db, signal_id, "APPROVED", "111", now)
    second = decide(db, signal_id, "REJECTED", "333", now)
    assert (first.changed, second.changed, second.signal.status, second.signal.approved_by) == (
        True,
        False,
        "APPROVED",
        "111",
    )


def test_refused_decisions_are_audited_too(db):
    now = utc_now()
    signal_id = seed_signal(db, now)
    decide(db, signal_id, "APPROVED", "111", now)
    decide(db, signal_id, "APPROVED", "111", now)
    assert [e["event"] for e in events(db)][:2] == ["approved_refused", "approved"]


def test_a_decision_after_expiry_time_changes_nothing(db):
    now = utc_now()
    signal_id = seed_signal(
        db, now - timedelta(minutes=16), expires_at=to_db(now - timedelta(minutes=1))
    )
    decision = decide(db, signal_id, "APPROVED", "111", now)
    assert (decision.changed, decision.signal.status) == (False, "PENDING")


def test_an_announcement_is_claimed_once_and_a_released_claim_can_be_retaken(db):
    now = utc_now()
    signal_id = seed_signal(db, now)
    claims = [claim_announcement(db, signal_id, now), claim_announcement(db, signal_id, now)]
    release_announcement(db, signal_id)
    assert claims + [claim_announcement(db, signal_id, now)] == [True, False, True]


def test_the_sweeper_expires_only_stale_pending_signals(db):
    now = utc_now()
    stale = seed_signal(db, now, expires_at=to_db(now - timedelta(seconds=1)))
    fresh = seed_signal(db, now, candle_time=to_db(now))
    expired = expire_stale_signals(db, now)
    assert ([s.id for s in expired], load_signal(db, fresh).status) == ([stale], "PENDING")
    assert (expired[0].status, expired[0].approved_by) == ("EXPIRED", "timeout")


def test_parse_modification_maps_keys_to_columns():
    assert parse_modification("size=0.002 TP1=10,100,000") == {
        "size": D("0.002"),
        "take_profit_1": D("10100000"),
    }


@pytest.mark.parametrize(
    "text, words",
    [
        ("", "nothing to change"),
        ("size", "is not key=value"),
        ("leverage=10", "is not key=value"),
        ("size=1 size=2", "size is given twice"),
        ("stop=NaN", "is not a finite number"),
    ],
)
def test_parse_modification_refuses_malformed_input(text, words):
    with pytest.raises(ModificationError, match=words):
        parse_modification(text)


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"size": D("-0.001")}, "size -0.001 must be between 0"),
        ({"stop_loss": D("10000000")}, "stop 10000000 must be below entry"),
        ({"take_profit_2": D("9990000")}, "tp2 9990000 must be above entry"),
        ({"take_profit_1": D("10300000")}, "tp1 10300000 must not be beyond tp2"),
        ({"entry_price": D("0")}, "entry_price 0 must be above 0"),
    ],
)
def test_check_modification_enforces_the_risk_rules(db, changes, words):
    signal = load_signal(db, seed_signal(db, utc_now()))
    with pytest.raises(ModificationError, match=words):
        check_modification(signal, changes)


def test_a_short_needs_its_stop_above_and_targets_below(db):
    signal = load_signal(
        db,
        seed_signal(
            db,
            utc_now(),
            direction="SHORT",
            stop_loss="10100000",
            take_profit_1="9900000",
            take_profit_2="9800000",
        ),
    )
    moved = check_modification(signal, {"entry_price": D("10050000")})
    assert moved.risk_jpy == D("500.00")  # 0.01 * (10100000 - 10050000)


def test_modify_writes_the_new_levels_and_audits_before_and_after(db):
    now = utc_now()
    signal_id = seed_signal(db, now)
    decision = modify(db, signal_id, {"size": D("0.004")}, "111", now)
    audit = events(db, "modified")[0]["detail"]
    assert (decision.changed, decision.signal.risk_jpy) == (True, D("400.00"))  # 0.004 * 100000
    assert (audit["before"]["size"], audit["after"]["size"]) == ("0.01", "0.004")


def test_modify_of_a_decided_signal_changes_nothing(db):
    now = utc_now()
    signal_id = seed_signal(db, now)
    decide(db, signal_id, "REJECTED", "111", now)
    assert modify(db, signal_id, {"size": D("0.004")}, "111", now).changed is False
