"""Two weeks of replayed trading with positions held across several 06:00 JST boundaries: leverage
fees in trade P/L, in the daily report and in the loss limits equal the paper exchange's ledger
to the yen, and the report's equity is the equity snapshot at the day's end (which is itself the
ledger's balance plus the unrealised P/L then)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from signaldesk.backtest.engine import ApprovalPolicy
from signaldesk.clock import JST, to_db
from signaldesk.equity import equity_before
from signaldesk.money import yen
from signaldesk.report import daily_report, day_bounds
from signaldesk.risk import pnl_events, realised_between
from signaldesk.settings import load_settings
from signaldesk.storage import apply_migrations, open_db
from tests.money.replay import replay

# two weeks: with one open trade per symbol (issue 14) the last week alone holds too few trades
SINCE, UNTIL = datetime(2025, 6, 13, tzinfo=UTC), datetime(2025, 6, 27, tzinfo=UTC)
# wide stops and a 72-hour time stop so positions live for days (the desk's defaults close within
# 4 hours)
CONFIG = """[risk]
stop_atr_multiple = 6
take_profit_1_atr_multiple = 12
take_profit_2_atr_multiple = 24
time_stop_hours = 72
"""
ZERO = Decimal(0)


@pytest.fixture(scope="module")
def week(tmp_path_factory):
    """Replay 2025-06-13 .. 06-27 (approve everything) once for every test of this module."""
    tmp = tmp_path_factory.mktemp("fee_replay")
    (tmp / "config.toml").write_text(CONFIG, encoding="utf-8")
    settings = load_settings(
        environ={
            "SIGNALDESK_DB": str(tmp / "desk.sqlite3"),
            "SIGNALDESK_LOG_DIR": str(tmp / "log"),
            "SIGNALDESK_CONFIG": str(tmp / "config.toml"),
        },
        env_file=tmp / "no.env",
    )
    db = open_db(settings.db_path)
    apply_migrations(db)
    desk = replay(db, settings, SINCE, UNTIL, ApprovalPolicy(1.0))
    yield db, settings, desk
    db.close()


def ledger(db, kinds=("pnl", "fee", "leverage_fee"), start="0", end="9999") -> list[tuple]:
    """Return paper ledger rows (at, kind, amount, reference) of some kinds in [start, end)."""
    marks = ",".join("?" * len(kinds))
    return db.execute(
        f"SELECT at, kind, amount, reference FROM paper_ledger WHERE kind IN ({marks}) "
        "AND at >= ? AND at < ? ORDER BY id",
        [*kinds, start, end],
    ).fetchall()


def test_positions_were_held_across_several_boundaries(week):
    db, _, _ = week
    crossings = dict(
        db.execute("SELECT trade_id, COUNT(*) FROM position_fees GROUP BY trade_id").fetchall()
    )
    assert max(crossings.values()) >= 3 and len(crossings) >= 3


def test_every_fee_the_desk_booked_is_the_paper_exchanges_charge_to_the_yen(week):
    db, _, _ = week
    desk = db.execute(
        "SELECT boundary, position_id, fee_jpy FROM position_fees ORDER BY boundary, position_id"
    ).fetchall()
    paper = sorted(
        (at, int(ref.split()[1]), Decimal(amount))
        for at, _kind, amount, ref in ledger(db, ("leverage_fee",))
    )
    assert [(at, pid, -Decimal(fee)) for at, pid, fee in desk] == paper
    assert all(Decimal(fee) == int(Decimal(fee)) > 0 for _, _, fee in desk)  # whole yen


def trade_ledger_sum(db, trade_id: int) -> Decimal:
    """Return what the paper ledger moved for one trade: P/L and leverage fees of its positions,
    fees of its orders."""
    positions = {
        r[0]
        for r in db.execute(
            "SELECT f.position_id FROM fills f JOIN orders o ON o.id = f.order_id WHERE o.trade_id "
            "= ?",
            [trade_id],
        )
    }
    orders = {
        r[0]
        for r in db.execute(
            "SELECT exchange_order_id FROM orders WHERE trade_id = ? AND exchange_order_id IS NOT "
            "NULL",
            [trade_id],
        )
    }
    refs = {f"position {p}" for p in positions} | {f"order {o}" for o in orders}
    return sum((Decimal(a) for _, _, a, ref in ledger(db) if ref in refs), ZERO)


def test_each_closed_trades_pnl_and_fees_equal_its_ledger_lines(week):
    db, _, _ = week
    closed = db.execute(
        "SELECT id, pnl_jpy, fees_jpy FROM trades WHERE status = 'closed' ORDER BY id"
    ).fetchall()
    assert len(closed) >= 3
    for trade_id, pnl, fees in closed:
        booked = db.execute(
            "SELECT COALESCE(SUM(CAST(fee_jpy AS INTEGER)), 0) FROM position_fees WHERE trade_id = "
            "?",
            [trade_id],
        ).fetchone()[0]
        execution = sum(
            (
                Decimal(f)
                for (f,) in db.execute(
                    "SELECT f.fee FROM fills f JOIN orders o ON o.id = f.order_id WHERE o.trade_id "
                    "= ?",
                    [trade_id],
                )
            ),
            ZERO,
        )
        assert Decimal(fees) == execution + booked  # the trade's fees include its leverage fees
        assert Decimal(pnl) == trade_ledger_sum(db, trade_id)


def report_days() -> list[date]:
    """Return the JST days the replay covers completely."""
    first = (SINCE.astimezone(JST) + timedelta(days=1)).date()
    return [first + timedelta(days=n) for n in range(5)]


def test_each_days_report_and_loss_limits_equal_the_ledger_to_the_yen(week):
    db, settings, _ = week
    for day in report_days():
        start, end = day_bounds(day)
        report = daily_report(db, day, settings)
        rows = ledger(db, start=to_db(start), end=to_db(end))
        assert report.money.net_jpy == sum((Decimal(a) for *_, a, _r in rows), ZERO), day
        fees = -sum((Decimal(a) for _, k, a, _r in rows if k == "leverage_fee"), ZERO)
        assert report.money.leverage_fees_jpy == fees, day
        last = end - timedelta(microseconds=1)  # the loss limits' day: [00:00 JST, now]
        events = pnl_events(db, settings.mode, start)
        assert realised_between(events, start, last) == report.money.net_jpy, day
    assert sum((daily_report(db, d, settings).money.leverage_fees_jpy for d in report_days()), ZERO)


def test_the_reports_equity_is_the_snapshot_at_the_days_end_and_the_ledger_then(week):
    db, settings, _ = week
    deposit = Decimal(settings.risk.paper_equity_jpy)
    for day in report_days():
        report = daily_report(db, day, settings)
        snapshot = equity_before(db, "paper", day_bounds(day)[1])
        assert report.equity == snapshot
        assert snapshot.taken_at.astimezone(JST).strftime("%H:%M") == "23:45"
        cash = deposit + sum(
            (
                Decimal(a)
                for *_, a, _r in ledger(db, end=to_db(snapshot.taken_at + timedelta(0, 1)))
            ),
            ZERO,
        )
        assert snapshot.equity_jpy == cash + snapshot.unrealised_jpy, day


def test_a_close_notice_says_the_pnl_after_every_fee_and_names_the_leverage_fees(week):
    db, _, desk = week
    crossed = db.execute(
        "SELECT t.id, t.pnl_jpy, (SELECT SUM(CAST(fee_jpy AS INTEGER)) FROM position_fees p "
        "WHERE p.trade_id = t.id) FROM trades t WHERE t.status = 'closed' ORDER BY t.id"
    ).fetchall()
    for trade_id, pnl, fees in [c for c in crossed if c[2]]:
        (notice,) = [
            n for n in desk.notices if n.startswith(f"Trade #{trade_id} ") and "closed" in n
        ]
        assert f"P/L {yen(Decimal(pnl), signed=True)} " in notice
        assert notice.endswith(f"incl. leverage fees {yen(Decimal(fees))}.")
