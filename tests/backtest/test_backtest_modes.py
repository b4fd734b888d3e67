"""Backtest options: walk-forward models never see their block, the seeded approval policy, bad
options refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from jobs.cli import EXIT_USAGE, main
from signaldesk.backtest.engine import ApprovalPolicy, BacktestError, parse_policy
from signaldesk.backtest.run import BacktestPlan, WalkForward, run_backtest, strategy_with
from signaldesk.clock import from_db
from signaldesk.exchange.feed import REPLAY_SPREAD_BPS
from signaldesk.settings import load_settings
from signaldesk.storage import open_db

DATA = Path(__file__).resolve().parents[2] / "data"


def test_policy_is_seeded_and_approves_about_its_fraction():
    draws = [ApprovalPolicy(0.6, 11).chooser() for _ in range(2)]
    first, second = ([approve(i) for i in range(400)] for approve in draws)
    assert first == second  # the same seed replays the same person
    assert 0.5 < sum(first) / 400 < 0.7
    assert [ApprovalPolicy(0.6, 12).chooser()(i) for i in range(400)] != first
    assert all(ApprovalPolicy(1.0, 0).chooser()(i) for i in range(50))


@pytest.mark.parametrize("text", ["0", "1.5", "-0.2", "most", ""])
def test_bad_policy_names_the_allowed_values(text):
    with pytest.raises(BacktestError, match="allowed values are 'all' or a fraction"):
        parse_policy(text, 1)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--approve", "2"], "--approve '2': allowed values"),
        (["--thresholds", "0.5"], "--thresholds '0.5': give two probabilities"),
        (["--until", "2025-06-01"], "must be before --until"),
    ],
)
def test_bad_cli_options_exit_2_and_write_nothing(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    # argparse keeps the last value of a repeated option, so argv overrides these defaults
    assert (
        main(
            [
                "backtest",
                "--since",
                "2025-06-10",
                "--until",
                "2025-06-11",
                *argv,
                "--candles",
                str(DATA),
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == EXIT_USAGE
    )
    assert message in capsys.readouterr().out
    assert not out.exists()


def test_backtest_without_candles_says_where_to_get_them_and_creates_nothing(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SIGNALDESK_DB", str(tmp_path / "desk.sqlite3"))
    monkeypatch.setenv("SIGNALDESK_LOG_DIR", str(tmp_path / "log"))
    assert (
        main(
            [
                "backtest",
                "--since",
                "2025-06-10",
                "--until",
                "2025-06-11",
                "--out",
                str(tmp_path / "out"),
                "--quiet",
            ]
        )
        == 1
    )
    assert "no desk database at" in capsys.readouterr().out
    assert not (tmp_path / "desk.sqlite3").exists()


@pytest.mark.slow
def test_walk_forward_trades_only_with_models_that_never_saw_the_block(tmp_path):
    settings = strategy_with(load_settings(environ={}), (0.50, 0.45))
    since, until = datetime(2025, 6, 20, tzinfo=UTC), datetime(2025, 6, 24, tzinfo=UTC)
    plan = BacktestPlan(
        since,
        until,
        ApprovalPolicy(1.0, 1),
        tmp_path,
        REPLAY_SPREAD_BPS,
        DATA,
        WalkForward(train_days=45, calibration_days=20, retrain_days=2),
    )
    result = run_backtest(plan, settings, None, say=lambda _line: None)

    blocks = result.meta["walk_forward_blocks"]
    assert [b["version"] for b in blocks] == ["wf-20250620", "wf-20250622"]
    for block in blocks:
        start = datetime.strptime(block["version"], "wf-%Y%m%d").replace(tzinfo=UTC)
        assert datetime.fromisoformat(block["calibration"]["end"]) <= start - timedelta(
            days=1
        )  # gap >= horizon
        assert datetime.fromisoformat(block["test"]["start"]) == start
    db = open_db(tmp_path / "backtest.sqlite3")
    try:
        scored = db.execute("SELECT candle_time, model_version FROM signals").fetchall()
    finally:
        db.close()
    assert len(scored) == 2 * 4 * 96
    for candle_time, version in scored:
        start = datetime.strptime(version, "wf-%Y%m%d").replace(tzinfo=UTC)
        assert start <= from_db(candle_time) < start + timedelta(days=2), (candle_time, version)
    assert result.equity[-1][1] != Decimal(0)
