"""Execution through the live GMO client over real HTTP against the fake GMO server: every exit,
re-quotes, partial fills, a lost answer and a crash between the POST and the database write."""

from __future__ import annotations

import dataclasses
import time
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from execution_harness import CrashAfterPost, CrashingExchange

from signaldesk import signals
from signaldesk.clock import utc_now
from signaldesk.exchange.errors import ExchangeError
from signaldesk.exchange.factory import build_gmo
from signaldesk.execution import (
    close_trade,
    emergency_stop,
    execute_signal,
    manage_trades,
    reconcile,
)
from signaldesk.storage import open_db
from tests.fakes.gmo_server import FakeGmo

SYMBOL = "BTC_JPY"
BASE = Decimal("10000000")
ATR = Decimal("50000")


@pytest.fixture
def fake():
    with FakeGmo(timeout_sleep=1.0) as server:
        yield server


@pytest.fixture
def live(fake, make_settings):
    """Return (settings, exchange) of a live desk pointed at the fake server."""
    settings = make_settings(
        SIGNALDESK_MODE="live",
        **fake.env(),
    )
    # sizes here follow the fake account's whole equity, not the live capital cap
    # (tests/money/test_golive.py has the cap)
    uncapped = dataclasses.replace(settings.golive, capital_cap_jpy=Decimal("1e12"))
    settings = dataclasses.replace(settings, golive=uncapped)
    with httpx.Client(timeout=0.5) as http:
        yield settings, build_gmo(settings, http, sleep=lambda s: None)


def price(sign: int, offset: int) -> str:
    """Return a price `offset` JPY from the base in the trade's favour (sign +1 long, -1 short)."""
    return str(BASE + sign * offset)


def quote(fake, sign: int, offset: int) -> None:
    """Set a 1,000 JPY wide book around base + offset (in the trade's favour)."""
    mid = BASE + sign * offset
    fake.set_book(SYMBOL, bid=str(mid - 500), ask=str(mid + 500), bid_size="5", ask_size="5")


def signal(db, direction: str, now) -> int:
    """Insert an APPROVED signal at the base price with the test ATR."""
    return signals.insert(
        db,
        signals.Signal(
            created_at=now,
            symbol=SYMBOL,
            candle_time=now - timedelta(minutes=15),
            direction=direction,
            model_version="test",
            status=signals.APPROVED,
            close_price=BASE,
            atr=ATR,
            expires_at=now + timedelta(minutes=15),
        ),
    )


def trade(db, trade_id):
    """Return a trade as a dict."""
    cursor = db.execute("SELECT * FROM trades WHERE id = ?", [trade_id])
    return dict(zip([d[0] for d in cursor.description], cursor.fetchone(), strict=True))


def enter(db, fake, settings, exchange, direction):
    """Approve a signal, fill the entry with a trade print at its price, and let the desk place the
    stop."""
    sign = 1 if direction == "LONG" else -1
    quote(fake, sign, 0)
    now = utc_now()
    outcome = execute_signal(db, exchange, settings, signal(db, direction, now), now)
    assert outcome.status == "EXECUTED", outcome
    entry = db.execute(
        "SELECT price FROM orders WHERE trade_id = ? AND purpose = 'entry'", [outcome.trade_id]
    ).fetchone()[0]
    fake.trade_at(SYMBOL, entry)
    manage_trades(db, exchange, settings, now)
    return outcome.trade_id, sign, now


def take_profit(db, fake, settings, exchange, sign, offset, now):
    """Move the market to a take-profit and let the desk take it (cancel the slice's stop, wait for
    GMO to confirm, close at the touch price)."""
    quote(fake, sign, offset)
    manage_trades(db, exchange, settings, now)


@pytest.mark.parametrize("direction", ["LONG", "SHORT"])
@pytest.mark.parametrize("reason", ["stop_loss", "tp1", "tp2", "time_stop", "manual", "emergency"])
def test_trade_lives_to_its_exit_over_http(
    db, fake, live, make_settings, tmp_path, direction, reason
):
    settings, exchange = live
    if reason == "tp1":
        (tmp_path / "c.toml").write_text("[risk]\ntake_profit_1_fraction = 1.0\n", encoding="utf-8")
        settings = make_settings(
            SIGNALDESK_MODE="live",
            **fake.env(),
            SIGNALDESK_CONFIG=str(tmp_path / "c.toml"),
        )
    trade_id, sign, now = enter(db, fake, settings, exchange, direction)
    slices = (
        1 if reason == "tp1" else 2
    )  # the take-profit 1 share and the rest, or one when TP1 takes all
    assert [o.execution_type for o in exchange.active_orders(SYMBOL)] == ["STOP"] * slices
    if reason == "stop_loss":
        fake.trade_at(SYMBOL, price(sign, -101000))
        manage_trades(db, exchange, settings, now)
    elif reason in ("tp1", "tp2"):
        take_profit(db, fake, settings, exchange, sign, 101000, now)
        if reason == "tp2":
            assert trade(db, trade_id)["tp1_done"] == 1
            take_profit(db, fake, settings, exchange, sign, 201000, now)
    elif reason == "time_stop":
        manage_trades(db, exchange, settings, now + timedelta(hours=4, minutes=1))
    elif reason == "manual":
        close_trade(db, exchange, settings, trade_id, now, "tester")
    else:
        emergency_stop(db, exchange, settings, now, "tester", flatten=True)

    row = trade(db, trade_id)
    assert (row["status"], row["exit_reason"]) == ("closed", reason)
    assert exchange.open_positions(SYMBOL) == [] and exchange.active_orders(SYMBOL) == []
    fills = db.execute(
        "SELECT o.purpose, f.size, f.realized_pnl, f.fee FROM fills f JOIN orders o ON o.id = "
        "f.order_id WHERE o.trade_id = ?",
        [trade_id],
    ).fetchall()
    assert Decimal(row["pnl_jpy"]) == sum(Decimal(f[2] or 0) - Decimal(f[3]) for f in fills)
    assert (Decimal(row["pnl_jpy"]) > 0) == (reason in ("tp1", "tp2"))


def test_expired_post_only_is_requoted_a_bounded_number_of_times(db, fake, live):
    settings, exchange = live
    fake.set_book(
        SYMBOL, bid=str(BASE), ask=str(BASE)
    )  # a locked book: every post-only BUY at the bid crosses
    now = utc_now()
    outcome = execute_signal(db, exchange, settings, signal(db, "LONG", now), now)
    for step in range(1, 6):  # one re-quote per management step
        manage_trades(db, exchange, settings, now + timedelta(seconds=10 * step))

    entries = db.execute(
        "SELECT attempt, status, cancel_type FROM orders WHERE purpose = 'entry' ORDER BY id"
    ).fetchall()
    assert entries == [
        (n, "EXPIRED", "EXPIRED_SOK") for n in range(1, settings.risk.max_requotes + 2)
    ]
    assert fake.count("POST", "/v1/order") == settings.risk.max_requotes + 1
    assert trade(db, outcome.trade_id)["status"] == "cancelled"


def test_partial_fill_becomes_the_position_when_the_window_ends(db, fake, live):
    settings, exchange = live
    quote(fake, 1, 0)
    now = utc_now()
    outcome = execute_signal(db, exchange, settings, signal(db, "LONG", now), now)
    entry_price = db.execute("SELECT price FROM orders WHERE purpose = 'entry'").fetchone()[0]
    fake.trade_at(SYMBOL, entry_price, size="0.03")
    manage_trades(
        db, exchange, settings, now + timedelta(minutes=settings.risk.entry_window_minutes)
    )

    row = trade(db, outcome.trade_id)
    assert (row["status"], row["filled_size"], row["remaining_size"]) == ("open", "0.03", "0.03")
    (position,) = exchange.open_positions(SYMBOL)
    stops = exchange.active_orders(SYMBOL)  # the take-profit 1 half and the rest
    assert position.size == Decimal("0.030")
    assert [(o.execution_type, o.size) for o in stops] == [("STOP", Decimal("0.015"))] * 2


def test_lost_answer_is_resolved_without_a_second_post(db, fake, live):
    settings, exchange = live
    quote(fake, 1, 0)
    fake.fail_next("/v1/order", "timeout")
    now = utc_now()
    outcome = execute_signal(db, exchange, settings, signal(db, "LONG", now), now)

    assert outcome.status == "EXECUTED"
    assert fake.count("POST", "/v1/order") == 1
    (row,) = db.execute("SELECT status, exchange_order_id FROM orders").fetchall()
    assert row == ("OPEN", exchange.active_orders(SYMBOL)[0].order_id)


def test_crash_between_post_and_database_write_then_restart(db_path, fake, live):
    settings, exchange = live
    quote(fake, 1, 0)
    first = open_db(db_path)
    now = utc_now()
    signal_id = signal(first, "LONG", now)
    with pytest.raises(CrashAfterPost):
        execute_signal(first, CrashingExchange(exchange), settings, signal_id, now)
    first.close()

    restarted = open_db(db_path)
    report = reconcile(restarted, exchange, settings, now + timedelta(seconds=5))
    again = execute_signal(restarted, exchange, settings, signal_id, now + timedelta(seconds=6))

    (order,) = exchange.active_orders(SYMBOL)
    rows = restarted.execute("SELECT status, exchange_order_id FROM orders").fetchall()
    assert fake.count("POST", "/v1/order") == 1 and rows == [("OPEN", order.order_id)]
    assert again.status == "EXECUTED" and report.differences == []
    assert restarted.execute("SELECT status FROM signals").fetchone()[0] == "EXECUTED"
    fake.trade_at(SYMBOL, str(order.price))
    manage_trades(restarted, exchange, settings, now + timedelta(seconds=7))
    assert trade(restarted, again.trade_id)["status"] == "open"
    assert [o.execution_type for o in exchange.active_orders(SYMBOL)] == ["STOP", "STOP"]
    restarted.close()


def test_reconcile_reports_what_the_desk_did_not_do(db, fake, live):
    settings, exchange = live
    trade_id, sign, now = enter(db, fake, settings, exchange, "LONG")
    (position,) = exchange.open_positions(SYMBOL)
    from signaldesk.exchange.model import CloseRequest

    for stop in exchange.active_orders(SYMBOL):
        exchange.cancel_order(stop.order_id)
    time.sleep(fake.cancel_delay + 0.1)  # GMO cancels asynchronously
    exchange.close_order(
        CloseRequest(SYMBOL, "SELL", "MARKET", position.position_id, position.size)
    )

    report = reconcile(db, exchange, settings, now)
    assert report.differences == [
        f"Trade #{trade_id}: position {position.position_id} ({position.size}) is not "
        f"open on the exchange (closed by hand or loss-cut?)."
    ]
    notices = manage_trades(
        db, exchange, settings, now
    )  # the close is recorded as the trade's exit
    row = trade(db, trade_id)
    assert (row["status"], row["exit_reason"]) == ("closed", "manual")
    assert Decimal(row["remaining_size"]) == 0
    assert any("closed on the exchange (not by the desk" in n for n in notices)


@pytest.mark.parametrize("fault", ["maintenance", "http429", "reset_before"])
def test_a_stop_whose_entry_cancel_never_arrived_is_not_reported_done(db, fake, live, fault):
    settings, exchange = live
    sign = 1
    quote(fake, sign, 0)
    now = utc_now()
    outcome = execute_signal(db, exchange, settings, signal(db, "LONG", now), now)
    assert outcome.status == "EXECUTED"
    fake.fail_next("/v1/cancelOrder", fault)
    with pytest.raises(ExchangeError, match="did not reach the exchange"):
        emergency_stop(db, exchange, settings, now, "tester", flatten=False)
    assert [o["status"] for o in fake.open_orders(SYMBOL)] == ["ORDERED"]  # still resting
    report = emergency_stop(db, exchange, settings, now, "tester", flatten=False)  # the retry
    assert report.cancelled_orders and not report.halted_now
    assert [o["status"] for o in fake.open_orders(SYMBOL)] in ([], ["CANCELLING"])  # async cancel
