"""The README's main command end to end: the real cycle, bot, taps, execution and reports over
bundled candles."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from bot.card_view import price_note_text
from bot.money_views import UNIT_TITLES
from jobs.cli import EXIT_USAGE, main
from signaldesk.i18n import plain_text, words
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
    # the desk's defaults: Japanese, signals offered 08:00-23:00 JST, silent nights
    ja = words("ja")
    assert "telegram message" in out and "シグナル #" in out and ">> the person taps Approve" in out
    assert "日次レポート 2025年6月2" in out and "で決済: 決済価格" in out
    # in yen, labelled as a converted stand-in, both symbols and both directions, and the money
    # commands at the end
    assert plain_text(price_note_text(ja, "BTC/USDT, ETH/USDT")) in out
    # both symbols traded; the LONGs of these days came at night (05:15 JST): held, not offered,
    # and listed in the morning report
    traded = [kind.split() for kind in summary["traded"]]
    assert {s for s, _ in traded} == {"BTC_JPY", "ETH_JPY"}
    assert "🌙" in out
    assert ">> the person sends /stats" in out
    assert plain_text(ja.t("<b>What you add</b> (approved: what the trades made; the rest: the plan "
                           "replayed)")) in out  # fmt: skip
    assert plain_text(ja.t(UNIT_TITLES["day"], n=7)) in out
    db = open_db(path)
    try:
        by = {
            r[0]
            for r in db.execute("SELECT approved_by FROM signals WHERE approved_by IS NOT NULL")
        }
        fills = db.execute("SELECT COUNT(*) FROM fills").fetchone()[0]
        sizes = db.execute("SELECT symbol, size FROM trades").fetchall()
        held = db.execute("SELECT direction FROM signals WHERE approved_by = 'held'").fetchall()
    finally:
        db.close()
    assert (
        "1001" in by and by <= {"1001", "held"} and fills >= 6
    )  # the demo person's taps and the signals held at night; entries and exits filled
    assert {d for _, d in traded} | {d for (d,) in held} == {"LONG", "SHORT"}
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
