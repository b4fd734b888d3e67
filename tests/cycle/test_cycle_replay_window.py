"""`cycle --replay` reads a bounded window of candles, whatever the database holds, and the
`signaldesk cycle` process ends at once with its output and logs written (no interpreter
teardown)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from jobs.cli import main
from signaldesk.candles import read_candle_csv, save_candles
from signaldesk.cycle_job import REPLAY_FEED_LOOKBACK, replay_candles
from signaldesk.execution.records import OrderIntent, insert_intent
from signaldesk.settings import load_settings
from signaldesk.storage import open_db
from tests.conftest import DATA

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = {
    "BTC_JPY": "btcusdt_binance_15m_2025-04_2025-06.csv.gz",
    "ETH_JPY": "ethusdt_binance_15m_2025-04_2025-06.csv.gz",
}
SINCE = datetime(2025, 6, 20, tzinfo=UTC)


def stored_since(path: Path, first: datetime) -> None:
    """Migrate the database and store the bundled candles opening at or after `first`."""
    db = open_db(path)
    from signaldesk.storage import apply_migrations

    apply_migrations(db)
    for symbol, name in BUNDLED.items():
        save_candles(db, symbol, "15m", read_candle_csv(DATA / name, first), "bundled")
    db.close()


def environment(monkeypatch, tmp_path: Path, db: Path) -> None:
    """Point the CLI at one database, temp logs and no config."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SIGNALDESK_DB", str(db))
    monkeypatch.setenv("SIGNALDESK_LOG_DIR", str(tmp_path / "log"))


def verdicts(path: Path) -> list[tuple]:
    """Return every verdict the replay wrote, without when it was written."""
    db = open_db(path)
    try:
        return db.execute(
            "SELECT symbol, candle_time, status, prob_long, prob_short, features, reasons, "
            "close_price, atr, resolved_at, outcome_return FROM signals ORDER BY id"
        ).fetchall()
    finally:
        db.close()


def test_a_replay_writes_the_same_verdicts_on_three_months_of_history_as_on_a_week(
    tmp_path, monkeypatch
):
    short, long = tmp_path / "week.sqlite3", tmp_path / "months.sqlite3"
    stored_since(short, SINCE - timedelta(days=7))
    stored_since(long, datetime(2025, 4, 1, tzinfo=UTC))
    argv = ["cycle", "--replay", "--since", "2025-06-20", "--until", "2025-06-20T06:00:00"]
    for path in (short, long):
        environment(monkeypatch, tmp_path, path)
        assert main(argv) == 0
    assert verdicts(long) == verdicts(short)
    assert len(verdicts(long)) == 2 * 24


def test_the_replay_feed_opens_a_day_before_or_at_the_oldest_working_order(tmp_path, db_path):
    stored_since(db_path, datetime(2025, 4, 1, tzinfo=UTC))
    settings = load_settings(environ={"SIGNALDESK_DB": str(db_path)})
    db = open_db(db_path)
    try:
        start, candles = replay_candles(db, settings, SINCE, SINCE + timedelta(hours=6))
        assert start == SINCE - REPLAY_FEED_LOOKBACK
        assert all(rows[0].open_time == start for rows in candles.values())
        placed = datetime(2025, 6, 2, 9, 30, tzinfo=UTC)
        entry = OrderIntent(
            "entry", "BTC_JPY", "BUY", "OPEN", "LIMIT", Decimal("0.01"), Decimal("1")
        )
        insert_intent(db, None, entry, "paper", placed)  # outcome unknown: still working, maybe
        start, candles = replay_candles(db, settings, SINCE, SINCE + timedelta(hours=6))
        assert start == placed - REPLAY_FEED_LOOKBACK
        assert candles["BTC_JPY"][0].open_time == start
    finally:
        db.close()


def run_process(tmp_path: Path, db: Path, *argv: str) -> subprocess.CompletedProcess:
    """Run `signaldesk` as its own process (the console entry point), as cron does."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SIGNALDESK_")},
        "SIGNALDESK_DB": str(db),
        "SIGNALDESK_LOG_DIR": str(tmp_path / "log"),
        "PYTHONPATH": str(ROOT),
    }
    command = [sys.executable, "-c", "import sys; from jobs.cli import main; sys.exit(main())"]
    return subprocess.run(
        [*command, *argv], env=env, cwd=tmp_path, capture_output=True, text=True, check=False
    )


def test_the_cycle_process_ends_at_once_with_its_output_logs_and_exit_code(tmp_path):
    db = tmp_path / "desk.sqlite3"
    stored_since(db, SINCE - timedelta(days=7))
    done = run_process(
        tmp_path,
        db,
        "cycle",
        "--replay",
        "--since",
        "2025-06-20",
        "--until",
        "2025-06-20T01:00",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["cycles"] == 4
    line = "replayed 4 cycle(s) 2025-06-20T00:00:00.000+00:00 .. 2025-06-20T01:00:00.000+00:00:"
    assert line in done.stdout
    assert line in (tmp_path / "log" / "cycle.log").read_text(encoding="utf-8")
    refused = run_process(
        tmp_path, tmp_path / "empty.sqlite3", "cycle", "--replay", "--since", "2025-06-20",
        "--until", "2025-06-21",
    )  # fmt: skip
    assert refused.returncode == 3 and "Run `signaldesk migrate` first" in refused.stderr
