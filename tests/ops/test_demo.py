"""The README's main command end to end: the real cycle, bot, taps, execution and reports over bundled candles."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from jobs.cli import EXIT_USAGE, main
from signaldesk.storage import open_db


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    """Run from a temp folder with logs there (no .env of the checkout is read)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SIGNALDESK_LOG_DIR", str(tmp_path / "log"))
    return tmp_path


@pytest.mark.slow
def test_demo_ends_with_signals_taps_trades_and_reports(elsewhere, capsys):
    path = elsewhere / "demo.sqlite3"
    assert (
        main(["demo", "--days", "9", "--db", str(path), "--json"]) == 0
    )  # 2025-06-22..30 holds signals
    out = capsys.readouterr().out
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["verdicts"].get("EXECUTED", 0) >= 3
    assert sum(summary["decided_by_person"].values()) >= 3  # verdicts came from taps in Telegram
    assert summary["closed"] >= 3 and summary["daily_reports"] >= 8
    assert "telegram message:" in out and "Signal #" in out and ">> the person taps Approve" in out
    assert "Daily report 2025-06-2" in out and "closed by" in out
    # in yen, labelled as a converted stand-in, both symbols and both directions, and the money
    # commands at the end
    assert "Prices: converted stand-in: Binance BTC/USDT, ETH/USDT x Fed monthly USD/JPY" in out
    assert {"BTC_JPY SHORT", "ETH_JPY LONG"} <= set(summary["traded"])
    assert ">> the person sends /stats" in out and "What you add" in out
    assert "Daily P/L, the last 7 (JST; newest first)" in out
    db = open_db(path)
    try:
        by = {
            r[0]
            for r in db.execute("SELECT approved_by FROM signals WHERE approved_by IS NOT NULL")
        }
        fills = db.execute("SELECT COUNT(*) FROM fills").fetchone()[0]
        sizes = db.execute("SELECT symbol, size FROM trades").fetchall()
    finally:
        db.close()
    assert (
        by == {"1001"} and fills >= 6
    )  # the demo person's id; entries and exits filled on the paper exchange
    steps = {"BTC_JPY": Decimal("0.001"), "ETH_JPY": Decimal("0.01")}  # GMO's minimums and steps
    assert all(Decimal(n) >= steps[s] and Decimal(n) % steps[s] == 0 for s, n in sizes)
    report = elsewhere / "report" / "report.md"
    assert (
        summary["report"] == str(report)
        and report.is_file()
        and (elsewhere / "report" / "equity.png").is_file()
    )


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--days", "0"], "--days 0: allowed 1 to 60"),
        (["--approve", "1.5"], "--approve 1.5: allowed a fraction"),
    ],
)
def test_demo_refuses_bad_options(elsewhere, capsys, argv, message):
    assert main(["demo", "--db", str(elsewhere / "d.sqlite3"), *argv]) == EXIT_USAGE
    assert message in capsys.readouterr().out
    assert not (elsewhere / "d.sqlite3").exists()
