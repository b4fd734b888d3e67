"""The signal's owner: one type for the row, the schema's statuses, and compare-and-set transitions
only."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest

from signaldesk import signals
from signaldesk.clock import to_db, utc_now
from signaldesk.columns import decimal_text
from signaldesk.signals import Signal


def pending(now, **values) -> Signal:
    """Return a PENDING BTC_JPY signal open for 15 minutes."""
    base = dict(created_at=now, symbol="BTC_JPY", candle_time=now - timedelta(minutes=15),
                direction="LONG", model_version="v-test", status=signals.PENDING,
                entry_price=Decimal("10000000"), size=Decimal("0.0000001"),
                expires_at=now + timedelta(minutes=15))  # fmt: skip
    return Signal(**{**base, **values})


def test_the_schema_check_allows_exactly_the_modules_statuses(db):
    sql = db.execute("SELECT sql FROM sqlite_master WHERE name = 'signals'").fetchone()[0]
    check = re.search(r"status IN \(([^)]*)\)", sql).group(1)
    assert tuple(re.findall(r"'(\w+)'", check)) == signals.STATUSES


def test_the_dataclass_and_the_table_have_the_same_columns(db):
    assert [r[1] for r in db.execute("PRAGMA table_info(signals)")] == list(signals.COLUMNS)


def test_a_signal_survives_the_round_trip_with_decimals_in_fixed_point(db):
    now = utc_now().replace(microsecond=123000)
    signal_id = signals.insert(db, pending(now, features={"top": []}, reasons=[{"rule": "x"}]))
    raw = db.execute("SELECT size FROM signals WHERE id = ?", [signal_id]).fetchone()[0]
    loaded = signals.load(db, signal_id)
    assert raw == "0.0000001" and str(Decimal("0.0000001")) == "1E-7"
    assert loaded == pending(now, id=signal_id, features={"top": []}, reasons=[{"rule": "x"}])


def test_a_second_row_for_the_same_candle_is_not_written(db):
    now = utc_now()
    assert signals.insert(db, pending(now)) is not None
    assert signals.insert(db, pending(now, direction="SHORT")) is None
    assert signals.insert_all(db, [pending(now), pending(now, symbol="ETH_JPY")]) == 1


def test_rows_can_be_written_with_their_outcomes(db):
    now = utc_now().replace(microsecond=0)
    later = now + timedelta(hours=1)
    rows = [pending(now), pending(now, symbol="ETH_JPY")]
    assert signals.insert_all(db, rows, {1: (-0.25, 0, later)}) == 2
    stored = db.execute("SELECT outcome_return, outcome_up, resolved_at FROM signals ORDER BY id")
    assert stored.fetchall() == [
        (None, None, None),
        (-0.25, 0, to_db(later)),
    ]


def test_any_stored_finds_a_row_within_the_span_of_candles_of_its_symbol(db):
    now = utc_now()
    signals.insert(db, pending(now))
    before, after = now - timedelta(hours=1), now + timedelta(hours=1)
    assert signals.any_stored(db, [pending(before), pending(after)])  # spans the stored candle
    assert not signals.any_stored(db, [pending(after), pending(after, symbol="ETH_JPY")])
    assert not signals.any_stored(
        db, [pending(before, symbol="ETH_JPY"), pending(after, symbol="ETH_JPY")]
    )


@pytest.mark.parametrize(
    ("source", "target", "moves"),
    [
        (signals.PENDING, signals.APPROVED, True),
        (signals.PENDING, signals.EXECUTED, False),
        (signals.APPROVED, signals.EXECUTED, True),
        (signals.APPROVED, signals.REJECTED, False),
        (signals.REJECTED, signals.APPROVED, False),
        (signals.EXPIRED, signals.APPROVED, False),
        (signals.EXECUTED, signals.FAILED, False),
    ],
)
def test_a_status_moves_only_from_its_one_source(db, source, target, moves):
    signal_id = signals.insert(db, pending(utc_now(), status=source))
    assert signals.move(db, signal_id, target) is moves
    assert signals.load(db, signal_id).status == (target if moves else source)


def test_only_the_first_of_two_moves_wins(db):
    signal_id = signals.insert(db, pending(utc_now()))
    first = signals.move(db, signal_id, signals.APPROVED, approved_by="1")
    second = signals.move(db, signal_id, signals.REJECTED, approved_by="2")
    assert (first, second, signals.load(db, signal_id).approved_by) == (True, False, "1")


def test_no_signal_can_be_moved_to_a_status_that_is_not_a_target(db):
    signal_id = signals.insert(db, pending(utc_now()))
    for status in (signals.LOGGED, signals.FILTERED, signals.PENDING, "DONE"):
        with pytest.raises(signals.TransitionError):
            signals.move(db, signal_id, status)
    assert signals.load(db, signal_id).status == signals.PENDING


def test_a_decision_needs_an_open_window(db):
    now = utc_now()
    signal_id = signals.insert(db, pending(now, expires_at=now))
    assert signals.move(db, signal_id, signals.APPROVED, open_at=now) is False
    assert signals.move(db, signal_id, signals.EXPIRED) is True


def test_notes_are_appended_not_replaced(db):
    signal_id = signals.insert(db, pending(utc_now(), status=signals.APPROVED, decision_note="ok"))
    signals.move(db, signal_id, signals.EXECUTED, append_note="trade #3")
    assert signals.load(db, signal_id).decision_note == "ok | trade #3"


def test_the_plan_changes_only_while_the_signal_is_open(db):
    now = utc_now()
    signal_id = signals.insert(db, pending(now))
    assert signals.change_plan(db, signal_id, now, {"size": Decimal("0.001")})
    signals.move(db, signal_id, signals.REJECTED)
    assert not signals.change_plan(db, signal_id, now, {"size": Decimal("0.002")})
    assert signals.load(db, signal_id).size == Decimal("0.001")
    with pytest.raises(ValueError, match="not plan columns"):
        signals.change_plan(db, signal_id, now, {"status": "APPROVED"})


def test_decimal_text_never_uses_exponents():
    assert [decimal_text(Decimal(v)) for v in ("1E-7", "1E+3", "0.0010", "-2.5")] == [
        "0.0000001",
        "1000",
        "0.0010",
        "-2.5",
    ]
    assert decimal_text(None) is None


def test_a_decided_signal_owes_its_answer_until_the_trader_was_told_that_status(db):
    now = utc_now()
    told_early = signals.insert(db, pending(now))
    signals.move(db, told_early, signals.APPROVED, approved_by="1")
    assert signals.mark_told(db, told_early, signals.APPROVED)
    signals.move(db, told_early, signals.EXECUTED)  # moved on: the outcome is owed again
    waiting = signals.insert(db, pending(now, symbol="ETH_JPY"))
    assert [s.id for s in signals.untold(db)] == [told_early]
    assert signals.mark_told(db, told_early, signals.APPROVED) is False  # not its status any more
    assert signals.mark_told(db, told_early, signals.EXECUTED)
    assert signals.untold(db) == [] and not signals.load(db, waiting).owes_answer


def test_approved_signals_without_a_trade_are_found(db):
    now = utc_now()
    lone = signals.insert(db, pending(now, status=signals.APPROVED))
    with_trade = signals.insert(db, pending(now, symbol="ETH_JPY", status=signals.APPROVED))
    with db.conn:
        db.conn.execute(
            "INSERT INTO trades (signal_id, symbol, direction, status, mode, size, created_at, "
            "updated_at) VALUES (?, 'ETH_JPY', 'LONG', 'cancelled', 'paper', '1', ?, ?)",
            [with_trade, "2026-01-01T00:00:00.000000Z", "2026-01-01T00:00:00.000000Z"],
        )
    assert [s.id for s in signals.approved_without_trade(db)] == [lone]
    assert [s for s, _ in signals.approved_with_cancelled_trade(db)] == [with_trade]


def test_a_claim_without_a_stored_message_is_given_back(db):
    now = utc_now()
    lost = signals.insert(db, pending(now))
    posted = signals.insert(db, pending(now, symbol="ETH_JPY"))
    for signal_id in (lost, posted):
        signals.claim_announcement(db, signal_id, now)
    signals.record_announcement(db, posted, 1, 2)
    assert signals.release_unposted_claims(db) == [lost]
    assert [s.id for s in signals.unannounced(db, now)] == [lost]


def test_a_signal_held_outside_the_active_hours_is_expired_and_listed_for_the_morning(db):
    now = utc_now()
    held_id = signals.insert(db, pending(now))
    other = signals.insert(db, pending(now, symbol="ETH_JPY"))
    assert signals.hold(db, held_id, now, "held: outside the active hours 08:00-23:00 JST")
    assert not signals.hold(db, held_id, now, "again")  # compare-and-set: once only
    row = signals.load(db, held_id)
    assert (row.status, row.approved_by, row.told_status) == (signals.EXPIRED, "held", "EXPIRED")
    assert [s.id for s in signals.held(db, now - timedelta(hours=1), now + timedelta(hours=1))] == [
        held_id
    ]
    assert signals.held(db, now + timedelta(seconds=1), now + timedelta(hours=1)) == []
    assert signals.load(db, other).status == signals.PENDING


def test_every_column_not_converted_is_a_plain_sqlite_value_by_its_type():
    """The INSERT writes columns outside CONVERTED_COLUMNS as they are: a new Decimal, time or JSON
    column must be added there (this fails until it is)."""
    import typing

    plain = {str, int, float, type(None)}
    hints = typing.get_type_hints(Signal)
    for name in signals.COLUMNS:
        if name in signals.CONVERTED_COLUMNS:
            continue
        kinds = set(typing.get_args(hints[name])) or {hints[name]}
        assert kinds <= plain, f"{name}: {hints[name]} is not written as it is"


def test_a_stored_row_reads_back_with_every_converted_column_equal(db):
    now = utc_now().replace(microsecond=0)  # the database keeps milliseconds
    sent = pending(now).with_changes(
        features={"values": {"z_1": 0.1}, "top": [{"feature": "z_1", "value": 0.1}]},
        reasons=[{"rule": "data", "ok": True, "detail": "candles complete"}],
        atr=Decimal("0.00000010"),
    )
    back = signals.load(db, signals.insert(db, sent))
    assert back.with_changes(id=None) == sent
