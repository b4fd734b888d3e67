"""Benchmark: one `signaldesk cycle` for 2 symbols, whole process start to exit, on one core, network served by the
local fake GMO server. Prints CPU seconds, peak RSS and how the time splits. Budget: 1.5 s CPU, 250 MB RSS.

    .venv/bin/python bench/bench_cycle.py [--runs 3]

The database is prepared like a desk in steady state: the bundled real candles are already cached up to the
previous candle, so the cycle fetches only the current GMO trading day (as it does every 15 minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from signaldesk.candles import read_candle_csv, save_candles  # noqa: E402
from signaldesk.storage import apply_migrations, open_db  # noqa: E402
from tests.fakes.gmo_server import BUNDLED, DATA, FakeGmo  # noqa: E402

AT = datetime(2025, 6, 10, 12, 0, 25, tzinfo=UTC)


def prepare(db_path: Path) -> None:
    """Migrate and cache the bundled candles up to the candle before the one the cycle will score."""
    db = open_db(db_path)
    apply_migrations(db)
    cutoff = AT - timedelta(minutes=30)
    for symbol in ("BTC_JPY", "ETH_JPY"):
        rows = [c for c in read_candle_csv(DATA / BUNDLED[symbol]) if c.open_time < cutoff]
        save_candles(db, symbol, "15m", rows, "bench:bundled")
    db.close()


def run_once(fake: FakeGmo, workdir: Path, run: int) -> dict:
    """Run the cycle once under taskset + /usr/bin/time -v; return its figures."""
    db_path = workdir / f"bench-{run}.sqlite3"
    prepare(db_path)
    env = {
        **os.environ,
        "SIGNALDESK_DB": str(db_path),
        "SIGNALDESK_LOG_DIR": str(workdir / "log"),
        "SIGNALDESK_MODE": "live",
        "GMO_API_KEY": fake.api_key,
        "GMO_API_SECRET": fake.api_secret,
        "GMO_PUBLIC_URL": fake.public_url,
        "GMO_PRIVATE_URL": fake.private_url,
    }
    cmd = [
        "taskset",
        "-c",
        "0",
        "/usr/bin/time",
        "-v",
        str(ROOT / ".venv/bin/signaldesk"),
        "cycle",
        "--at",
        AT.isoformat(),
        "--json",
    ]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=workdir)
    if done.returncode != 0:
        raise SystemExit(f"cycle failed:\n{done.stdout}\n{done.stderr}")
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    user = float(re.search(r"User time \(seconds\): ([\d.]+)", done.stderr).group(1))
    system = float(re.search(r"System time \(seconds\): ([\d.]+)", done.stderr).group(1))
    rss = (
        int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr).group(1)) / 1024
    )
    wall = re.search(
        r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", done.stderr
    ).group(1)
    return {
        "cpu": user + system,
        "rss_mb": rss,
        "wall": wall,
        "startup_cpu": summary["startup_cpu_seconds"],
        "stages": summary["durations"],
        "statuses": summary["statuses"],
        "fetched": summary["fetched"],
    }


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    with FakeGmo() as fake, tempfile.TemporaryDirectory() as tmp:
        fake.load_bundled_klines()
        fake.set_book("BTC_JPY", "109600", "109610")
        fake.set_book("ETH_JPY", "2700.00", "2700.50")
        results = [run_once(fake, Path(tmp), i) for i in range(runs)]
    print(
        f"signaldesk cycle, 2 symbols, taskset -c 0, {runs} runs (candle {AT - timedelta(minutes=15, seconds=25):%Y-%m-%d %H:%M} UTC)"
    )
    for i, r in enumerate(results, 1):
        stages = ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in r["stages"].items())
        print(
            f"  run {i}: CPU {r['cpu']:.2f} s (budget 1.5), peak RSS {r['rss_mb']:.0f} MB (budget 250), wall {r['wall']}; "
            f"start-up + imports {r['startup_cpu']:.2f} s CPU; stages (wall): {stages}; "
            f"fetched {r['fetched']} candles; {r['statuses']}"
        )
    worst_cpu, worst_rss = max(r["cpu"] for r in results), max(r["rss_mb"] for r in results)
    verdict = "within budget" if worst_cpu <= 1.5 and worst_rss <= 250 else "OVER BUDGET"
    print(f"worst: CPU {worst_cpu:.2f} s, RSS {worst_rss:.0f} MB -> {verdict}")


if __name__ == "__main__":
    main()
