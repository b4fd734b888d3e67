"""The command line: every subcommand has help, bad config exits non-zero before doing anything."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from jobs.cli import COMMANDS, build_parser, main


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_subcommand_has_help(name, capsys):
    with pytest.raises(SystemExit) as done:
        main([name, "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert f"signaldesk {name}" in out
    assert COMMANDS[name][1].split(",")[0][:30] in " ".join(out.split())


def test_top_level_help_lists_every_command(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out


def test_bad_config_exits_non_zero_before_doing_anything(tmp_path):
    db = tmp_path / "untouched.sqlite3"
    env = {
        "SIGNALDESK_DB": str(db),
        "SIGNALDESK_MODE": "yolo",
        "SIGNALDESK_LOG_DIR": str(tmp_path / "log"),
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(
        [sys.executable, "-m", "jobs.cli", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert "SIGNALDESK_MODE='yolo'" in done.stderr and "paper, live" in done.stderr
    assert not db.exists()


def test_migrate_then_list(tmp_path):
    env = {
        "SIGNALDESK_DB": str(tmp_path / "d.sqlite3"),
        "SIGNALDESK_LOG_DIR": str(tmp_path / "log"),
        "PATH": "/usr/bin:/bin",
    }

    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "jobs.cli", *args],
            env=env,
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )

    applied = run("migrate", "--json")
    assert applied.returncode == 0, applied.stderr
    assert "0001_initial" in json.loads(applied.stdout.strip().splitlines()[-1])["applied"]
    listed = run("migrate", "--list", "--json")
    summary = json.loads(listed.stdout.strip().splitlines()[-1])
    assert summary["pending"] == [] and "0001_initial" in summary["applied"]


def test_backfill_refuses_unmigrated_database(tmp_path):
    env = {
        "SIGNALDESK_DB": str(tmp_path / "d.sqlite3"),
        "SIGNALDESK_LOG_DIR": str(tmp_path / "log"),
        "PATH": "/usr/bin:/bin",
    }
    data = Path(__file__).resolve().parents[2] / "data"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "jobs.cli",
            "backfill",
            "--symbol",
            "BTC_JPY",
            "--csv",
            str(data / "btcusdt_binance_15m_2025-04_2025-06.csv.gz"),
        ],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 3
    assert "pending migration" in done.stderr and "signaldesk migrate" in done.stderr
