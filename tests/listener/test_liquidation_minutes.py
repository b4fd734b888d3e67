"""Minute aggregation, the spike rule, the minute/spike tables, the cycle's spike reader and
blind-time rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from signaldesk.liquidations import (
    LONG,
    SHORT,
    Liquidation,
    MinuteBook,
    MinuteTotal,
    SpikeRule,
    close_gaps,
    detect_spike,
    gaps_between,
    open_gap,
    parse_push,
    recent_spike,
    write_minutes,
)
from tests.fakes.bybit_server import fixture

MAP = {"BTCUSDT": "BTC_JPY", "ETHUSDT": "ETH_JPY"}
RULE = SpikeRule(Decimal("5"), 60, Decimal("100000"))
MINUTE = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)  # the batch fixture's minute


def total(
    notional: str, side: str = LONG, minute: datetime = MINUTE, count: int = 1
) -> MinuteTotal:
    """Return a labelled minute total of BTC_JPY."""
    return MinuteTotal(
        "BTC_JPY", "BTCUSDT", minute, side, count, Decimal(notional), Decimal(notional)
    )


def batch_book() -> MinuteBook:
    """Return a book holding the batch fixture (two longs and one short liquidated in 2026-01-01
    00:00)."""
    book = MinuteBook(MAP)
    book.add(parse_push(fixture("liquidation_push_batch")))
    return book


def test_book_sums_count_notional_and_largest_per_side():
    longs, shorts = batch_book().pop_all()
    assert (longs.side, longs.count, longs.notional_usd, longs.max_single_usd) == (
        LONG,
        2,
        Decimal("0.512") * Decimal("86012.40") + Decimal("1.200") * Decimal("85990.10"),
        Decimal("1.200") * Decimal("85990.10"),
    )
    assert (shorts.side, shorts.count, shorts.notional_usd) == (SHORT, 1, Decimal("344.60000"))


def test_book_maps_contracts_to_desk_symbols():
    assert {t.symbol for t in batch_book().pop_all()} == {"BTC_JPY"}


def test_book_ignores_contracts_it_was_not_configured_for():
    assert MinuteBook(MAP).add(parse_push(fixture("liquidation_push"))) == 0


def test_open_minute_stays_in_the_book_until_it_ends():
    book = batch_book()
    assert book.pop_closed(MINUTE + timedelta(seconds=59)) == []
    assert len(book.pop_closed(MINUTE + timedelta(seconds=60))) == 2


def test_minutes_are_split_by_liquidation_time():
    book = MinuteBook(MAP)
    t0 = int(MINUTE.timestamp() * 1000)
    book.add(
        [
            Liquidation("BTCUSDT", LONG, Decimal(1), Decimal(10), t0 + 59_999),
            Liquidation("BTCUSDT", LONG, Decimal(1), Decimal(10), t0 + 60_000),
        ]
    )
    assert [t.minute for t in book.pop_all()] == [MINUTE, MINUTE + timedelta(minutes=1)]


def test_minute_over_multiple_of_median_and_floor_is_a_spike():
    history = [Decimal("30000")] * 40 + [Decimal(0)] * 20
    spike = detect_spike(total("160000"), history, RULE)
    assert (spike.side, spike.baseline_usd, spike.ratio) == (LONG, Decimal("30000"), 160000 / 30000)


def test_minute_below_multiple_of_median_is_not_a_spike():
    history = [Decimal("40000")] * 60
    assert detect_spike(total("160000"), history, RULE) is None


def test_minute_below_floor_is_not_a_spike_even_over_a_quiet_baseline():
    assert detect_spike(total("99000"), [Decimal(0)] * 60, RULE) is None


def test_spike_over_a_zero_baseline_has_no_ratio():
    spike = detect_spike(total("100001"), [Decimal(0)] * 60, RULE)
    assert (spike.baseline_usd, spike.ratio) == (Decimal(0), None)


def test_written_minutes_flag_the_long_side_spike_with_its_evidence(db):
    now = MINUTE + timedelta(minutes=1, seconds=3)
    spikes = write_minutes(db, batch_book().pop_all(), RULE, now)
    row = db.execute(
        "SELECT symbol, side, count, notional_usd, baseline_usd, ratio, rule FROM liquidation_spikes"
    ).fetchall()
    assert [s.side for s in spikes] == [LONG]
    assert row == [("BTC_JPY", LONG, 2, "147226.46880", "0", None, RULE.describe())]


def test_written_minutes_are_stored_as_decimal_text_per_side(db):
    write_minutes(db, batch_book().pop_all(), RULE, MINUTE + timedelta(minutes=2))
    rows = db.execute(
        "SELECT symbol, contract, minute, side, count, notional_usd, max_single_usd "
        "FROM liquidation_minutes ORDER BY side"
    ).fetchall()
    assert rows == [
        (
            "BTC_JPY",
            "BTCUSDT",
            "2026-01-01T00:00:00.000+00:00",
            LONG,
            2,
            "147226.46880",
            "103188.12000",
        ),
        ("BTC_JPY", "BTCUSDT", "2026-01-01T00:00:00.000+00:00", SHORT, 1, "344.60000", "344.60000"),
    ]


def test_a_minute_written_twice_is_summed_not_replaced(db):
    write_minutes(db, [total("60000")], RULE, MINUTE + timedelta(minutes=1))
    write_minutes(db, [total("50000", count=2)], RULE, MINUTE + timedelta(minutes=2))
    assert db.execute("SELECT count, notional_usd FROM liquidation_minutes").fetchall() == [
        (3, "110000")
    ]
    assert recent_spike(db, "BTC_JPY", MINUTE + timedelta(minutes=2), 15).notional_usd == Decimal(
        "110000"
    )


def test_baseline_comes_from_the_stored_previous_minutes(db):
    earlier = [total("40000", minute=MINUTE - timedelta(minutes=m)) for m in range(1, 61)]
    write_minutes(db, earlier, RULE, MINUTE)
    assert write_minutes(db, [total("160000")], RULE, MINUTE + timedelta(minutes=1)) == []


def test_recent_spike_is_read_back_with_side_minute_notional_and_baseline(db):
    write_minutes(db, batch_book().pop_all(), RULE, MINUTE + timedelta(minutes=1))
    spike = recent_spike(db, "BTC_JPY", MINUTE + timedelta(minutes=15), 15)
    assert (spike.side, spike.minute, spike.notional_usd, spike.baseline_usd) == (
        LONG,
        MINUTE,
        Decimal("147226.46880"),
        Decimal(0),
    )


def test_recent_spike_filters_by_side(db):
    write_minutes(db, batch_book().pop_all(), RULE, MINUTE + timedelta(minutes=1))
    assert recent_spike(db, "BTC_JPY", MINUTE + timedelta(minutes=5), 15, side=SHORT) is None


def test_recent_spike_ignores_spikes_older_than_the_window(db):
    write_minutes(db, batch_book().pop_all(), RULE, MINUTE + timedelta(minutes=1))
    assert recent_spike(db, "BTC_JPY", MINUTE + timedelta(minutes=16, seconds=1), 15) is None


def test_recent_spike_ignores_other_symbols(db):
    write_minutes(db, batch_book().pop_all(), RULE, MINUTE + timedelta(minutes=1))
    assert recent_spike(db, "ETH_JPY", MINUTE + timedelta(minutes=5), 15) is None


def test_only_one_gap_is_open_at_a_time(db):
    assert open_gap(db, MINUTE, "connection lost") is True
    assert open_gap(db, MINUTE + timedelta(seconds=5), "no pong") is False


def test_closing_gaps_records_when_the_blind_time_ended(db):
    open_gap(db, MINUTE, "connection lost")
    close_gaps(db, MINUTE + timedelta(seconds=7))
    [gap] = gaps_between(db, MINUTE - timedelta(hours=1), MINUTE + timedelta(hours=1))
    assert (gap.started_at, gap.ended_at, gap.reason) == (
        MINUTE,
        MINUTE + timedelta(seconds=7),
        "connection lost",
    )


def test_gaps_outside_the_period_are_not_returned(db):
    open_gap(db, MINUTE, "connection lost")
    close_gaps(db, MINUTE + timedelta(seconds=7))
    assert gaps_between(db, MINUTE + timedelta(minutes=1), MINUTE + timedelta(minutes=15)) == []
