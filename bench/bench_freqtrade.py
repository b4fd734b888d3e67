"""freqtrade on the same year and candles as `signaldesk backtest`: install once, convert the
candles, run offline.

    .venv/bin/python bench/bench_freqtrade.py install   # once, needs PyPI: a venv with freqtrade
2026.9 .venv/bin/python bench/bench_freqtrade.py convert   # the shared 15m CSVs -> freqtrade's
feather files .venv/bin/python bench/bench_freqtrade.py run [--since 2024-07-01 --until 2025-07-01]

Everything lives outside the repository, in `--home` (default ../freqtrade-bench next to the
checkout): the virtual environment (`venv/`) and freqtrade's data folder
(`user_data/data/binance/`). After `install` and `convert` nothing needs the network: `run` starts
freqtrade through bench/freqtrade/offline.py, which gives ccxt Binance's market list from
bench/freqtrade/markets.json instead of downloading it (freqtrade loads the markets even to
backtest). The strategy is bench/freqtrade/RsiBollingerAtr.py (RSI + Bollinger entries, a 2 x ATR
stop, a 4-hour exit) with bench/freqtrade/config.json; `run` pins freqtrade to core 0 (`taskset -c
0`) under `/usr/bin/time -v` and prints its CPU seconds, peak RSS and trade count.
bench/bench_backtest.py runs it beside `signaldesk backtest` in alternating pairs.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "bench" / "freqtrade"
VERSION = "2026.9"
DEFAULT_HOME = ROOT.parent / "freqtrade-bench"


def python_of(home: Path) -> Path:
    """Return the interpreter of freqtrade's virtual environment."""
    return home / "venv" / "bin" / "python"


def install(home: Path) -> None:
    """Create the virtual environment and install freqtrade into it (needs PyPI)."""
    home.mkdir(parents=True, exist_ok=True)
    if not python_of(home).exists():
        subprocess.run([sys.executable, "-m", "venv", str(home / "venv")], check=True)
    subprocess.run(
        [str(python_of(home)), "-m", "pip", "install", f"freqtrade=={VERSION}"], check=True
    )


def convert(home: Path, shared: Path) -> None:
    """Write freqtrade's feather candles from the shared CSVs (inside freqtrade's environment)."""
    subprocess.run(
        [
            str(python_of(home)),
            str(HERE / "convert.py"),
            str(shared),
            str(home / "user_data" / "data"),
        ],
        check=True,
    )


def backtesting_command(home: Path, since: str, until: str) -> list[str]:
    """Return `freqtrade backtesting` of [since, until) on one core, offline, under time -v."""
    timerange = f"{since.replace('-', '')}-{until.replace('-', '')}"
    return [
        "taskset", "-c", "0", "/usr/bin/time", "-v",
        str(python_of(home)), str(HERE / "offline.py"), "backtesting",
        "--config", str(HERE / "config.json"),
        "--strategy", "RsiBollingerAtr", "--strategy-path", str(HERE),
        "--userdir", str(home / "user_data"),
        "--datadir", str(home / "user_data" / "data" / "binance"),
        "--timerange", timerange, "--cache", "none", "--export", "none",
    ]  # fmt: skip


def time_v(stderr: str) -> dict:
    """Return CPU seconds and peak RSS (MB) from /usr/bin/time -v output."""
    grab = lambda label: float(re.search(rf"{label}: ([\d.]+)", stderr).group(1))  # noqa: E731
    return {
        "cpu_s": grab(r"User time \(seconds\)") + grab(r"System time \(seconds\)"),
        "peak_rss_mb": grab(r"Maximum resident set size \(kbytes\)") / 1024,
    }


def run(home: Path, since: str, until: str) -> dict:
    """Run freqtrade's backtest once; return its CPU, peak RSS and number of trades."""
    if not python_of(home).exists():
        raise SystemExit(
            f"freqtrade is not installed in {home}: run `bench/bench_freqtrade.py install` "
            "(needs PyPI) and `bench/bench_freqtrade.py convert` once"
        )
    done = subprocess.run(
        backtesting_command(home, since, until), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"freqtrade failed ({done.returncode}):\n{done.stderr[-3000:]}")
    trades = re.search(r"│\s*RsiBollingerAtr\s*│\s*(\d+)", done.stdout)
    return {**time_v(done.stderr), "trades": int(trades.group(1)) if trades else None}


def main() -> None:
    """Install, convert or run, as asked."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("install", "convert", "run"))
    parser.add_argument("--home", type=Path, default=DEFAULT_HOME)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--since", default="2024-07-01")
    parser.add_argument("--until", default="2025-07-01")
    args = parser.parse_args()
    if args.action == "install":
        install(args.home)
    elif args.action == "convert":
        convert(args.home, args.shared)
    else:
        figures = run(args.home, args.since, args.until)
        print(
            f"freqtrade {VERSION} backtesting {args.since} .. {args.until}, taskset -c 0: "
            f"CPU {figures['cpu_s']:.2f} s, peak RSS {figures['peak_rss_mb']:.0f} MB, "
            f"{figures['trades']} trades"
        )


if __name__ == "__main__":
    main()
