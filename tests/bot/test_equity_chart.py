"""The equity chart: it starts at the deposit, ends at the report day's end, and labels yen
plainly."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from bot.charts import equity_chart_png, yen_tick
from signaldesk.clock import JST
from signaldesk.exchange.paper import open_account
from signaldesk.i18n import words
from signaldesk.report import chart_data
from tests.bot.money_seed import seed_closed_trade, seed_snapshot

DAY_END = datetime(2026, 3, 10, tzinfo=JST)


def test_the_chart_starts_at_the_deposit_and_stops_at_the_days_end(db):
    open_account(db, "paper", Decimal("1000000"), DAY_END - timedelta(days=3))
    seed_snapshot(db, DAY_END - timedelta(days=2), "999798")  # after fees, below the deposit
    seed_snapshot(db, DAY_END - timedelta(minutes=15), "1004000")
    seed_snapshot(db, DAY_END + timedelta(hours=9), "990000")  # the next morning: not drawn
    seed_closed_trade(db, DAY_END - timedelta(hours=3), "4202")
    chart = chart_data(db, "paper", DAY_END, 30)
    assert [v for _, v in chart.points] == [
        Decimal("1000000"),
        Decimal("999798"),
        Decimal("1004000"),
    ]
    assert chart.points[0][0] == DAY_END - timedelta(days=3) and len(chart.trades) == 1
    assert equity_chart_png(chart, "Equity", words("en"))[:8] == b"\x89PNG\r\n\x1a\n"


def test_axis_labels_are_yen_with_separators_not_scientific_notation():
    assert [yen_tick("en")(v) for v in (1_000_000.0, 999_798.4, 1.0042e6)] == [
        "¥1,000,000",
        "¥999,798",
        "¥1,004,200",
    ]
    assert yen_tick("ja")(1.0042e6) == "1,004,200円"  # the Japanese money format
