"""Loss limits per JST day/week/month agree with a direct recomputation from trades; the refusal
rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from signaldesk.clock import to_db
from signaldesk.exchange.model import BookLevel, OrderBook
from signaldesk.risk import (
    OpenExposure,
    PnlEvent,
    TradeProposal,
    build_snapshot,
    check_new_trade,
    loss_limit_breaches,
    pnl_events,
)
from signaldesk.settings import RiskSettings, Settings
from signaldesk.storage import writing

TOKYO = ZoneInfo("Asia/Tokyo")
RISK = RiskSettings()
NOW = datetime(2025, 6, 4, 3, 0, tzinfo=UTC)  # Wednesday 12:00 JST
moments = st.datetimes(
    min_value=datetime(2025, 4, 20), max_value=datetime(2025, 6, 30), timezones=st.just(UTC)
)
amounts = st.decimals(min_value=Decimal("-50000"), max_value=Decimal("50000"), places=0)


def direct_sums(events, unrealised, now):
    """Recompute day/week/month P/L by comparing JST calendar fields, independently of clock.py."""
    local_now = now.astimezone(TOKYO)
    day, week, month = Decimal(0), Decimal(0), Decimal(0)
    for e in events:
        t = e.at.astimezone(TOKYO)
        if t > local_now:
            continue
        same_day = t.date() == local_now.date()
        same_week = t.isocalendar()[:2] == local_now.isocalendar()[:2]
        same_month = (t.year, t.month) == (local_now.year, local_now.month)
        day += e.amount if same_day else 0
        week += e.amount if same_week else 0
        month += e.amount if same_month else 0
    return day + unrealised, week + unrealised, month + unrealised


@settings(max_examples=200)
@given(
    st.lists(st.tuples(moments, amounts), max_size=30),
    amounts,
    moments,
    st.decimals(min_value=Decimal("100000"), max_value=Decimal("10000000"), places=0),
)
def test_period_pnl_and_breaches_agree_with_direct_recomputation(trades, unrealised, now, equity):
    events = [PnlEvent(at, amount) for at, amount in trades if at <= now]
    exposure = OpenExposure(1, "BTC_JPY", "LONG", Decimal(1), Decimal(0), unrealised, unrealised)
    snapshot = build_snapshot(equity, False, "", events, [exposure], 0, RISK, now)
    day, week, month = direct_sums(events, unrealised, now)
    assert (snapshot.pnl_day_jpy, snapshot.pnl_week_jpy, snapshot.pnl_month_jpy) == (
        day,
        week,
        month,
    )
    expected = [
        day <= -equity * RISK.daily_loss_limit,
        week <= -equity * RISK.weekly_loss_limit,
        month <= -equity * RISK.monthly_loss_limit,
    ]
    breaches = loss_limit_breaches(snapshot)
    assert [any(n in b for b in breaches) for n in ("today", "this week", "this month")] == expected


def _closed_trade(db, exit_time: datetime, pnl: Decimal, mode: str = "paper") -> None:
    """Insert a closed trade whose exit fill realised `pnl` (no fee) at exit_time."""
    at = to_db(exit_time)
    with writing(db):
        trade_id = db.execute(
            "INSERT INTO trades (symbol, direction, status, mode, size, stop_loss, take_profit_1, take_profit_2, "
            "created_at, updated_at, exit_time, pnl_jpy) VALUES ('BTC_JPY', 'LONG', 'closed', ?, '0.01', '1', '2', "
            "'3', ?, ?, ?, ?)",
            [mode, at, at, at, str(pnl)],
        ).lastrowid
        order_id = db.execute(
            "INSERT INTO orders (trade_id, purpose, symbol, side, execution_type, size, status, mode, created_at, "
            "updated_at) VALUES (?, 'exit', 'BTC_JPY', 'SELL', 'MARKET', '0.01', 'FILLED', ?, ?, ?)",
            [trade_id, mode, at, at],
        ).lastrowid
        db.execute(
            "INSERT INTO fills (order_id, symbol, side, price, size, fee, realized_pnl, executed_at, "
            "recorded_at) VALUES (?, 'BTC_JPY', 'SELL', '1', '0.01', '0', ?, ?, ?)",
            [order_id, str(pnl), at, at],
        )


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(moments, amounts), min_size=1, max_size=12))
def test_pnl_from_the_database_matches_the_trades_table(tmp_path_factory, trades):
    from signaldesk.storage import apply_migrations, open_db

    db = open_db(tmp_path_factory.mktemp("risk") / "t.sqlite3")
    apply_migrations(db)
    for exit_time, pnl in trades:
        _closed_trade(db, exit_time, pnl)
    _closed_trade(
        db, NOW - timedelta(hours=1), Decimal("-999999"), mode="backtest"
    )  # other modes never count
    events = pnl_events(db, "paper", datetime(2025, 4, 1, tzinfo=UTC))
    snapshot = build_snapshot(Decimal("1000000"), False, "", events, [], 0, RISK, NOW)
    rows = db.execute("SELECT exit_time, pnl_jpy FROM trades WHERE mode = 'paper'").fetchall()
    from signaldesk.clock import from_db

    by_trades = [PnlEvent(from_db(t), Decimal(p)) for t, p in rows if from_db(t) <= NOW]
    assert (snapshot.pnl_day_jpy, snapshot.pnl_week_jpy, snapshot.pnl_month_jpy) == direct_sums(
        by_trades, 0, NOW
    )
    db.close()


def _snapshot(**changes):
    """Return a calm snapshot (1,000,000 JPY equity, nothing lost) with some fields changed."""
    base = build_snapshot(Decimal("1000000"), False, "", [], [], 0, RISK, NOW)
    from dataclasses import replace

    return replace(base, **changes)


BOOK = OrderBook(
    "BTC_JPY",
    (BookLevel(Decimal("10000500"), Decimal(1)),),
    (BookLevel(Decimal("10000000"), Decimal(1)),),
)
PROPOSAL = TradeProposal(
    "BTC_JPY",
    "LONG",
    Decimal("0.009"),
    Decimal("10000000"),
    Decimal("9900000"),
    Decimal("50000"),
    Decimal("10000000"),
)


def test_calm_trade_is_allowed():
    assert check_new_trade(_snapshot(), PROPOSAL, BOOK, Settings(), NOW) == []


def test_halt_refuses_with_its_reason():
    reasons = check_new_trade(
        _snapshot(halted=True, halt_reason="/stop by 42"), PROPOSAL, BOOK, Settings(), NOW
    )
    assert reasons == ["Trading is halted (/stop by 42); /resume lifts the halt."]


def test_trade_risking_more_than_the_day_budget_is_refused():
    snapshot = _snapshot(pnl_day_jpy=Decimal("-29500"), budget_day_left_jpy=Decimal("500"))
    (reason,) = check_new_trade(snapshot, PROPOSAL, BOOK, Settings(), NOW)
    assert (
        reason
        == "This trade risks 900 JPY at its stop, but only 500 JPY of today's loss limit is left."
    )


def test_fourth_trade_of_the_day_is_refused():
    (reason,) = check_new_trade(_snapshot(trades_today=3), PROPOSAL, BOOK, Settings(), NOW)
    assert reason == "Already 3 trade(s) today (JST); the limit is 3 per day."


def test_spot_cannot_short():
    proposal = TradeProposal(
        "BTC",
        "SHORT",
        Decimal("0.009"),
        Decimal("10000000"),
        Decimal("10100000"),
        Decimal("50000"),
        Decimal("10000000"),
    )
    book = OrderBook("BTC", BOOK.asks, BOOK.bids)
    (reason,) = check_new_trade(_snapshot(), proposal, book, Settings(), NOW)
    assert "cannot be sold short" in reason


def test_position_above_ten_percent_of_equity_is_refused():
    proposal = TradeProposal(
        "BTC_JPY",
        "LONG",
        Decimal("0.011"),
        Decimal("10000000"),
        Decimal("9990000"),
        Decimal("50000"),
        Decimal("10000000"),
    )
    (reason,) = check_new_trade(_snapshot(), proposal, BOOK, Settings(), NOW)
    assert reason.startswith(
        "Position value above the limit: this order is worth 110,000 JPY at its price 10,000,000; "
        "together 110,000 JPY against 100,000 JPY"
    )


def test_price_drift_beyond_half_an_atr_is_stale():
    book = OrderBook(
        "BTC_JPY",
        (BookLevel(Decimal("10030500"), Decimal(1)),),
        (BookLevel(Decimal("10030000"), Decimal(1)),),
    )
    (reason,) = check_new_trade(_snapshot(), PROPOSAL, book, Settings(), NOW)
    assert reason.startswith("Stale signal: price moved 30,250 JPY since the signal")


def test_wide_spread_is_refused():
    book = OrderBook(
        "BTC_JPY",
        (BookLevel(Decimal("10010000"), Decimal(1)),),
        (BookLevel(Decimal("10000000"), Decimal(1)),),
    )
    (reason,) = check_new_trade(_snapshot(), PROPOSAL, book, Settings(), NOW)
    assert reason.startswith("Spread is 10.0 bps, wider than the 5 bps allowed.")
