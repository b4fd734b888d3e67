"""Benchmark: a year of `signaldesk backtest` for BTC_JPY and ETH_JPY beside freqtrade's backtest of
the same year.

    .venv/bin/python bench/bench_backtest.py [--runs 3] [--since 2024-07-01 --until 2025-07-01]
[--shared ../shared/data] [--every-step] [--no-freqtrade]

Both run on the shared Binance 15m candles (real data; needs ../shared/data), each pinned to core 0
(`taskset -c 0`) under `/usr/bin/time -v`, in alternating pairs (ours, freqtrade, ours, ...), and
the figures are medians of the runs: whole-process CPU seconds (user + system) and peak RSS, and the
ratio of ours to freqtrade's. Ours is the CLI as a user runs it (the default model at its own
operating point, approve all, report and charts included); freqtrade's is `backtesting` with RSI +
Bollinger entries, a 2 x ATR stop and a 4-hour exit (see bench/bench_freqtrade.py: install it once
with `install` and `convert`, then it runs offline). The table after the figures splits one run of
ours by stage (summary.json: meta.timings_seconds, meta.steps).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from bench_freqtrade import DEFAULT_HOME, python_of, time_v  # noqa: E402
from bench_freqtrade import run as run_freqtrade  # noqa: E402


def run_ours(since: str, until: str, shared: Path, out: Path, every_step: bool) -> dict:
    """Run the backtest CLI on one core; return its CPU, peak RSS, trades and summary.json."""
    command = [
        "taskset", "-c", "0", "/usr/bin/time", "-v", str(ROOT / ".venv" / "bin" / "signaldesk"),
        "backtest", "--since", since, "--until", until, "--candles", str(shared),
        "--approve", "all", "--out", str(out), "--quiet",
        *(["--every-step"] if every_step else []),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"backtest failed ({done.returncode}):\n{done.stdout}\n{done.stderr[-3000:]}")
    summary = json.loads((out / "summary.json").read_text())
    return {**time_v(done.stderr), "trades": summary["trades"]["total"], "summary": summary}


def stages(summary: dict) -> None:
    """Print one run's time per stage and its steps by kind."""
    meta = summary["meta"]
    print(f"steps: {meta['steps']} of {meta['cycles']} cycles")
    print(f"{'stage':16} {'seconds':>8}")
    for stage, seconds in sorted(meta["timings_seconds"].items(), key=lambda kv: -kv[1]):
        if "." not in stage:
            print(f"{stage:16} {seconds:8.2f}")


def median(runs: list[dict], key: str) -> float:
    """Return the median of one figure over runs."""
    return statistics.median(r[key] for r in runs)


def main() -> None:
    """Run the pairs and print the medians and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--since", default="2024-07-01")
    parser.add_argument("--until", default="2025-07-01")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--freqtrade-home", type=Path, default=DEFAULT_HOME)
    parser.add_argument("--every-step", action="store_true", help="ours runs every step whole")
    parser.add_argument("--no-freqtrade", action="store_true", help="run ours only")
    args = parser.parse_args()
    if not (args.shared / "btcusdt_binance_15m.csv.gz").is_file():
        sys.exit(f"{args.shared}: the shared candles are not here (this benchmark needs them)")
    theirs_too = not args.no_freqtrade and python_of(args.freqtrade_home).exists()
    if not args.no_freqtrade and not theirs_too:
        print(f"freqtrade not installed in {args.freqtrade_home}; see bench/bench_freqtrade.py")
    ours, theirs = [], []
    with tempfile.TemporaryDirectory() as folder:
        for n in range(args.runs):
            out = Path(folder) / f"run{n}"
            ours.append(run_ours(args.since, args.until, args.shared, out, args.every_step))
            if theirs_too:
                theirs.append(run_freqtrade(args.freqtrade_home, args.since, args.until))
    print(f"one year {args.since} .. {args.until}, 2 symbols, taskset -c 0, medians of {args.runs}")
    print(f"{'':22} {'CPU s':>8} {'peak RSS MB':>12} {'trades':>7}")
    for name, runs in (("signaldesk backtest", ours), ("freqtrade backtesting", theirs)):
        if runs:
            print(
                f"{name:22} {median(runs, 'cpu_s'):8.2f} {median(runs, 'peak_rss_mb'):12.0f} "
                f"{runs[0]['trades']:>7}"
            )
    if theirs:
        ratio = median(ours, "cpu_s") / median(theirs, "cpu_s")
        print(f"ratio signaldesk / freqtrade (CPU): {ratio:.2f}")
    stages(ours[-1]["summary"])


if __name__ == "__main__":
    main()
