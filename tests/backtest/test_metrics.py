"""Backtest figures computed by hand on labelled synthetic edge-case results (no engine, no I/O)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from signaldesk.backtest.metrics import buy_and_hold, hold_path, summarize
from signaldesk.backtest.result import BacktestResult, TradeRecord

# Synthetic edge-case data throughout: hand-made trades and equity paths whose figures are worked
# out below.
SINCE = datetime(2024, 3, 1, 15, 0, tzinfo=UTC)  # 2024-03-02 00:00 JST
START = D("1000000")


def at(hours: float) -> datetime:
    """Return SINCE plus some hours."""
    return SINCE + timedelta(hours=hours)


def trade(
    trade_id: int,
    pnl: str | None,
    status: str = "closed",
    symbol: str = "BTC_JPY",
    reason: str = "tp1",
    paid: str = "0",
    received: str = "0",
) -> TradeRecord:
    """Return a synthetic trade with the given P/L and fees."""
    closed = status == "closed"
    return TradeRecord(
        trade_id=trade_id,
        signal_id=trade_id,
        symbol=symbol,
        direction="LONG",
        status=status,
        size=D("0.01"),
        filled_size=D("0") if status == "cancelled" else D("0.01"),
        entry_time=None if status == "cancelled" else at(trade_id),
        entry_price=None if status == "cancelled" else D("10000000"),
        exit_time=at(trade_id + 1) if closed else None,
        exit_price=D("10100000") if closed else None,
        exit_reason=reason if closed else None,
        pnl_jpy=None if pnl is None else D(pnl),
        fees_jpy=D(paid) - D(received),
        fees_paid_jpy=D(paid),
        fees_received_jpy=D(received),
        signal_time=at(trade_id - 0.25),
    )


def result(**changes) -> BacktestResult:
    """Return a synthetic two-symbol result with no activity, changed by keyword."""
    base = dict(
        since=SINCE,
        until=at(96),
        symbols=("BTC_JPY", "ETH_JPY"),
        starting_equity=START,
        equity=[],
        exposure=[],
        prices={},
        trades=[],
        signals=[],
        verdicts={},
        missed_entries=0,
        expired_post_only=0,
    )
    return BacktestResult(**{**base, **changes})


def test_trade_statistics_of_two_wins_and_two_losses():
    trades = [
        trade(1, "3000", reason="tp2"),
        trade(2, "-1000", reason="stop_loss"),
        trade(3, "2000", symbol="ETH_JPY"),
        trade(4, "-500", reason="stop_loss"),
        trade(5, None, status="open"),
        trade(6, None, status="cancelled"),
    ]
    s = summarize(result(trades=trades))
    assert s["trades"] == {"total": 6, "closed": 4, "open_at_end": 1, "cancelled": 1}
    assert (s["win_rate"], s["profit_factor"]) == (0.5, round(5000 / 1500, 3))
    assert (s["expectancy_jpy"], s["expectancy_pct"]) == (
        "875.00",
        0.0875,
    )  # 3500 / 4; 875 / 1,000,000
    assert (s["average_win_jpy"], s["average_loss_jpy"]) == ("2500.00", "-750.00")
    assert s["exits_by_reason"] == {
        "stop_loss": {"trades": 2, "pnl_jpy": "-1500"},
        "tp1": {"trades": 1, "pnl_jpy": "2000"},
        "tp2": {"trades": 1, "pnl_jpy": "3000"},
    }
    assert s["per_symbol"] == {
        "BTC_JPY": {"trades": 3, "pnl_jpy": "1500", "win_rate": round(1 / 3, 4)},
        "ETH_JPY": {"trades": 1, "pnl_jpy": "2000", "win_rate": 1.0},
    }


def test_max_drawdown_in_jpy_and_percent_come_from_their_own_worst_falls():
    # 1.0M -> 0.8M is a 200k (20%) fall; 3.0M -> 2.5M is a 500k (16.7%) fall.
    path = [(at(1), D("800000")), (at(2), D("3000000")), (at(3), D("2500000"))]
    s = summarize(result(equity=path))
    assert (s["max_drawdown_jpy"], s["max_drawdown_pct"]) == ("500000", 20.0)
    assert (s["ending_equity_jpy"], s["total_return_pct"]) == ("2500000", 150.0)


def test_sharpe_and_sortino_are_undefined_within_one_jst_day():
    path = [
        (at(1), D("1010000")),
        (at(20), D("990000")),
        (at(23.75), D("1005000")),
    ]  # all on 2024-03-02 JST
    s = summarize(result(equity=path))
    assert (s["return_days"], s["sharpe"], s["sortino"]) == (1, None, None)


def test_sharpe_and_sortino_are_undefined_without_spread_or_losing_days():
    path = [(at(23), D("1100000")), (at(47), D("1210000"))]  # +10% on each of two JST days
    s = summarize(result(equity=path))
    assert (s["return_days"], s["sharpe"], s["sortino"]) == (2, None, None)


def test_sharpe_and_sortino_of_four_jst_days_match_a_hand_computation():
    # 23.75 h after SINCE is 23:45 JST on day 1; 24.25 h is 00:15 JST on day 2 (the same UTC day).
    path = [
        (at(5), D("1050000")),
        (at(23.75), D("1010000")),
        (at(24.25), D("1020000")),
        (at(47), D("999900")),
        (at(71), D("1020000")),
        (at(95), D("1030200")),
    ]
    closes = [1000000, 1010000, 999900, 1020000, 1030200]
    returns = [b / a - 1 for a, b in zip(closes, closes[1:], strict=False)]
    mean = sum(returns) / 4
    stdev = math.sqrt(sum((r - mean) ** 2 for r in returns) / 3)
    downside = math.sqrt(sum(min(r, 0) ** 2 for r in returns) / 4)
    s = summarize(result(equity=path))
    assert s["return_days"] == 4
    assert s["sharpe"] == pytest.approx(mean / stdev * math.sqrt(365), abs=6e-4)
    assert s["sortino"] == pytest.approx(mean / downside * math.sqrt(365), abs=6e-4)


def test_monthly_returns_follow_jst_months():
    since = datetime(2024, 1, 31, 0, 0, tzinfo=UTC)
    path = [
        (datetime(2024, 1, 31, 14, 0, tzinfo=UTC), D("1100000")),  # 23:00 JST on Jan 31
        (datetime(2024, 1, 31, 16, 0, tzinfo=UTC), D("1045000")),
    ]  # 01:00 JST on Feb 1
    s = summarize(result(since=since, until=since + timedelta(days=2), equity=path))
    assert s["monthly_returns_pct"] == {"2024-01": 10.0, "2024-02": -5.0}


def test_exposure_is_the_share_of_cycles_with_a_position():
    flags = [(at(0.25), True), (at(0.5), False), (at(0.75), True), (at(1), True)]
    assert summarize(result(exposure=flags))["exposure"] == 0.75


def test_fees_paid_and_received_are_summed_apart():
    trades = [
        trade(1, "100", paid="12.5", received="30"),
        trade(2, None, status="open", paid="50"),
        trade(3, None, status="cancelled"),
    ]
    s = summarize(result(trades=trades))
    assert (s["fees_paid_jpy"], s["fees_received_jpy"], s["fees_net_jpy"]) == ("62.5", "30", "32.5")


def test_missed_fills_and_verdicts_are_passed_through():
    s = summarize(
        result(missed_entries=3, expired_post_only=2, verdicts={"REJECTED": 4, "EXECUTED": 1})
    )
    assert (s["missed_entries"], s["expired_post_only"], s["verdicts"]) == (
        3,
        2,
        {"EXECUTED": 1, "REJECTED": 4},
    )


def test_buy_and_hold_splits_equity_across_two_symbols():
    prices = {
        "BTC_JPY": [(at(1), D("10000000")), (at(25), D("11000000")), (at(49), D("12000000"))],
        "ETH_JPY": [(at(1), D("500000")), (at(25), D("400000")), (at(49), D("450000"))],
    }
    # 500k each: 0.05 BTC and 1 ETH -> 1,000,000, then 550k + 400k = 950k, then 600k + 450k =
    # 1,050k.
    hold = buy_and_hold(result(prices=prices))
    assert [v for _, v in hold["equity"]] == [START, D("1000000"), D("950000"), D("1050000")]
    assert (hold["ending_equity_jpy"], hold["total_return_pct"]) == ("1050000.00", 5.0)
    assert (hold["max_drawdown_jpy"], hold["max_drawdown_pct"]) == ("50000.00", 5.0)
    returns = [0.0, 950000 / 1000000 - 1, 1050000 / 950000 - 1]
    mean = sum(returns) / 3
    stdev = math.sqrt(sum((r - mean) ** 2 for r in returns) / 2)
    assert hold["sharpe"] == pytest.approx(mean / stdev * math.sqrt(365), abs=6e-4)
    assert hold["unpriced_symbols"] == []


def test_buy_and_hold_keeps_the_share_of_a_symbol_without_prices_as_cash():
    hold = buy_and_hold(result(prices={"BTC_JPY": [(at(1), D("100")), (at(2), D("150"))]}))
    assert (hold["ending_equity_jpy"], hold["unpriced_symbols"]) == ("1250000.00", ["ETH_JPY"])


def test_buy_and_hold_refuses_a_non_positive_close_naming_the_symbol():
    with pytest.raises(ValueError, match="ETH_JPY.*must be > 0"):
        hold_path(result(prices={"ETH_JPY": [(at(1), D("0"))]}))


def test_a_run_without_trades_or_cycles_has_undefined_figures_and_no_crash():
    s = summarize(result())
    assert s["trades"] == {"total": 0, "closed": 0, "open_at_end": 0, "cancelled": 0}
    assert [
        s[k]
        for k in (
            "win_rate",
            "win_rate_ci95",
            "profit_factor",
            "expectancy_jpy",
            "expectancy_pct",
            "average_win_jpy",
            "average_loss_jpy",
            "sharpe",
            "sortino",
            "exposure",
        )
    ] == [None] * 10
    assert (s["ending_equity_jpy"], s["total_return_pct"], s["max_drawdown_jpy"]) == (
        "1000000",
        0.0,
        "0",
    )
    assert buy_and_hold(result())["ending_equity_jpy"] == "1000000"


def test_all_losing_trades_have_profit_factor_zero():
    s = summarize(result(trades=[trade(1, "-100"), trade(2, "-200", reason="stop_loss")]))
    assert (s["profit_factor"], s["win_rate"], s["average_win_jpy"], s["average_loss_jpy"]) == (
        0.0,
        0.0,
        None,
        "-150.00",
    )
