"""Parity: `signaldesk backtest` over a day of real candles trades exactly like `signaldesk cycle
--replay` plus the real bot (python-telegram-bot over HTTP to the local Bot API, approvals as button
taps) over the same candles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from jobs.cli import main
from jobs.demo.lockstep import LockstepBot, ReplayClock
from jobs.demo.telegram_api import LocalBotApi
from signaldesk.backtest.engine import cycle_now, morning_due, step_times
from signaldesk.candles import load_candles
from signaldesk.exchange.factory import build_exchange
from signaldesk.exchange.feed import REPLAY_SPREAD_BPS, CandleFeed
from signaldesk.settings import load_settings
from signaldesk.storage import open_current_db, open_db

DATA = Path(__file__).resolve().parents[2] / "data"
BUNDLED = {
    "BTC_JPY": "btcusdt_binance_15m_2025-04_2025-06.csv.gz",
    "ETH_JPY": "ethusdt_binance_15m_2025-04_2025-06.csv.gz",
}
SINCE, UNTIL = (
    datetime(2025, 6, 24, tzinfo=UTC),
    datetime(2025, 6, 25, tzinfo=UTC),
)  # a day with several trades (one open trade per symbol since issue 14: 06-22 closes only one)
TOKEN = "7000000001:TEST-PLACEHOLDER-TOKEN"
ALICE = 111111111
BOT_USER = {
    "id": 7000000001,
    "is_bot": True,
    "first_name": "signaldesk test",
    "username": "signaldesk_test_bot",
}
TRADE_COLUMNS = (
    "symbol",
    "direction",
    "status",
    "size",
    "filled_size",
    "entry_time",
    "entry_price",
    "exit_time",
    "exit_price",
    "exit_reason",
    "pnl_jpy",
    "fees_jpy",
    "time_stop_at",
)
ORDER_COLUMNS = (
    "purpose",
    "symbol",
    "side",
    "settle",
    "execution_type",
    "time_in_force",
    "price",
    "size",
    "executed_size",
    "status",
    "cancel_type",
)


@pytest.fixture
def environment(tmp_path, monkeypatch):
    """Point the CLI at temp files (no .env from the checkout) with thresholds that fire on this
    day."""
    config = tmp_path / "config.toml"
    config.write_text(
        # the backtest approves at any hour: the bot offers signals all day (issue 17's active
        # hours)
        "[strategy]\nlong_threshold = 0.50\nshort_threshold = 0.45\n"
        '[telegram]\nactive_hours = "00:00-24:00"\n',
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SIGNALDESK_CONFIG", str(config))
    monkeypatch.setenv("SIGNALDESK_LOG_DIR", str(tmp_path / "log"))
    monkeypatch.setenv("SIGNALDESK_DB", str(tmp_path / "desk.sqlite3"))
    return tmp_path


def rows(db_path: Path, sql: str) -> list[tuple]:
    """Return all rows of a query on a database file."""
    db = open_db(db_path)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def trades(db_path: Path) -> list[tuple]:
    """Return every trade with its signal's candle, in order."""
    return rows(
        db_path,
        f"SELECT s.candle_time, {', '.join('t.' + c for c in TRADE_COLUMNS)} FROM trades t "
        "JOIN signals s ON s.id = t.signal_id ORDER BY t.id",
    )


def orders(db_path: Path) -> list[tuple]:
    """Return every order the desk sent, in order."""
    return rows(db_path, f"SELECT {', '.join(ORDER_COLUMNS)} FROM orders ORDER BY id")


def run_cycle_replay_and_bot(env: Path, api: LocalBotApi) -> Path:
    """Load the candles with `backfill`, then per candle: the bot manages, `cycle --replay` scores,
    the bot announces and the person taps Approve, the bot sweeps; return the database path."""
    assert main(["migrate"]) == 0
    for symbol, name in BUNDLED.items():
        assert main(["backfill", "--symbol", symbol, "--csv", str(DATA / name)]) == 0
    settings = load_settings()
    db = open_current_db(settings.db_path)
    feed = CandleFeed(
        {s: load_candles(db, s, "15m") for s in BUNDLED}, spread_bps=REPLAY_SPREAD_BPS
    )
    bot = LockstepBot(
        settings,
        db,
        build_exchange(settings, db, feed=feed),
        ReplayClock(SINCE),
        lambda _id: True,
        api=api,
    )
    day = None
    try:
        for candle_open in step_times(SINCE, UNTIL):
            now = cycle_now(candle_open, settings)
            feed.advance_to(now)
            day, report_day = morning_due(day, now, settings)
            if report_day is not None:
                bot.morning(report_day, now)
            bot.manage(now)
            assert (
                main(
                    [
                        "cycle",
                        "--replay",
                        "--since",
                        candle_open.isoformat(),
                        "--until",
                        (candle_open + timedelta(minutes=15)).isoformat(),
                    ]
                )
                == 0
            )
            bot.decide_pending(now)
            bot.sweep(now)
    finally:
        bot.close()
        db.close()
    return settings.db_path


@pytest.mark.slow
def test_backtest_trades_equal_cycle_replay_plus_the_bot(environment, monkeypatch):
    api = LocalBotApi(TOKEN, BOT_USER)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_CHAT_ID", str(ALICE))
    monkeypatch.setenv("TELEGRAM_USER_IDS", str(ALICE))
    monkeypatch.setenv("TELEGRAM_API_URL", api.url)
    try:
        desk_db = run_cycle_replay_and_bot(environment, api)
    finally:
        api.close()
    out = environment / "backtest"
    assert (
        main(
            [
                "backtest",
                "--since",
                SINCE.isoformat(),
                "--until",
                UNTIL.isoformat(),
                "--approve",
                "all",
                "--candles",
                str(DATA),
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    backtest_db = out / "backtest.sqlite3"

    desk_trades, backtest_trades = trades(desk_db), trades(backtest_db)
    assert sum(t[3] == "closed" for t in desk_trades) >= 2, (
        "the day must hold closed trades for parity to mean much"
    )
    assert backtest_trades == desk_trades
    assert orders(backtest_db) == orders(desk_db)
    verdicts = (
        "SELECT candle_time, symbol, status, entry_price, stop_loss, size FROM signals"
        " ORDER BY candle_time, symbol"
    )
    assert rows(backtest_db, verdicts) == [
        r for r in rows(desk_db, verdicts) if SINCE.isoformat() <= r[0]
    ]
    taps = rows(desk_db, "SELECT DISTINCT approved_by FROM signals WHERE approved_by IS NOT NULL")
    assert taps == [(str(ALICE),)], "every verdict on the desk side came from Alice's button taps"
    assert len(api.calls_to("answercallbackquery")) == len(desk_trades) > 0
