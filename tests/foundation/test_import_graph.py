"""The import rules of docs/STYLE.md: which packages may import which, and what each process loads
at start-up.

Each process is a fresh interpreter on a 1-core VPS with a memory budget: what it imports is what it
pays for. The start-up checks import exactly what the process's entry point imports before it does
any work, in a child interpreter, and list what must not be there.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("pandas", "numpy", "lightgbm", "sklearn", "matplotlib", "pandas_ta", "numba", "optuna")


def imported_names(path: Path) -> set[str]:
    """Return the top-level package of every import statement in a file (function-local ones
    included)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def importers(package: str, forbidden: str) -> list[str]:
    """Return the files of a package that import a forbidden top-level package."""
    return sorted(
        str(path.relative_to(ROOT))
        for path in (ROOT / package).rglob("*.py")
        if forbidden in imported_names(path)
    )


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("signaldesk", "telegram"),
        ("signaldesk", "bot"),
        ("signaldesk", "jobs"),
        ("bot", "jobs"),  # jobs/bot.py runs the bot; imports go one way
        ("signaldesk", "optuna"),  # tuning is an optional extra, run by jobs/tune.py only
        ("bot", "optuna"),
    ],
)
def test_imports_go_one_way(package, forbidden):
    assert importers(package, forbidden) == []


def test_telegram_is_used_only_by_the_bot_and_the_demo_simulator():
    users = importers("jobs", "telegram") + importers("migrations", "telegram")
    assert [u for u in users if not u.startswith(("jobs/demo/", "jobs/bot.py"))] == []


def test_orjson_is_used_only_by_the_column_text_module():
    users = [u for p in ("signaldesk", "bot", "jobs", "migrations") for u in importers(p, "orjson")]
    assert users == ["signaldesk/columns.py"]


def loaded_after(code: str) -> set[str]:
    """Run code in a fresh interpreter and return the top-level modules it has loaded."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_the_bot_starts_without_data_science_libraries():
    # what `signaldesk bot` imports before it polls: its job module, the wiring, the exchange,
    # storage
    loaded = loaded_after(
        "import jobs.cli, jobs.bot, bot.main, signaldesk.exchange.factory, signaldesk.storage"
    )
    assert loaded & set(HEAVY) == set()
    assert "telegram" in loaded


def test_the_listener_starts_without_data_science_or_telegram():
    loaded = loaded_after(
        "import jobs.cli, jobs.listen, signaldesk.listener, signaldesk.liquidations"
    )
    assert loaded & {*HEAVY, "telegram", "httpx"} == set()


def test_the_cycle_never_loads_telegram_charts_or_training_libraries():
    # what `signaldesk cycle` runs: the job, the cycle, features, the model's inference
    loaded = loaded_after(
        "import jobs.cli, jobs.cycle, signaldesk.cycle_job, signaldesk.cycle, "
        "signaldesk.features, signaldesk.model.inference"
    )
    assert loaded & {"telegram", "matplotlib", "sklearn", "optuna", "websockets", "bot"} == set()


def test_the_cycle_job_module_itself_imports_nothing_heavy():
    # jobs.cycle is imported to build `signaldesk --help`; the scoring libraries load only when a
    # cycle runs
    assert loaded_after("import jobs.cli, jobs.cycle") & set(HEAVY) == set()
