"""`signaldesk listen` as a real process: SIGTERM writes the open minute, pending migrations are
refused, no pandas."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from signaldesk.clock import to_ms, utc_now
from signaldesk.storage import open_db
from tests.fakes.bybit_server import FakeBybit, liquidation_push

ROOT = Path(__file__).resolve().parents[2]
LISTEN = ["-m", "jobs.cli", "listen"]


def environment(tmp_path: Path, db_path: Path, url: str) -> dict[str, str]:
    """Return the child's environment: this repo importable, settings pointing at the temp DB and
    the fake."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIGNALDESK_", "BYBIT_"))}
    env.update(
        PYTHONPATH=str(ROOT),
        SIGNALDESK_DB=str(db_path),
        SIGNALDESK_LOG_DIR=str(tmp_path / "log"),
        BYBIT_WS_URL=url,
    )
    return env


def test_sigterm_writes_the_open_minute_and_exits_cleanly(tmp_path, db_path):
    async def scenario():
        async with FakeBybit() as fake:
            child = await asyncio.create_subprocess_exec(
                sys.executable,
                *LISTEN,
                cwd=tmp_path,
                env=environment(tmp_path, db_path, fake.url),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            await fake.wait_until(lambda: fake.ops("subscribe") and fake.clients, timeout=30)
            await fake.push(
                liquidation_push("BTCUSDT", [("Buy", "0.010", "90000.00")], to_ms(utc_now()))
            )
            # A clean close arrives after the push, so the resubscribe proves the push was read.
            await fake.close()
            await fake.wait_until(lambda: len(fake.ops("subscribe")) == 2, timeout=30)
            child.send_signal(signal.SIGTERM)
            return await asyncio.wait_for(child.wait(), 30)

    assert asyncio.run(scenario()) == 0
    db = open_db(db_path)
    assert db.execute("SELECT side, count, notional_usd FROM liquidation_minutes").fetchall() == [
        ("long", 1, "900.00000")
    ]
    db.close()


def test_pending_migrations_are_refused(tmp_path):
    fresh = tmp_path / "fresh.sqlite3"
    done = subprocess.run(
        [sys.executable, *LISTEN],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env=environment(tmp_path, fresh, "ws://127.0.0.1:9/v5/public/linear"),
    )
    assert (done.returncode, "signaldesk migrate" in done.stderr) == (3, True)


def test_listener_import_graph_keeps_pandas_out():
    code = (
        "import sys, jobs.listen, signaldesk.listener, signaldesk.liquidations; "
        "print(sorted(m for m in ('pandas', 'numpy') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() == "[]", done.stderr
