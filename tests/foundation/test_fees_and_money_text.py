"""GMO's leverage fee rule (per position, per 06:00 JST held across, at the trading day's close and
rate) and the one way money is written."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal as D

from signaldesk.clock import JST
from signaldesk.fees import boundaries_held, charges, position_fee, rate_on
from signaldesk.money import exit_words, yen


def jst(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 6, day, hour, minute, tzinfo=JST)


def test_the_fee_is_size_times_close_times_the_rate_cut_to_the_yen():
    # 0.013 BTC x 15,012,345 JPY x 0.04 % = 78.064194 JPY -> 78 (fractions of a yen are cut)
    assert position_fee(D("0.013"), D("15012345"), D("0.0004")) == D("78")
    assert position_fee(D("-0.5"), D("362000"), D("0.0004")) == D("72")  # shorts pay alike


def test_the_rate_in_force_is_gmos_0_04_percent_a_day():
    assert rate_on(date(2025, 6, 1)) == D("0.0004")


def test_a_position_pays_for_each_0600_jst_it_is_held_across():
    held = boundaries_held(jst(2, 5, 45), None, jst(5, 7))
    assert held == [jst(2, 6), jst(3, 6), jst(4, 6), jst(5, 6)]


def test_opened_at_0600_it_is_not_held_across_and_closed_at_0600_it_was():
    assert boundaries_held(jst(2, 6), jst(2, 23), jst(4, 0)) == []
    assert boundaries_held(jst(2, 5), jst(3, 6), jst(4, 0)) == [jst(2, 6), jst(3, 6)]


def test_each_boundary_uses_the_size_held_then_and_that_days_close():
    closes = {jst(2, 6): D("15000000"), jst(3, 6): D("16000000")}

    def size_at(moment):  # 0.02 BTC until take-profit 1 closed half on the 2nd at noon
        return D("0.02") if moment <= jst(2, 12) else D("0.01")

    due = charges([jst(2, 6), jst(3, 6)], size_at, closes.get)
    assert [(c.trading_day, c.size, c.close, c.amount) for c in due] == [
        (
            date(2025, 6, 1),
            D("0.02"),
            D("15000000"),
            D("120"),
        ),  # the day that ended at 06:00 on the 2nd
        (date(2025, 6, 2), D("0.01"), D("16000000"), D("64")),
    ]


def test_a_boundary_whose_close_is_not_known_yet_waits_with_every_later_one():
    due = charges([jst(2, 6), jst(3, 6)], lambda m: D("1"), {jst(3, 6): D("5")}.get)
    assert due == []


def test_money_is_written_one_way():
    assert (yen(D("-5705.4")), yen(D("673"), signed=True), yen(D("0"), signed=True)) == (
        "-¥5,705",
        "+¥673",
        "¥0",
    )
    assert (yen(D("1000000")), yen(None)) == ("¥1,000,000", "n/a")


def test_exit_reasons_are_words():
    assert [exit_words(r) for r in ("tp2", "stop_loss", "time_stop", None)] == [
        "take-profit 2",
        "stop-loss",
        "time stop",
        "not closed",
    ]
