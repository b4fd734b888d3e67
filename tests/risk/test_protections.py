"""The desk never holds more than it promised: the position limit across trades at order prices, one
trade per symbol, the pause after consecutive losses, the maximum drawdown halt, and /modify values
on the tick grid."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from signaldesk.approvals import check_modification
from signaldesk.clock import to_db
from signaldesk.exchange.paperfills import DEFAULT_RULES
from signaldesk.risk import (
    TradeProposal,
    build_snapshot,
    check_new_trade,
    commitments,
    enforce_loss_limits,
    loss_streak,
    room_jpy,
)
from signaldesk.settings import RiskSettings, Settings
from signaldesk.signals import load as load_signal
from signaldesk.sizing import TradeLevels, size_for_risk
from signaldesk.state import resume, trading_state
from tests.bot.harness import seed_signal
from tests.risk.test_loss_limits import BOOK

NOW = datetime(2025, 6, 4, 3, 0, tzinfo=UTC)
RISK = RiskSettings()


def insert_trade(db, symbol, status="open", remaining="0.01", entry="10000000", **extra) -> int:
    """Insert a desk trade row (live mode) and return its id."""
    row = {
        "symbol": symbol,
        "direction": "LONG",
        "status": status,
        "mode": "paper",
        "size": remaining,
        "remaining_size": remaining,
        "entry_price": entry,
        "stop_loss": "1",
        "take_profit_1": "2",
        "take_profit_2": "3",
        "created_at": to_db(NOW),
        "updated_at": to_db(NOW),
        **extra,
    }
    with db.conn:
        return db.conn.execute(
            f"INSERT INTO trades ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
            list(row.values()),
        ).lastrowid


def snapshot(db, equity=D("1000000"), now=NOW):
    """Return a risk snapshot of the database's trades at `equity`."""
    return build_snapshot(
        equity,
        False,
        "",
        [],
        [],
        0,
        RISK,
        now,
        commitments(db, "paper"),
        loss_streak(db, "paper", RISK),
        None,
    )


def proposal(symbol="ETH_JPY", size="10", price="4000") -> TradeProposal:
    """Return a LONG proposal worth size x price."""
    return TradeProposal(symbol, "LONG", D(size), D(price), D(price) - 100, D(50), D(price))


def test_a_third_eth_long_beyond_the_limit_across_trades_is_refused(db):
    # the demo's replay stacked three ETH_JPY longs at ~30% of equity; the limit holds for all
    # trades together
    insert_trade(db, "ETH_JPY", remaining="12", entry="4000")  # 48,000 JPY
    insert_trade(db, "BTC_JPY", remaining="0.004", entry="10000000")  # 40,000 JPY
    reasons = check_new_trade(snapshot(db), proposal(size="5"), BOOK, Settings(), NOW)
    assert any(
        r.startswith("Position value above the limit: open trades hold 88,000 JPY and this order")
        for r in reasons
    )
    assert "ETH_JPY already has open trade #1 LONG (at most 1 per symbol)." in reasons


def test_resting_entries_count_at_their_own_price(db):
    trade = insert_trade(db, "BTC_JPY", status="pending", remaining="0", entry=None)
    with db.conn:
        db.conn.execute(
            "INSERT INTO orders (trade_id, purpose, symbol, side, execution_type, price, size, status, mode, "
            "created_at, updated_at) VALUES (?, 'entry', 'BTC_JPY', 'BUY', 'LIMIT', '9990000', '0.009', "
            "'OPEN', 'paper', ?, ?)",
            [trade, to_db(NOW), to_db(NOW)],
        )
    held = snapshot(db)
    assert held.committed_jpy == D("89910")
    assert room_jpy(held, RISK) == D("10090")


def test_the_size_shrinks_to_the_room_left_or_is_refused_saying_why():
    levels = TradeLevels(D("4000"), D("3900"), D("4100"), D("4200"))
    rules = DEFAULT_RULES["ETH_JPY"]
    assert size_for_risk(D("1000000"), levels, rules, RISK, D("20000")).size == D("5.00")
    none = size_for_risk(D("1000000"), levels, rules, RISK, D("10"))
    assert none.refusal.startswith(
        "no room under the position limit: the desk's open trades already hold 99,990 of 100,000 JPY"
    )


def test_five_losses_in_a_row_pause_new_trades_for_the_cooldown(db):
    for hours in range(5, 0, -1):
        insert_trade(
            db,
            "BTC_JPY",
            status="closed",
            pnl_jpy="-100",
            exit_time=to_db(NOW - timedelta(hours=hours)),
        )
    paused = snapshot(db)
    assert paused.streak.losses == 5 and paused.paused()
    (reason,) = [
        r for r in check_new_trade(paused, proposal(), BOOK, Settings(), NOW) if "in a row" in r
    ]
    assert reason == (
        "5 losing trades in a row (the last closed 2025-06-04 11:00 JST): new trades are paused "
        "until 2025-06-05 11:00 JST."
    )
    assert not snapshot(db, now=NOW + timedelta(hours=23)).paused()
    insert_trade(db, "BTC_JPY", status="closed", pnl_jpy="50", exit_time=to_db(NOW))
    assert snapshot(db).streak.losses == 0


def fallen(db, equity: D, peak: D):
    """Return a snapshot at `equity` with a recorded peak."""
    streak = loss_streak(db, "paper", RISK)
    return build_snapshot(equity, False, "", [], [], 0, RISK, NOW, [], streak, peak)


def test_a_drawdown_from_the_peak_halts_until_resume_then_starts_from_there(db):
    assert enforce_loss_limits(db, snapshot(db, D("1000000")), NOW) == []  # the first peak
    (notice,) = enforce_loss_limits(db, fallen(db, D("799000"), D("1000000")), NOW)
    assert notice.startswith(
        "Trading halted: Maximum drawdown reached: equity 799,000 JPY is 20.1% below its peak of "
        "1,000,000 JPY (limit 20%)"
    )
    assert trading_state(db).halted
    resume(db, NOW, "111")
    again = fallen(db, D("799000"), D("1000000"))
    assert enforce_loss_limits(db, again, NOW) == [] and not trading_state(db).halted


def test_a_modified_stop_off_the_tick_is_stored_and_shown_on_the_tick(db):
    signal = load_signal(db, seed_signal(db, NOW))
    new = check_modification(signal, {"stop_loss": D("9876543.5"), "size": D("0.0099")})
    assert (new.stop_loss, new.size) == (D("9876544"), D("0.009"))
    assert new.risk_jpy == (D("0.009") * (D("10000000") - D("9876544"))).quantize(D("0.01"))
