"""`signaldesk tune`: two worker processes share one Optuna study in one SQLite file; the holdout
stays unread."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from signaldesk.candles import read_candle_csv, save_candles
from signaldesk.settings import PROJECT_ROOT
from signaldesk.storage import apply_migrations, open_db
from tests.conftest import DATA
from tests.model.conftest import BUNDLED

optuna = pytest.importorskip(
    "optuna", reason="optuna is not installed: pip install '.[tune]' (the test extra installs it)"
)
HOLDOUT = "2025-06-10"


@pytest.fixture
def stored(tmp_path):
    """Return the environment of a temp desk database holding the bundled candles."""
    path = tmp_path / "signaldesk.sqlite3"
    db = open_db(path)
    apply_migrations(db)
    for symbol, name in BUNDLED.items():
        save_candles(db, symbol, "15m", read_candle_csv(DATA / name), f"bundled:{name}")
    db.close()
    return {
        **os.environ,
        "SIGNALDESK_DB": str(path),
        "SIGNALDESK_LOG_DIR": str(tmp_path / "log"),
        "SIGNALDESK_CONFIG": "",
    }


def worker(env: dict, storage: str, seed: int) -> subprocess.Popen:
    """Start one `signaldesk tune` worker process on the shared study."""
    command = [
        sys.executable,
        "-m",
        "jobs.cli",
        "tune",
        "--symbols",
        "BTC_JPY,ETH_JPY",
        "--holdout-from",
        HOLDOUT,
        "--test-days",
        "14",
        "--calibration-days",
        "10",
        "--min-train-days",
        "20",
        "--trials",
        "2",
        "--storage",
        storage,
        "--study",
        "shared",
        "--seed",
        str(seed),
        "--json",
    ]
    return subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_workers_fill_one_shared_study_without_reading_the_holdout(stored, tmp_path):
    storage = f"sqlite:///{tmp_path / 'study.sqlite3'}"
    workers = [worker(stored, storage, seed) for seed in (1, 2)]
    outputs = [w.communicate(timeout=600) for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    study = optuna.load_study(study_name="shared", storage=storage)
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(done) == 4
    assert len({t.user_attrs["worker"] for t in done}) == 2  # two processes, one study
    holdout = pd.Timestamp(HOLDOUT, tz="UTC")
    assert all(pd.Timestamp(t.user_attrs["data_until"]) < holdout for t in done)
    assert all(0.4 < t.value < 0.7 for t in done)
    for out, _ in outputs:  # each worker reports the shared study as it saw it on finishing
        summary = json.loads(out.strip().splitlines()[-1])
        assert summary["trials"] >= 2 and {"num_leaves", "num_boost_round"} <= set(
            summary["best_params"]
        )


def test_the_cycle_bot_and_listener_never_import_optuna():
    code = (
        "import sys, jobs.cli, jobs.cycle, jobs.listen, bot.main, signaldesk.cycle_job, "
        "signaldesk.model.registry, signaldesk.model.inference; "
        "[jobs.cli.build_parser(c) for c in ('cycle', 'bot', 'listen', 'retrain', 'model')]; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'optuna'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


def test_only_the_tune_command_imports_optuna():
    import ast

    def imports_optuna(path):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        return any(
            (isinstance(n, ast.Import) and any(a.name.split(".")[0] == "optuna" for a in n.names))
            or (isinstance(n, ast.ImportFrom) and (n.module or "").split(".")[0] == "optuna")
            for n in ast.walk(tree)
        )

    users = [
        str(p.relative_to(PROJECT_ROOT))
        for package in ("signaldesk", "bot", "jobs")
        for p in (PROJECT_ROOT / package).rglob("*.py")
        if imports_optuna(p)
    ]
    assert users == ["jobs/tune.py"]
