"""Benchmark the model path: features for a 500-candle window, inference per symbol, and a full
`train` on one core.

Run: .venv/bin/python bench/bench_model.py [--skip-train] Prints figures; the full train needs the
shared data folder (../shared/data relative to the repo root).
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT / ".." / "shared" / "data"
sys.path.insert(0, str(ROOT))


def timed_ms(call, repeat: int) -> tuple[float, float]:
    """Return the median and max wall time of `call` in milliseconds over `repeat` runs (after one
    warm-up)."""
    call()
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        runs.append((time.perf_counter() - start) * 1000)
    return statistics.median(runs), max(runs)


def bench_features_and_inference() -> None:
    """Print feature and inference timings on the bundled candles with the committed default
    model."""
    from signaldesk.candles import read_candle_csv
    from signaldesk.features import LIVE_FETCH_BARS, candles_to_frame, latest_features
    from signaldesk.model.inference import load_model
    from signaldesk.settings import DEFAULT_MODEL_VERSION

    candles = read_candle_csv(ROOT / "data" / "btcusdt_binance_15m_2025-04_2025-06.csv.gz")[
        -LIVE_FETCH_BARS:
    ]
    median, worst = timed_ms(lambda: candles_to_frame(candles), 50)
    print(
        f"candles_to_frame, {LIVE_FETCH_BARS} candles: median {median:.2f} ms, max {worst:.2f} ms"
    )
    frame = candles_to_frame(candles)
    median, worst = timed_ms(lambda: latest_features(frame), 50)
    print(
        f"latest_features, {LIVE_FETCH_BARS}-candle window: median {median:.2f} ms, max {worst:.2f} ms"
    )
    start = time.perf_counter()
    model = load_model(
        ROOT / "models" / DEFAULT_MODEL_VERSION, datetime.now(UTC), max_age_days=10_000
    )
    print(
        f"load_model(models/{DEFAULT_MODEL_VERSION}): {(time.perf_counter() - start) * 1000:.1f} ms "
        f"(once per cycle process)"
    )
    row = latest_features(frame).values
    median, worst = timed_ms(lambda: model.predict(row), 500)
    print(
        f"LoadedModel.predict, one symbol: median {median:.3f} ms, max {worst:.3f} ms (budget 10 ms)"
    )
    median, worst = timed_ms(lambda: model.top_contributions(row, 3), 200)
    print(f"LoadedModel.top_contributions(k=3): median {median:.3f} ms, max {worst:.3f} ms")


def bench_train() -> None:
    """Run the full default training on one core under /usr/bin/time -v and print time and peak
    memory."""
    if not SHARED_DATA.is_dir():
        print(f"full train: skipped, shared data folder {SHARED_DATA.resolve()} is missing")
        return
    out = Path(tempfile.mkdtemp(prefix="bench-model-")) / "model"
    command = [
        "taskset",
        "-c",
        "0",
        "/usr/bin/time",
        "-v",
        sys.executable,
        __file__,
        "train-child",
        "--symbols",
        "BTC_JPY,ETH_JPY",
        "--csv-dir",
        str(SHARED_DATA),
        "--holdout-from",
        "2025-01-01",
        "--out",
        str(out),
    ]
    print(
        "full train:",
        " ".join(command[:6]),
        "... train --symbols BTC_JPY,ETH_JPY --csv-dir ../shared/data --holdout-from 2025-01-01",
    )
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    for line in done.stdout.splitlines()[-4:]:
        print("   ", line)
    for key in (
        "Elapsed (wall clock) time",
        "User time (seconds)",
        "Maximum resident set size (kbytes)",
    ):
        found = re.search(rf"{re.escape(key)}[^\n]*?: (.+)", done.stderr)
        print(f"  {key}: {found.group(1) if found else '?'}")
    print(
        f"  model size: {sum(p.stat().st_size for p in out.glob('*.txt')) / 1024:.0f} KiB (one booster)"
    )


def train_child(argv: list[str]) -> int:
    """Run `signaldesk train` in this process (the benchmark's child under taskset)."""
    import jobs.train
    from signaldesk.settings import load_settings

    parser = argparse.ArgumentParser(prog="signaldesk train")
    jobs.train.add_arguments(parser)
    return jobs.train.run(parser.parse_args(argv), load_settings())


def main() -> int:
    """Print every figure."""
    if len(sys.argv) > 1 and sys.argv[1] == "train-child":
        return train_child(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-train", action="store_true", help="skip the full training run")
    args = parser.parse_args()
    bench_features_and_inference()
    if not args.skip_train:
        bench_train()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
