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

TINY_ARGS = [
    "--test-days",
    "14",
    "--calibration-days",
    "10",
    "--min-train-days",
    "20",
    "--bootstrap",
    "30",
]


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
        "direction.txt",
        "metadata.json",
        "report.json",
        "report.md",
        "calibration.png",
        "auc_by_month.png",
    } <= names
    assert summary["model"] == str(out) and summary["holdout"]["sign_auc"] is not None
    assert summary["operating_point"]["signals_per_day"] == 1.5 and "verdict" in summary["edge"]


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


def test_train_takes_the_parameters_tune_found(stored, tmp_path, capsys):
    params = tmp_path / "best.json"
    params.write_text(json.dumps({"num_leaves": 3, "learning_rate": 0.05, "num_boost_round": 40}))
    out = tmp_path / "tuned"
    argv = ["--symbols", "BTC_JPY,ETH_JPY", "--holdout-from", "2025-06-10", "--out", str(out)]
    assert run(jobs.train, [*argv, *TINY_ARGS, "--params", str(params)], stored) == 0
    used = json.loads((out / "metadata.json").read_text())["params"]
    assert (used["num_leaves"], used["num_boost_round"], used["min_data_in_leaf"]) == (3, 40, 1000)


def test_train_refuses_an_unreadable_parameter_file(stored, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    argv = ["--symbols", "BTC_JPY", "--out", str(tmp_path / "x"), "--params", str(bad)]
    assert run(jobs.train, argv, stored) == 2
    assert "expected a JSON object" in capsys.readouterr().out


def test_evaluate_scores_unseen_candles_per_symbol_and_month(trained, stored, capsys):
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
    out = capsys.readouterr().out
    result = json.loads(out.strip().splitlines()[-1])
    assert set(result["overall"]) == {"all", "BTC_JPY", "ETH_JPY"}
    block = result["overall"]["all"]
    assert block["first"] >= "2025-06-10" and block["sign_auc"] is not None
    assert {r["month"] for r in result["months"]} == {"2025-06"}
    assert "signals/day" in out and "spread 4.3 bps" in out


def test_evaluate_refuses_a_window_the_model_trained_on(trained, stored, capsys):
    argv = ["--model", str(trained[0]), "--symbols", "BTC_JPY", "--since", "2025-05-01"]
    assert run(jobs.evaluate, argv, stored) == 2
    assert "overlaps the model's training data" in capsys.readouterr().out
