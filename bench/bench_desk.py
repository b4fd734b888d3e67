"""Benchmark: the whole desk at once on one core — bot, listener and cycles together — RSS against
the 400 MB budget.

Run:   .venv/bin/python bench/bench_desk.py [--cycles 3] [--rate 500] [--idle 5]

The three processes run as they do on the VPS, each its own interpreter, all pinned to core 0 with
`taskset -c 0` and each under `/usr/bin/time -v` (peak RSS, CPU). They share one SQLite file:
- `signaldesk bot` in live mode against the fake Telegram Bot API and the fake GMO (execution wired,
  two pending signals to announce, then idle polling);
- `signaldesk listen` against the fake Bybit stream, fed `--rate` liquidation pushes per second
  throughout;
- `signaldesk cycle --at T` run `--cycles` times in a row (consecutive candles) against the fake GMO
  serving the bundled real klines, the database prepared like bench_cycle.py (candles cached up to
  the previous candle).
The fakes and the sampler run in this process, moved off core 0 when the machine has another core.
While the processes run, the sampler adds up their RSS (and PSS, which splits shared library pages
fairly) every 20 ms. Budget (ARCHITECTURE.md §8): all three at once <= 400 MB. Nothing leaves
127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_bot import ALICE, TOKEN, seed  # noqa: E402
from bench_cycle import AT, prepare  # noqa: E402
from bench_listener import frames  # noqa: E402

from signaldesk.storage import open_db  # noqa: E402
from tests.fakes.bybit_server import FakeBybit  # noqa: E402
from tests.fakes.gmo_server import FakeGmo  # noqa: E402
from tests.fakes.telegram_server import FakeTelegram, fixture  # noqa: E402

BUDGET_MB = 400
SAMPLE_SECONDS = 0.02
# The bundled klines are Binance USDT prices (see bench_cycle.py); the books sit at those levels.
BOOKS = {"BTC_JPY": ("109600", "109610"), "ETH_JPY": ("2700.00", "2700.50")}
SEEDS = {"BTC_JPY": ("109610", "300"), "ETH_JPY": ("2700", "15")}
CORE = "0"


def timed(name: str, argv: list[str], env: dict, workdir: Path) -> subprocess.Popen:
    """Start `taskset -c 0 /usr/bin/time -v -o <name>.time <argv>`; output goes to <name>.out."""
    cmd = ["taskset", "-c", CORE, "/usr/bin/time", "-v", "-o", str(workdir / f"{name}.time"), *argv]
    return subprocess.Popen(
        cmd,
        env=env,
        cwd=workdir,
        stdout=open(workdir / f"{name}.out", "w"),
        stderr=subprocess.STDOUT,
    )


def worker_pid(wrapper: subprocess.Popen, timeout: float = 10.0) -> int:
    """Return the pid of the process /usr/bin/time started (its only child)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == wrapper.pid:
                return int(stat.parent.name)
        time.sleep(0.005)
    raise SystemExit(f"bench_desk: no child of /usr/bin/time pid {wrapper.pid}")


def memory_mb(pid: int) -> tuple[float, float]:
    """Return (RSS, PSS) of a process in MB, (0, 0) once it is gone."""
    try:
        rss = next(
            int(line.split()[1])
            for line in Path(f"/proc/{pid}/status").read_text().splitlines()
            if line.startswith("VmRSS:")
        )
        pss = next(
            int(line.split()[1])
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
            if line.startswith("Pss:")
        )
    except (OSError, StopIteration):
        return 0.0, 0.0
    return rss / 1024, pss / 1024


def time_report(path: Path) -> dict:
    """Return peak RSS (MB), CPU seconds, wall time and exit status from a `/usr/bin/time -v`
    report."""
    text = path.read_text()
    number = lambda label: float(re.search(re.escape(label) + r": ([\d.]+)", text).group(1))  # noqa: E731
    return {
        "peak_mb": number("Maximum resident set size (kbytes)") / 1024,
        "cpu_s": number("User time (seconds)") + number("System time (seconds)"),
        "wall": re.search(
            r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", text
        ).group(1),
        "exit": int(number("Exit status")),
    }


class Sampler:
    """Adds up the memory of the desk's live processes every 20 ms and keeps the largest totals."""

    def __init__(self):
        self.pids: dict[str, int] = {}
        self.peak_rss = self.peak_pss = 0.0
        self.peak_parts: dict[str, float] = {}
        self.samples = 0

    def sample(self) -> None:
        """Take one sample of every live process."""
        figures = {name: memory_mb(pid) for name, pid in self.pids.items()}
        rss = sum(r for r, _ in figures.values())
        self.peak_pss = max(self.peak_pss, sum(p for _, p in figures.values()))
        if rss > self.peak_rss:
            self.peak_rss, self.peak_parts = rss, {n: r for n, (r, _) in figures.items()}
        self.samples += 1

    async def run(self) -> None:
        """Sample until cancelled."""
        while True:
            self.sample()
            await asyncio.sleep(SAMPLE_SECONDS)


async def feed(fake: FakeBybit, rate: int, pushed: dict) -> None:
    """Push about `rate` liquidation frames per second in 20 bursts per second until cancelled;
    count them."""
    burst = frames(max(1, rate // 20))
    while True:
        for text in burst:
            await fake.push(text)
        pushed["frames"] += len(burst)
        await asyncio.sleep(0.05)


def environment(workdir: Path, gmo: FakeGmo, telegram: FakeTelegram, bybit: FakeBybit) -> dict:
    """Return the children's environment: one database, the fakes' URLs, placeholder secrets, live
    mode."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SIGNALDESK_", "GMO_", "TELEGRAM_", "BYBIT_"))
    }
    env.update(
        PYTHONPATH=str(ROOT),
        SIGNALDESK_DB=str(workdir / "desk.sqlite3"),
        SIGNALDESK_LOG_DIR=str(workdir / "log"),
        SIGNALDESK_MODE="live",
        GMO_API_KEY=gmo.api_key,
        GMO_API_SECRET=gmo.api_secret,
        GMO_PUBLIC_URL=gmo.public_url,
        GMO_PRIVATE_URL=gmo.private_url,
        GMO_WS_PRIVATE_URL=gmo.ws_private_url,  # the fake's private stream, never GMO's
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_CHAT_ID=str(ALICE),
        TELEGRAM_USER_IDS=str(ALICE),
        TELEGRAM_API_URL=telegram.url,
        BYBIT_WS_URL=bybit.url,
    )
    return env


async def wait_for(condition, timeout: float, what: str) -> None:
    """Wait until condition() holds; stop the bench naming what did not happen."""
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise SystemExit(f"bench_desk: timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def run_cycles(count: int, env: dict, workdir: Path, sampler: Sampler) -> list[dict]:
    """Run `count` cycles one after another on consecutive candles; return each one's /usr/bin/time
    figures."""
    results = []
    for i in range(count):
        at = AT + timedelta(minutes=15 * i)
        wrapper = timed(
            f"cycle{i}",
            [str(ROOT / ".venv/bin/signaldesk"), "cycle", "--at", at.isoformat(), "--json"],
            env,
            workdir,
        )
        sampler.pids["cycle"] = worker_pid(wrapper)
        while wrapper.poll() is None:
            await asyncio.sleep(0.01)
        sampler.pids.pop("cycle")
        results.append(time_report(workdir / f"cycle{i}.time"))
    return results


async def stop(wrapper: subprocess.Popen, pid: int) -> None:
    """SIGTERM the process (not /usr/bin/time, which does not pass it on) and wait for the
    report."""
    os.kill(pid, signal.SIGTERM)
    await wait_for(lambda: wrapper.poll() is not None, 30, f"pid {pid} to exit on SIGTERM")


async def bench(args, workdir: Path) -> dict:
    """Run the three processes together and return the figures."""
    prepare(workdir / "desk.sqlite3")
    db = open_db(workdir / "desk.sqlite3")
    for symbol, (close, atr) in SEEDS.items():
        seed(db, symbol, close, atr)
    db.close()
    with FakeGmo() as gmo:
        gmo.load_bundled_klines()
        for symbol, (bid, ask) in BOOKS.items():
            gmo.set_book(symbol, bid, ask)
        telegram = FakeTelegram(TOKEN, fixture("getMe.json")["result"])
        try:
            async with FakeBybit() as bybit:
                return await run_desk(
                    args, workdir, environment(workdir, gmo, telegram, bybit), telegram, bybit
                )
        finally:
            telegram.close()


async def run_desk(
    args, workdir: Path, env: dict, telegram: FakeTelegram, bybit: FakeBybit
) -> dict:
    """Start bot and listener, let them settle under load, run the cycles, stop everything; return
    the figures."""
    sampler = Sampler()
    daemons = {
        name: timed(name, [sys.executable, "-m", "jobs.cli", command], env, workdir)
        for name, command in (("bot", "bot"), ("listener", "listen"))
    }
    sampler.pids.update({name: worker_pid(w) for name, w in daemons.items()})
    sampling = asyncio.create_task(sampler.run())
    await wait_for(
        lambda: len(telegram.calls_to("sendMessage")) >= len(SEEDS), 60, "the bot's announcements"
    )
    await wait_for(lambda: bybit.ops("subscribe"), 60, "the listener's subscription")
    pushed, fed_from = {"frames": 0}, time.monotonic()
    feeding = asyncio.create_task(feed(bybit, args.rate, pushed))
    await asyncio.sleep(args.idle)
    idle = {name: memory_mb(pid)[0] for name, pid in sampler.pids.items()}
    cycles = await run_cycles(args.cycles, env, workdir, sampler)
    feeding.cancel()
    pushed["seconds"] = time.monotonic() - fed_from
    for name, wrapper in daemons.items():
        await stop(wrapper, sampler.pids[name])
    sampling.cancel()
    return {
        "idle": idle,
        "sampler": sampler,
        "cycles": cycles,
        "pushed": pushed,
        "daemons": {name: time_report(workdir / f"{name}.time") for name in daemons},
    }


def report(figures: dict, args) -> int:
    """Print the table and the verdict; return 0 within budget, 1 over it."""
    sampler, daemons, cycles = figures["sampler"], figures["daemons"], figures["cycles"]
    worst = max(cycles, key=lambda c: c["peak_mb"])
    pushed = figures["pushed"]
    print(
        f"signaldesk desk on one core (taskset -c {CORE}): bot + listener + {len(cycles)} cycles; listener fed "
        f"{pushed['frames']} pushes ({3 * pushed['frames']} liquidations) in {pushed['seconds']:.1f} s "
        f"({pushed['frames'] / pushed['seconds']:.0f} pushes/s); {sampler.samples} samples every "
        f"{SAMPLE_SECONDS * 1000:.0f} ms"
    )
    print(
        f"{'process':<10} {'idle RSS MB':>11} {'peak RSS MB':>11} {'CPU s':>7} {'wall':>8} {'exit':>4}  budget"
    )
    budgets = {"bot": "100 MB idle", "listener": "60 MB", "cycle": "250 MB, 1.5 s CPU"}
    for name, r in daemons.items():
        print(
            f"{name:<10} {figures['idle'][name]:>11.1f} {r['peak_mb']:>11.1f} {r['cpu_s']:>7.2f} {r['wall']:>8} "
            f"{r['exit']:>4}  {budgets[name]}"
        )
    for i, r in enumerate(cycles, 1):
        print(
            f"{f'cycle {i}':<10} {'':>11} {r['peak_mb']:>11.1f} {r['cpu_s']:>7.2f} {r['wall']:>8} {r['exit']:>4}  "
            f"{budgets['cycle']}"
        )
    bound = sum(r["peak_mb"] for r in daemons.values()) + worst["peak_mb"]
    parts = ", ".join(f"{n} {v:.0f}" for n, v in sampler.peak_parts.items())
    print(
        f"combined RSS, sampled peak: {sampler.peak_rss:.1f} MB ({parts}); PSS {sampler.peak_pss:.1f} MB"
    )
    print(f"sum of the peaks (bot + listener + worst cycle, an upper bound): {bound:.1f} MB")
    verdict = "within" if max(bound, sampler.peak_rss) <= BUDGET_MB else "OVER"
    print(f"budget all three at once: {BUDGET_MB} MB -> {verdict} budget")
    failed = [
        n
        for n, r in {**daemons, **{f"cycle {i}": c for i, c in enumerate(cycles, 1)}}.items()
        if r["exit"]
    ]
    if failed:
        print(f"non-zero exit: {', '.join(failed)} (see the .out files)")
    return 0 if verdict == "within" and not failed else 1


def move_off_core() -> None:
    """Run the fakes and the sampler on the other cores, when there are any, so they do not steal
    core 0."""
    others = set(range(os.cpu_count() or 1)) - {int(CORE)}
    if others:
        os.sched_setaffinity(0, others)


def main() -> int:
    """Parse options, run the bench in a temp directory and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cycles", type=int, default=3, help="cycles to run while the daemons run (default 3)"
    )
    parser.add_argument(
        "--rate", type=int, default=500, help="liquidation pushes per second to the listener"
    )
    parser.add_argument(
        "--idle", type=float, default=5.0, help="seconds of daemons alone under load before cycles"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the work folder (logs, /usr/bin/time reports)"
    )
    args = parser.parse_args()
    move_off_core()
    workdir = Path(tempfile.mkdtemp(prefix="bench_desk_"))
    figures = asyncio.run(bench(args, workdir))
    code = report(figures, args)
    if args.keep:
        print(f"work folder: {workdir}")
    else:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
