"""Entry on the paper exchange: re-quote after EXPIRED_SOK, partial fills, crash and restart, halts,
loss limits."""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_FLOOR, Decimal

import pytest
from execution_harness import (
    CrashAfterPost,
    CrashingExchange,
    approved_signal,
    atr,
    open_desk,
    real_candles,
    thin_book,
)

from signaldesk.clock import to_db
from signaldesk.execution import emergency_stop, execute_signal, manage_trades, reconcile
from signaldesk.outbox import unsent
from signaldesk.state import halt, trading_state
from signaldesk.storage import open_db, writing

INDEX = 200


def start(db, settings, symbol="BTC_JPY", direction="LONG", index=INDEX):
    """Open a paper desk at a real candle and approve a signal there; return (desk, signal id)."""
    candles = real_candles(symbol)
    desk = open_desk(db, settings, symbol, index)
    return desk, approved_signal(db, symbol, direction, candles[index], atr(candles, index))


def start_with_plan(db, settings, size: Decimal):
    """Open a paper desk and approve a BTC_JPY LONG with a hand-set plan around the bid; return
    desk, id, entry."""
    candles = real_candles("BTC_JPY")
    desk = open_desk(db, settings, "BTC_JPY", INDEX)
    entry = desk.exchange.order_book("BTC_JPY").best_bid
    plan = {"entry_price": entry, "stop_loss": entry - 700, "take_profit_1": entry + 500,
            "take_profit_2": entry + 900, "size": size}  # fmt: skip
    signal_id = approved_signal(db, "BTC_JPY", "LONG", candles[INDEX], atr(candles, INDEX), **plan)
    return desk, signal_id, entry


def entry_rows(db):
    """Return (attempt, status, cancel_type, executed_size) of every entry order."""
    return db.execute(
        "SELECT attempt, status, cancel_type, executed_size FROM orders WHERE purpose = 'entry' "
        "ORDER BY id"
    ).fetchall()


def test_expired_post_only_is_requoted_at_the_new_passive_price(db, make_settings):
    desk, signal_id = start(db, make_settings())
    bid = desk.exchange.order_book("BTC_JPY").best_bid.to_integral_value(rounding=ROUND_FLOOR)
    # The market drops between our book read and the order's arrival: our bid now crosses the new
    # ask.
    desk.feed.shift_after_reads(1, thin_book("BTC_JPY", bid - 40, bid - 20, Decimal("50")))

    outcome = execute_signal(db, desk.exchange, desk.settings, signal_id, desk.now)

    assert outcome.status == "EXECUTED"
    assert [r[:3] for r in entry_rows(db)] == [(1, "EXPIRED", "EXPIRED_SOK"), (2, "OPEN", None)]
    (resting,) = desk.exchange.active_orders("BTC_JPY")
    assert (resting.price, resting.time_in_force) == (bid - 40, "SOK")


def test_partial_fill_becomes_the_position_and_the_rest_is_cancelled(db, make_settings):
    desk, signal_id = start(db, make_settings(), symbol="ETH_JPY")
    bid = desk.exchange.order_book("ETH_JPY").best_bid
    # ETH_JPY takes no post-only: the passive FAS limit meets a thin ask that moved under it and
    # takes 2 ETH.
    desk.feed.shift_after_reads(1, thin_book("ETH_JPY", bid - 2, bid - 1, Decimal("2")))
    outcome = execute_signal(db, desk.exchange, desk.settings, signal_id, desk.now)
    assert entry_rows(db)[0][1:3] == ("PARTIAL", None) and Decimal(entry_rows(db)[0][3]) == 2

    manage_trades(db, desk.exchange, desk.settings, desk.now + timedelta(minutes=15))

    trade = db.execute(
        "SELECT status, filled_size, remaining_size FROM trades WHERE id = ?", [outcome.trade_id]
    ).fetchone()
    assert (trade[0], Decimal(trade[1]), Decimal(trade[2])) == ("open", 2, 2)
    assert entry_rows(db)[0][1:3] == ("CANCELED", "USER")
    # the stop comes in two slices: the half take-profit 1 will close, and the rest (covered
    # throughout)
    stops = desk.exchange.active_orders("ETH_JPY")
    assert [(o.execution_type, o.size) for o in stops] == [("STOP", Decimal("1.00"))] * 2


def test_crash_after_the_post_leaves_exactly_one_order_after_restart(db_path, make_settings):
    settings = make_settings()
    first = open_db(db_path)
    desk, signal_id = start(first, settings)
    with pytest.raises(CrashAfterPost):
        execute_signal(first, CrashingExchange(desk.exchange), settings, signal_id, desk.now)
    first.close()

    db = open_db(db_path)
    restarted = open_desk(db, settings, "BTC_JPY", INDEX)
    report = reconcile(db, restarted.exchange, settings, restarted.now)
    execute_signal(db, restarted.exchange, settings, signal_id, restarted.now)

    (order,) = restarted.exchange.active_orders("BTC_JPY")
    assert db.execute("SELECT status, exchange_order_id FROM orders").fetchall() == [
        ("OPEN", order.order_id)
    ]
    assert report.resolved_orders == [1] and report.differences == []
    restarted.run_until_closed(1)
    assert db.execute("SELECT status FROM trades").fetchone()[0] in ("closed", "cancelled")
    assert restarted.exchange.active_orders("BTC_JPY") == []
    db.close()


def test_approval_during_a_halt_is_blocked(db, make_settings):
    desk, signal_id = start(db, make_settings())
    halt(db, "/stop by 42", desk.now, "42")

    outcome = execute_signal(db, desk.exchange, desk.settings, signal_id, desk.now)

    assert (outcome.status, outcome.trade_id) == ("BLOCKED", None)
    assert "Trading is halted (/stop by 42)" in outcome.reason
    assert desk.exchange.active_orders("BTC_JPY") == []
    assert (
        db.execute("SELECT status FROM signals WHERE id = ?", [signal_id]).fetchone()[0]
        == "BLOCKED"
    )


def _loss_today(db, now, pnl: str) -> None:
    """Record a losing closed trade earlier today (JST) in the desk's books."""
    at = to_db(now - timedelta(minutes=30))
    with writing(db):
        trade_id = db.execute(
            "INSERT INTO trades (symbol, direction, status, mode, size, stop_loss, take_profit_1, take_profit_2, "
            "created_at, updated_at, exit_time, pnl_jpy) VALUES ('BTC_JPY', 'LONG', 'closed', 'paper', '1', '1', "
            "'2', '3', ?, ?, ?, ?)",
            [at, at, at, pnl],
        ).lastrowid
        order_id = db.execute(
            "INSERT INTO orders (trade_id, purpose, symbol, side, execution_type, size, status, mode, created_at, "
            "updated_at) VALUES (?, 'exit', 'BTC_JPY', 'SELL', 'MARKET', '1', 'FILLED', 'paper', ?, ?)",
            [trade_id, at, at],
        ).lastrowid
        db.execute(
            "INSERT INTO fills (order_id, symbol, side, price, size, fee, realized_pnl, executed_at, "
            "recorded_at) VALUES (?, 'BTC_JPY', 'SELL', '1', '1', '0', ?, ?, ?)",
            [order_id, pnl, at, at],
        )


def test_approval_that_would_break_the_daily_loss_limit_is_blocked(db, make_settings):
    desk, signal_id = start(db, make_settings())
    _loss_today(db, desk.now, "-29950")  # 3% of 1,000,000 is 30,000: 50 JPY of budget left

    outcome = execute_signal(db, desk.exchange, desk.settings, signal_id, desk.now)

    assert outcome.status == "BLOCKED"
    assert "loss limit is left" in outcome.reason and "only 50 JPY of today's" in outcome.reason
    assert not trading_state(db).halted


def test_used_up_daily_loss_limit_halts_and_alerts(db, make_settings):
    desk, signal_id = start(db, make_settings())
    _loss_today(db, desk.now, "-30000")

    outcome = execute_signal(db, desk.exchange, desk.settings, signal_id, desk.now)

    assert outcome.status == "BLOCKED" and "Trading is halted" in outcome.reason
    assert trading_state(db).halted
    (alert,) = unsent(db)
    assert (alert.severity, alert.kind) == ("critical", "loss_limit")


def test_stop_cancels_resting_entries_and_is_idempotent(db, make_settings):
    desk, signal_id = start(db, make_settings())
    outcome = execute_signal(db, desk.exchange, desk.settings, signal_id, desk.now)

    first = emergency_stop(db, desk.exchange, desk.settings, desk.now, "42", flatten=False)
    second = emergency_stop(db, desk.exchange, desk.settings, desk.now, "42", flatten=False)

    assert (first.halted_now, first.cancelled_orders) == (True, [1])
    assert (second.halted_now, second.cancelled_orders, second.flattened_trades) == (False, [], [])
    assert desk.exchange.active_orders("BTC_JPY") == []
    assert (
        db.execute("SELECT status FROM trades WHERE id = ?", [outcome.trade_id]).fetchone()[0]
        == "cancelled"
    )


def test_the_approved_plan_is_honoured_size_capped_and_modified_levels_kept(db, make_settings):
    # what /modify leaves behind: a smaller size and hand-set stop / take-profits
    desk, signal_id, entry = start_with_plan(db, make_settings(), Decimal("0.002"))

    outcome = execute_signal(db, desk.exchange, desk.settings, signal_id, desk.now)

    assert outcome.status == "EXECUTED", outcome.reason
    (order,) = desk.exchange.active_orders("BTC_JPY")
    assert order.size == Decimal("0.002") and order.price <= entry
    trade = db.execute(
        "SELECT size, stop_loss, take_profit_1, take_profit_2 FROM trades"
    ).fetchone()
    assert [Decimal(v) for v in trade] == [Decimal("0.002"), entry - 700, entry + 500, entry + 900]


def test_an_approved_size_below_the_minimum_is_blocked(db, make_settings):
    desk, signal_id, entry = start_with_plan(db, make_settings(), Decimal("0"))

    outcome = execute_signal(db, desk.exchange, desk.settings, signal_id, desk.now)

    assert outcome.status == "BLOCKED" and "below the minimum order" in outcome.reason
    assert desk.exchange.active_orders("BTC_JPY") == []
