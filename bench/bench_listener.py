"""Benchmark `signaldesk listen` as a real process against the local fake Bybit stream: RSS and
messages per second.

Run on one core:   taskset -c 0 .venv/bin/python bench/bench_listener.py The listener child stays on
the core(s) the bench was started on; the fake server moves to another core when the machine has
one, so it does not steal the listener's CPU. Budget (ARCHITECTURE.md §8): <= 60 MB RSS and 2,000
messages/s sustained on one core.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from signaldesk.storage import apply_migrations, open_db  # noqa: E402
from tests.fakes.bybit_server import FakeBybit, liquidation_push  # noqa: E402

LISTEN = ["-m", "jobs.cli", "listen"]
TICKS = os.sysconf("SC_CLK_TCK")
ENTRIES = [
    ("Buy", "0.512", "86012.40"),
    ("Buy", "1.200", "85990.10"),
    ("Sell", "0.004", "86150.00"),
]


def cpu_seconds(pid: int) -> float:
    """Return user + system CPU seconds used by a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def memory_mb(pid: int) -> tuple[float, float]:
    """Return (current RSS, peak RSS) of a process in MB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            values[line.split(":")[0]] = int(line.split()[1]) / 1024
    return values["VmRSS"], values["VmHWM"]


def frames(count: int) -> list[str]:
    """Return `count` pushes of three liquidations each (the batch fixture's values), timed now."""
    now_ms = int(time.time() * 1000)
    return [
        json.dumps(liquidation_push("BTCUSDT" if i % 2 else "ETHUSDT", ENTRIES, now_ms + i))
        for i in range(count)
    ]


async def paced(fake: FakeBybit, pid: int, rate: int, seconds: float) -> dict:
    """Push `rate` frames/s in 20 bursts per second; return the listener's CPU share and RSS
    meanwhile."""
    loop = asyncio.get_running_loop()
    burst = rate // 20
    texts = frames(burst)
    cpu0, start, rss_max = cpu_seconds(pid), loop.time(), 0.0
    for tick in range(int(seconds * 20)):
        for text in texts:
            await fake.push(text)
        rss_max = max(rss_max, memory_mb(pid)[0])
        await asyncio.sleep(max(0.0, start + (tick + 1) / 20 - loop.time()))
    wall = loop.time() - start
    return {
        "frames": burst * int(seconds * 20),
        "wall": wall,
        "cpu": cpu_seconds(pid) - cpu0,
        "rss_max": rss_max,
    }


async def flat_out(fake: FakeBybit, pid: int, count: int) -> dict:
    """Push `count` frames as fast as the socket takes them; return wall time until the listener is
    idle again."""
    texts = frames(count)
    cpu0, start = cpu_seconds(pid), time.monotonic()
    for text in texts:
        await fake.push(text)
    last, idle_since = cpu_seconds(pid), time.monotonic()
    while time.monotonic() - idle_since < 0.3:  # done when the listener burnt no CPU for 0.3 s
        await asyncio.sleep(0.05)
        now_cpu = cpu_seconds(pid)
        if now_cpu != last:
            last, idle_since = now_cpu, time.monotonic()
    return {"frames": count, "wall": idle_since - start, "cpu": last - cpu0}


def start_listener(workdir: Path, db_path: Path, url: str) -> subprocess.Popen:
    """Start `signaldesk listen` as a child process pointed at the fake and the temp database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIGNALDESK_", "BYBIT_"))}
    env.update(
        PYTHONPATH=str(ROOT),
        SIGNALDESK_DB=str(db_path),
        SIGNALDESK_LOG_DIR=str(workdir / "log"),
        BYBIT_WS_URL=url,
    )
    return subprocess.Popen(
        [sys.executable, *LISTEN],
        cwd=workdir,
        env=env,
        stdout=open(workdir / "listener.out", "w"),
        stderr=subprocess.STDOUT,
    )


def move_off_listener_core(listener_cores: set[int]) -> set[int]:
    """Pin this (server) process to cores the listener does not use, when there are any; return our
    cores."""
    others = set(range(os.cpu_count() or 1)) - listener_cores
    if others:
        os.sched_setaffinity(0, others)
    return os.sched_getaffinity(0)


async def bench(args, workdir: Path) -> None:
    """Run the phases and print the figures."""
    db_path = workdir / "bench.sqlite3"
    db = open_db(db_path)
    apply_migrations(db)
    db.close()
    async with FakeBybit() as fake:
        child = start_listener(workdir, db_path, fake.url)
        listener_cores = os.sched_getaffinity(0)
        server_cores = move_off_listener_core(listener_cores)
        print(
            f"listener pid {child.pid} on cores {sorted(listener_cores)}; fake server on {sorted(server_cores)}"
        )
        started = time.monotonic()
        await fake.wait_until(lambda: fake.ops("subscribe"), timeout=60)
        print(
            f"subscribed after {time.monotonic() - started:.2f} s (process start + imports + connect)"
        )
        await asyncio.sleep(2)
        print(f"idle after start:       RSS {memory_mb(child.pid)[0]:.1f} MB")
        result = await paced(fake, child.pid, args.rate, args.seconds)
        rss_now, rss_peak = memory_mb(child.pid)
        print(
            f"paced {args.rate} frames/s x {args.seconds:g} s ({result['frames']} frames, "
            f"{3 * result['frames']} liquidations): listener CPU {result['cpu'] / result['wall']:.1%} of one core, "
            f"RSS max {result['rss_max']:.1f} MB"
        )
        burst = await flat_out(fake, child.pid, args.burst)
        print(
            f"flat out {burst['frames']} frames: {burst['frames'] / burst['wall']:,.0f} frames/s wall, "
            f"{burst['frames'] / burst['cpu']:,.0f} frames per listener CPU-second"
        )
        rss_now, rss_peak = memory_mb(child.pid)
        print(
            f"steady state after load: RSS {rss_now:.1f} MB, peak (VmHWM) {rss_peak:.1f} MB (budget 60 MB)"
        )
        child.send_signal(signal.SIGTERM)
        code = child.wait(timeout=30)
    sent = 3 * (result["frames"] + burst["frames"])
    with sqlite3.connect(db_path) as conn:
        stored = conn.execute("SELECT COALESCE(SUM(count), 0) FROM liquidation_minutes").fetchone()[
            0
        ]
    print(f"listener exit code {code}; liquidations stored {stored} of {sent} sent")


def main() -> None:
    """Parse options and run the benchmark in a temp directory."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rate", type=int, default=2000, help="paced frames per second (default 2000)"
    )
    parser.add_argument(
        "--seconds", type=float, default=20, help="length of the paced phase (default 20)"
    )
    parser.add_argument(
        "--burst", type=int, default=40000, help="frames pushed flat out (default 40000)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_listener_") as tmp:
        asyncio.run(bench(args, Path(tmp)))


if __name__ == "__main__":
    main()
