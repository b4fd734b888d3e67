"""From paper to live: `signaldesk golive` on a fresh paper desk (refused, saying what is missing)
and after a replayed paper week (allowed); the override in the audit log; live `bot` and `cycle`
refusing to start; the live capital cap; the daily check of the desk's books against GMO's
/v1/account/margin (fake GMO over HTTP)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from jobs.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from signaldesk.audit import events
from signaldesk.equity import check_margin
from signaldesk.exchange.factory import build_gmo
from signaldesk.golive import live_refusal, paper_record
from signaldesk.risk import risk_snapshot
from signaldesk.storage import open_db
from tests.bot.money_seed import seed_closed_trade, seed_fee
from tests.fakes.gmo_server import FakeGmo


@pytest.fixture
def fresh(tmp_path, monkeypatch, db_path):
    """Point the CLI at a freshly migrated database (no .env of the checkout)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SIGNALDESK_DB", str(db_path))
    monkeypatch.setenv("SIGNALDESK_LOG_DIR", str(tmp_path / "log"))
    return db_path


def last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


def test_golive_on_a_fresh_paper_desk_is_refused_with_what_is_missing(fresh, capsys):
    assert main(["golive", "--json"]) == EXIT_FAILED
    out = capsys.readouterr().out
    assert "Paper record since never (no paper cycle yet)" in out
    assert (
        "Not ready for live mode. Missing: paper trading on 7 days (so far 0; the cycle must run "
        "in "
        "paper mode); 5 closed paper trades (so far 0)." in out
    )
    summary = last_json(out)
    assert (summary["allowed"], summary["days_run"], summary["trades_closed"]) == (False, 0, 0)


def test_golive_after_a_replayed_paper_week_is_allowed(paper_week, monkeypatch, tmp_path, capsys):
    db, settings, env = paper_week
    monkeypatch.chdir(tmp_path)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert main(["golive", "--json"]) == EXIT_OK
    out = capsys.readouterr().out
    summary = last_json(out)
    assert summary["allowed"] and summary["missing"] == [] and summary["days_run"] >= 7
    assert summary["trades_closed"] >= 5 and summary["unresolved_orders"] == 0
    assert "Ready for live mode" in out and "  value added       " in out
    record = paper_record(db, settings, datetime(2025, 6, 30, tzinfo=UTC))
    assert record.money.net_jpy == Decimal(summary["pnl_jpy"])


def test_an_override_is_written_to_the_audit_log_and_lets_live_start(fresh, capsys):
    assert main(["golive", "--override", "short"]) == EXIT_USAGE
    reason = "a month of supervised paper trading on the old desk"
    assert main(["golive", "--override", reason]) == EXIT_OK
    assert "Override recorded in the audit log" in capsys.readouterr().out
    db = open_db(fresh)
    try:
        (entry,) = events(db, "golive_override")
        assert entry["detail"]["reason"] == reason and entry["detail"]["days_run"] == 0
        assert len(entry["detail"]["missing"]) == 2
    finally:
        db.close()


LIVE = {
    "SIGNALDESK_MODE": "live",
    "GMO_API_KEY": "k",
    "GMO_API_SECRET": "s",
    "GMO_PUBLIC_URL": "http://127.0.0.1:9",  # never reached: the refusal comes first
    "GMO_PRIVATE_URL": "http://127.0.0.1:9",
    "TELEGRAM_BOT_TOKEN": "1:x",
    "TELEGRAM_CHAT_ID": "1",
    "TELEGRAM_USER_IDS": "1",
}


@pytest.mark.parametrize("command", [["bot"], ["cycle"]])
def test_live_processes_refuse_to_start_without_the_paper_record(
    fresh, monkeypatch, capsys, command
):
    for key, value in LIVE.items():
        monkeypatch.setenv(key, value)
    assert main(command) == EXIT_USAGE
    out = capsys.readouterr().out
    assert "live mode refused: the paper record does not meet [golive] yet. Missing:" in out
    assert "signaldesk golive --override REASON" in out


def test_paper_mode_and_an_override_need_no_record(make_settings, db):
    assert live_refusal(db, make_settings()) is None
    live = make_settings(**{k: v for k, v in LIVE.items() if not k.startswith("TELEGRAM")})
    assert live_refusal(db, live).startswith("live mode refused")
    from signaldesk.golive import record_override

    record_override(
        db, "tested elsewhere", "ops", paper_record(db, live, datetime.now(UTC)), datetime.now(UTC)
    )
    assert live_refusal(db, live) is None


@pytest.fixture
def gmo():
    with FakeGmo(jpy="5000000") as server:
        yield server


def live_settings(make_settings, gmo, **golive):
    """Return live settings pointed at the fake GMO with some [golive] values."""
    settings = make_settings(
        SIGNALDESK_MODE="live",
        **gmo.env(),
    )
    return dataclasses.replace(settings, golive=dataclasses.replace(settings.golive, **golive))


def test_live_risk_sees_at_most_the_capital_cap(make_settings, db, gmo):
    settings = live_settings(make_settings, gmo, capital_cap_jpy=Decimal("300000"))
    with httpx.Client(timeout=2) as http:
        snapshot = risk_snapshot(db, build_gmo(settings, http), settings, datetime.now(UTC))
    assert (snapshot.equity_jpy, snapshot.account_equity_jpy) == (
        Decimal("300000"),
        Decimal("5000000"),
    )
    assert snapshot.limit_day_jpy == Decimal("9000")  # 3 % of the cap, not of the account


def test_the_daily_margin_check_alerts_when_gmo_and_the_books_differ(make_settings, db, gmo):
    settings = live_settings(make_settings, gmo, margin_tolerance_jpy=Decimal("30"))
    day = datetime(2026, 3, 9, 21, 30, tzinfo=UTC)
    with httpx.Client(timeout=2) as http:
        exchange = build_gmo(settings, http)
        assert check_margin(db, exchange, settings, day) is None  # the first check sets the base
        trade = seed_closed_trade(db, day.replace(hour=23), "0")  # a trade the desk booked ...
        db.execute("UPDATE trades SET mode = 'live'")
        db.execute("UPDATE orders SET mode = 'live'")
        db.execute("UPDATE position_fees SET mode = 'live'")
        seed_fee(db, trade, day.replace(hour=22), "36")
        db.execute("UPDATE position_fees SET mode = 'live'")
        gmo.balances["JPY"] -= Decimal("37")  # ... GMO charged a yen more than the desk booked
        check = check_margin(db, exchange, settings, day.replace(day=10))
        assert (check.gmo_change_jpy, check.desk_change_jpy) == (Decimal("-37"), Decimal("-36"))
        gmo.balances["JPY"] -= Decimal("200")  # a withdrawal the desk knows nothing of
        check_margin(db, exchange, settings, day.replace(day=11))
    alerts = db.execute("SELECT severity, text FROM outbox WHERE kind = 'margin_check'").fetchall()
    assert len(alerts) == 1 and alerts[0][0] == "warning"
    assert (
        "moved -¥200" in alerts[0][1]
        and "explain ¥0 (difference -¥200, tolerance ¥30)" in alerts[0][1]
    )
