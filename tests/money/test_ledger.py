"""The desk's ledger on hand-made rows (synthetic): fees booked from the fills and the trading day's
close, a fee whose close came in after the trade closed restates the trade, and money events feed
reports and loss limits."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from signaldesk.candles import Candle, save_candles
from signaldesk.clock import JST
from signaldesk.ledger import (
    book_position_fees,
    fee_candidates,
    latest_boundary,
    money_between,
    money_events,
    net_events,
)
from signaldesk.risk import pnl_events
from tests.bot.money_seed import seed_closed_trade

SIX = datetime(2026, 3, 9, 6, 0, tzinfo=JST)


def store_close(db, symbol: str, boundary: datetime, close: str) -> None:
    """Store the 15-minute candle that ends at a boundary (synthetic prices)."""
    price = Decimal(close)
    candle = Candle(boundary - timedelta(minutes=15), price, price, price, price, Decimal(1))
    save_candles(db, symbol, "15m", [candle], "test")


def test_a_fee_whose_close_arrives_after_the_trade_closed_restates_it(db):
    now = SIX + timedelta(hours=2)
    trade = seed_closed_trade(
        db, SIX + timedelta(hours=1), "1000", held=timedelta(hours=2), position_id=41
    )  # 05:00 .. 07:00 JST, 0.01 BTC
    assert book_position_fees(db, "paper", now) == []  # the 05:45 candle is not stored yet
    store_close(db, "BTC_JPY", SIX, "15012345")
    (notice,) = book_position_fees(db, "paper", now)
    fee = Decimal("60")  # 0.01 x 15,012,345 x 0.04 % = 60.05 -> 60
    assert notice == (
        f"Trade #{trade} LONG BTC_JPY: leverage fee ¥60 for holding across 06:00 JST booked after "
        "the close; P/L now +¥940."
    )
    row = db.execute("SELECT pnl_jpy, fees_jpy FROM trades WHERE id = ?", [trade]).fetchone()
    assert (Decimal(row[0]), Decimal(row[1])) == (Decimal("1000") - fee, fee)
    assert book_position_fees(db, "paper", now) == []  # booked once


def test_money_events_give_reports_and_loss_limits_one_number(db):
    store_close(db, "BTC_JPY", SIX, "15000000")
    seed_closed_trade(
        db, SIX + timedelta(hours=1), "1000", fee="5", held=timedelta(hours=2), position_id=7
    )
    book_position_fees(db, "paper", SIX + timedelta(hours=2))
    day = SIX.replace(hour=0)
    money = money_between(db, "paper", day, day + timedelta(days=1))
    assert (money.gross_jpy, money.execution_fees_jpy, money.leverage_fees_jpy) == (
        Decimal("1000"),
        Decimal("5"),
        Decimal("60"),
    )
    assert [e.kind for e in money_events(db, "paper", day)] == ["fill", "leverage_fee", "fill"]
    assert sum(e.amount for e in pnl_events(db, "paper", day)) == money.net_jpy == Decimal("935")


def test_net_events_are_money_events_reduced_to_time_and_net(db):
    store_close(db, "BTC_JPY", SIX, "15000000")
    for hour, pnl in ((1, "1000"), (25, "-250.5")):  # two trades, the second across a later 06:00
        seed_closed_trade(
            db, SIX + timedelta(hours=hour), pnl, fee="5", held=timedelta(hours=2), position_id=hour
        )
    store_close(db, "BTC_JPY", SIX + timedelta(days=1), "15100000")
    book_position_fees(db, "paper", SIX + timedelta(days=2))
    day = SIX.replace(hour=0)
    events = money_events(db, "paper", day)
    assert len(events) == 6 and {e.kind for e in events} == {"fill", "leverage_fee"}
    expected = [(e.at, e.net_jpy) for e in events]
    assert net_events(db, "paper", day) == expected
    end = SIX + timedelta(days=1)
    assert net_events(db, "paper", day, end) == [
        (e.at, e.net_jpy) for e in money_events(db, "paper", day, end)
    ]
    assert [(e.at, e.amount) for e in pnl_events(db, "paper", day)] == expected


def test_the_latest_boundary_is_the_last_six_oclock_jst_at_or_before_now():
    assert latest_boundary(SIX) == SIX
    assert latest_boundary(SIX - timedelta(milliseconds=1)) == SIX - timedelta(days=1)
    assert latest_boundary(SIX + timedelta(hours=23, minutes=59)) == SIX


def test_only_trades_with_a_fill_before_the_latest_boundary_are_fee_candidates(db):
    now = SIX + timedelta(hours=3)
    held = timedelta(hours=1)
    at_six = seed_closed_trade(db, SIX + held, "10", held=held, position_id=1)  # opened at 06:00
    before = seed_closed_trade(
        db, SIX + held, "10", held=held + timedelta(milliseconds=1), position_id=2
    )  # opened a millisecond before 06:00: held across it
    seed_closed_trade(db, now, "10", held=held, position_id=3)  # 08:00 .. 09:00 JST
    assert [row[0] for row in fee_candidates(db, "paper", now, None)] == [before]
    assert fee_candidates(db, "paper", now, at_six) == []
    store_close(db, "BTC_JPY", SIX, "15000000")
    assert len(book_position_fees(db, "paper", now)) == 1  # the one held across 06:00
