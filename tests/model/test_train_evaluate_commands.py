"""`signaldesk train` and `signaldesk evaluate` end to end on stored bundled candles."""

from __future__ import annotations

import argparse
import contextlib
import io
import json

import pytest

import jobs.evaluate
import jobs.train
from signaldesk.candles import read_candle_csv, save_candles
from signaldesk.settings import load_settings
from signaldesk.storage import apply_migrations, open_db
from tests.conftest import DATA
from tests.model.conftest import BUNDLED

TINY_ARGS = ["--test-days", "14", "--calibration-days", "10", "--min-train-days", "20"]


def run(module, argv: list[str], settings) -> int:
    """Parse argv with the command's own options and run it."""
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    return module.run(parser.parse_args(argv), settings)


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """Return settings whose (migrated, temporary) database holds the bundled candles."""
    folder = tmp_path_factory.mktemp("stored")
    db = open_db(folder / "signaldesk.sqlite3")
    apply_migrations(db)
    for symbol, name in BUNDLED.items():
        save_candles(db, symbol, "15m", read_candle_csv(DATA / name), f"bundled:{name}")
    db.close()
    environ = {
        "SIGNALDESK_DB": str(folder / "signaldesk.sqlite3"),
        "SIGNALDESK_LOG_DIR": str(folder / "log"),
    }
    return load_settings(environ=environ, env_file=folder / "no.env")


@pytest.fixture(scope="module")
def trained(stored, tmp_path_factory):
    """Train a tiny model from the database once; return its folder and the JSON summary line."""
    out = tmp_path_factory.mktemp("models") / "v1"
    argv = [
        "--symbols",
        "BTC_JPY,ETH_JPY",
        "--holdout-from",
        "2025-06-10",
        "--out",
        str(out),
        "--json",
        *TINY_ARGS,
    ]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert run(jobs.train, argv, stored) == 0
    return out, json.loads(printed.getvalue().strip().splitlines()[-1])


def test_train_writes_a_versioned_folder_with_boosters_metadata_and_report(trained):
    out, summary = trained
    names = {p.name for p in out.iterdir()}
    assert {
        "long.txt",
        "short.txt",
        "metadata.json",
        "report.json",
        "report.md",
        "calibration.png",
    } <= names
    assert summary["model"] == str(out) and summary["holdout"]["long_auc"] is not None


def test_train_records_the_database_source(trained):
    metadata = json.loads((trained[0] / "metadata.json").read_text())
    assert "bundled:btcusdt" in metadata["data"]["BTC_JPY"]["source"]


def test_train_refuses_an_existing_out_folder(trained, stored, capsys):
    argv = ["--symbols", "BTC_JPY", "--out", str(trained[0])]
    assert run(jobs.train, argv, stored) == 2
    assert "never overwritten" in capsys.readouterr().out


def test_train_names_a_symbol_without_candles(stored, tmp_path, capsys):
    assert run(jobs.train, ["--symbols", "BTC", "--out", str(tmp_path / "x")], stored) == 1
    assert "no stored 15m candles for BTC" in capsys.readouterr().out


def test_evaluate_scores_unseen_candles_per_symbol_and_direction(trained, stored, capsys):
    argv = [
        "--model",
        str(trained[0]),
        "--symbols",
        "BTC_JPY,ETH_JPY",
        "--since",
        "2025-06-10",
        "--json",
    ]
    assert run(jobs.evaluate, argv, stored) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(result["per_symbol"]) == {"BTC_JPY", "ETH_JPY"}
    assert result["pooled"]["first"] >= "2025-06-10" and result["pooled"]["long"]["auc"] is not None


def test_evaluate_refuses_a_window_the_model_trained_on(trained, stored, capsys):
    argv = ["--model", str(trained[0]), "--symbols", "BTC_JPY", "--since", "2025-05-01"]
    assert run(jobs.evaluate, argv, stored) == 2
    assert "overlaps the model's training data" in capsys.readouterr().out
