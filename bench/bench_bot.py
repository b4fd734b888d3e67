"""Benchmark of `signaldesk bot`: idle RSS and CPU after start, and approve -> order latency,
against local fakes.

Run (one core, like the VPS):  taskset -c 0 .venv/bin/python bench/bench_bot.py The bot runs as a
child process (its own interpreter, as under systemd) in live mode against the fake GMO server, so
"order request" is the POST /v1/order reaching the fake exchange. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from signaldesk import signals  # noqa: E402
from signaldesk.clock import to_db, utc_now  # noqa: E402
from signaldesk.storage import apply_migrations, open_db  # noqa: E402
from tests.fakes.gmo_server import FakeGmo  # noqa: E402
from tests.fakes.live_desk import allow_live  # noqa: E402
from tests.fakes.telegram_server import FakeTelegram, callback_update, fixture  # noqa: E402

TOKEN = "7000000001:BENCH-PLACEHOLDER-TOKEN"
ALICE = 111111111
RUNNER = (
    "import argparse, sys\n"
    "from signaldesk.settings import load_settings\n"
    "from signaldesk.logs import setup_logging\n"
    "from jobs.bot import run\n"
    "settings = load_settings()\n"
    "setup_logging('bot', settings.log_dir, settings.secrets())\n"
    "sys.exit(run(argparse.Namespace(check=False, json=False), settings))\n"
)
# What-if for the lead: sqlite-utils imports pandas and numpy when they are installed (about 60 MB
# RSS).
WITHOUT_PANDAS = (
    "import sys\n"
    "sys.modules['pandas'] = sys.modules['numpy'] = None  # sqlite_utils then skips them\n"
    "import sqlite_utils\n"
    "del sys.modules['pandas'], sys.modules['numpy']\n"
)
BOOKS = {"BTC_JPY": ("9999000", "10000000", "50000"), "ETH_JPY": ("399900", "400000", "3000")}


def seed(db, symbol: str, close: str, atr: str) -> int:
    """Insert one pending LONG signal priced at the fake book; return its id."""
    now = utc_now()
    row = {
        "created_at": to_db(now),
        "symbol": symbol,
        "candle_time": to_db(now - timedelta(minutes=15)),
        "direction": "LONG",
        "confidence": 0.8,
        "features": "{}",
        "model_version": "bench",
        "status": "PENDING",
        "close_price": close,
        "atr": atr,
        "entry_price": close,
        "stop_loss": str(int(close) - 2 * int(atr)),
        "take_profit_1": str(int(close) + 2 * int(atr)),
        "take_profit_2": str(int(close) + 4 * int(atr)),
        "size": "0.01",
        "risk_jpy": "1000",
        "expires_at": to_db(now + timedelta(minutes=15)),
    }
    return signals.insert(db, signals.from_row({c: row.get(c) for c in signals.COLUMNS}))


def proc_figures(pid: int) -> tuple[float, float, float]:
    """Return (RSS MB, peak RSS MB, CPU seconds) of a process from /proc."""
    status = Path(f"/proc/{pid}/status").read_text()
    fields = {
        line.split(":")[0]: line.split(":")[1].strip()
        for line in status.splitlines()
        if ":" in line
    }
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024, cpu


def wait_until(check, timeout: float, what: str) -> float:
    """Poll `check` every 2 ms until true; return the moment it became true (monotonic)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return time.monotonic()
        time.sleep(0.002)
    raise SystemExit(f"bench_bot: timed out waiting for {what}")


def environment(tmp: Path, telegram: FakeTelegram, gmo) -> dict:
    """Return the child's environment: the fakes' URLs, the temp database, placeholder secrets."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SIGNALDESK_", "GMO_", "TELEGRAM_"))
    }
    env.update(
        SIGNALDESK_DB=str(tmp / "bench.sqlite3"),
        SIGNALDESK_LOG_DIR=str(tmp / "log"),
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_CHAT_ID=str(ALICE),
        TELEGRAM_USER_IDS=str(ALICE),
        TELEGRAM_API_URL=telegram.url,
        PYTHONPATH=str(ROOT),
    )
    env.update(
        SIGNALDESK_MODE="live",
        GMO_API_KEY=gmo.api_key,
        GMO_API_SECRET=gmo.api_secret,
        GMO_PUBLIC_URL=gmo.public_url,
        GMO_PRIVATE_URL=gmo.private_url,
        GMO_WS_PRIVATE_URL=gmo.ws_private_url,  # the fake's private stream, never GMO's
    )
    return env


def approve_latency(telegram, gmo, db, signal_id: int) -> dict:
    """Tap Approve on an announced signal; return ms to the APPROVED row and to the order POST at
    the fake."""
    orders_before = gmo.count("POST", "/v1/order")
    message_id = db.execute(
        "SELECT telegram_message_id FROM signals WHERE id = ?", [signal_id]
    ).fetchone()[0]
    start = time.monotonic()
    telegram.push_update(callback_update(f"approve:{signal_id}", ALICE, ALICE, message_id))

    def status():
        return db.execute("SELECT status FROM signals WHERE id = ?", [signal_id]).fetchone()[0]

    approved = wait_until(lambda: status() != "PENDING", 10, "the decision")
    result = {"signal": signal_id, "approved_ms": round((approved - start) * 1000, 1)}
    ordered = wait_until(
        lambda: gmo.count("POST", "/v1/order") > orders_before, 10, "the order request"
    )
    wait_until(lambda: status() not in ("PENDING", "APPROVED"), 10, "the execution outcome")
    result.update(order_ms=round((ordered - start) * 1000, 1), outcome=status())
    return result


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    parser.add_argument(
        "--without-pandas",
        action="store_true",
        help="what-if: keep sqlite-utils from importing pandas/numpy in the bot process",
    )
    args = parser.parse_args()
    gmo = FakeGmo()
    gmo.start()
    for symbol, (bid, ask, _) in BOOKS.items():
        gmo.set_book(symbol, bid=bid, ask=ask)
    telegram = FakeTelegram(TOKEN, fixture("getMe.json")["result"])
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        db = open_db(tmp / "bench.sqlite3")
        apply_migrations(db)
        allow_live(db)
        ids = [seed(db, symbol, ask, atr) for symbol, (_, ask, atr) in BOOKS.items()]
        started = time.monotonic()
        runner = (WITHOUT_PANDAS if args.without_pandas else "") + RUNNER
        child = subprocess.Popen(
            [sys.executable, "-c", runner], cwd=ROOT, env=environment(tmp, telegram, gmo)
        )
        try:
            wait_until(
                lambda: len(telegram.calls_to("sendMessage")) >= len(ids), 60, "the announcements"
            )
            ready = time.monotonic() - started
            time.sleep(0.5)
            _, _, cpu0 = proc_figures(child.pid)
            time.sleep(args.idle_seconds)
            rss, peak, cpu1 = proc_figures(child.pid)
            latencies = [approve_latency(telegram, gmo, db, i) for i in ids]
            stop_start = time.monotonic()
            child.send_signal(signal.SIGTERM)
            code = child.wait(timeout=30)
            stopped = time.monotonic() - stop_start
        finally:
            if child.poll() is None:
                child.kill()
            telegram.close()
            gmo.stop()
        figures = {
            "mode": "live vs fake GMO",
            "pandas_blocked": args.without_pandas,
            "start_to_announced_s": round(ready, 2),
            "idle_rss_mb": round(rss, 1),
            "peak_rss_mb": round(peak, 1),
            "idle_budget_mb": 100,
            "idle_cpu_percent": round((cpu1 - cpu0) / args.idle_seconds * 100, 2),
            "approvals": latencies,
            "sigterm_exit_code": code,
            "sigterm_to_exit_s": round(stopped, 2),
        }
    print(json.dumps(figures, indent=2))
    return 0 if rss <= 100 and code == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
