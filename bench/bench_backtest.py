"""Benchmark: `signaldesk backtest` over one year of 15m candles for BTC_JPY and ETH_JPY on one core, split by stage.

    .venv/bin/python bench/bench_backtest.py [--since 2024-07-01 --until 2025-07-01] [--shared ../shared/data]

Runs the real CLI pinned to core 0 (`taskset -c 0`) under `/usr/bin/time -v` on the shared Binance candles (real
data; needs ../shared/data, an optional larger run) and prints wall/CPU/peak RSS and the replay's time per stage
from summary.json (meta.timings_seconds).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def parse_time_v(text: str) -> dict:
    """Return user/system CPU seconds and peak RSS (MB) from /usr/bin/time -v output."""
    grab = lambda label: float(re.search(rf"{label}: ([\d.]+)", text).group(1))  # noqa: E731
    return {
        "user_s": grab(r"User time \(seconds\)"),
        "system_s": grab(r"System time \(seconds\)"),
        "peak_rss_mb": grab(r"Maximum resident set size \(kbytes\)") / 1024,
    }


def run(since: str, until: str, shared: Path, out: Path) -> tuple[dict, dict, float]:
    """Run the backtest CLI on one core; return (time -v figures, summary.json, wall seconds)."""
    command = [
        "taskset",
        "-c",
        "0",
        "/usr/bin/time",
        "-v",
        str(ROOT / ".venv" / "bin" / "signaldesk"),
        "backtest",
        "--since",
        since,
        "--until",
        until,
        "--candles",
        str(shared),
        "--thresholds",
        "0.50,0.45",
        "--approve",
        "all",
        "--out",
        str(out),
        "--quiet",
    ]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"backtest failed ({done.returncode}):\n{done.stdout}\n{done.stderr[-3000:]}")
    print(done.stdout)
    return parse_time_v(done.stderr), json.loads((out / "summary.json").read_text()), wall


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--since", default="2024-07-01")
    parser.add_argument("--until", default="2025-07-01")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args()
    if not (args.shared / "btcusdt_binance_15m.csv.gz").is_file():
        sys.exit(
            f"{args.shared}: the shared candles are not here (this benchmark is an optional larger run)"
        )
    with tempfile.TemporaryDirectory() as folder:
        figures, summary, wall = run(args.since, args.until, args.shared, Path(folder))
    meta = summary["meta"]
    stages = meta["timings_seconds"]
    cycles = meta["cycles"]
    print(
        f"one year, 2 symbols: {cycles} cycles ({2 * cycles} symbol-scorings) in {wall:.0f} s wall on one core; "
        f"CPU {figures['user_s'] + figures['system_s']:.0f} s; peak RSS {figures['peak_rss_mb']:.0f} MB; "
        f"{cycles / wall:.1f} cycles/s; {summary['trades']['total']} trades"
    )
    print(f"{'stage':24} {'seconds':>9} {'share':>7} {'ms/cycle':>9}")
    total = sum(v for k, v in stages.items() if "." not in k)
    for stage, seconds in sorted(stages.items(), key=lambda kv: -kv[1]):
        print(f"{stage:24} {seconds:9.1f} {seconds / total:7.1%} {seconds * 1000 / cycles:9.2f}")
    print(
        f"{'(sum of top-level)':24} {total:9.1f}; the rest of the wall time is start-up, imports and the report"
    )


if __name__ == "__main__":
    main()
