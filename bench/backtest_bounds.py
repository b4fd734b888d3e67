"""Bound: the least CPU a year of backtest could take if the remaining levers of issue 19 were taken,
each at its most optimistic.

    taskset -c 0 .venv/bin/python bench/backtest_bounds.py [--since 2024-07-01 --until 2025-07-01]
[--shared ../shared/data] [--freqtrade-seconds 9.77]

Runs the backtest CLI in this process (pinned to one core by `taskset`) and measures with process CPU time:

- the whole run (resource usage at the end: imports, load, replay, report and charts);
- the verdict rows: the fast path's `rows` stage (judging and building every row) plus
  `signals.insert_all` (writing them);
- the daily live-AUC check (`outcomes.trailing_auc`);
- management steps that wrote nothing, or only rewrote orders, paper orders and trades (no fill,
  no position, no balance, no fee): what a rule that skips steps where nothing can happen could save
  at most (trailing stops also write only those tables, so this overstates the saving).

Then it measures the floor of the rows themselves on the run's own database: every stored row made
again in Python (14 reason dicts, the numbers a rule formats, orjson) and inserted into a fresh
migrated database with its indexes, in the flushes' batch size. The bound is the whole run minus
what each lever saves at most: rows and inserts down to that floor, the AUC check and the idle
management steps down to nothing; a second bound also drops the rows' floor (verdict rows free).
Real data only (../shared/data). The wrappers add a little to the figures they measure, which makes
the bound lower, not higher.
"""

from __future__ import annotations

import argparse
import json
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SKIPPABLE = {"orders", "paper_orders", "trades"}  # tables an unchanged step rewrites
BATCH = 192  # rows per flush on a quiet day: 96 steps x 2 symbols


def cpu() -> float:
    """Return this process's CPU seconds so far (user + system)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Meter:
    """CPU seconds spent in wrapped functions, by name."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}

    def add(self, name: str, seconds: float) -> None:
        """Add one call's CPU time to a name."""
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds
        self.calls[name] = self.calls.get(name, 0) + 1

    def wrap(self, owner, attribute: str, name: str) -> None:
        """Replace owner.attribute by a wrapper that meters it."""
        original = getattr(owner, attribute)

        def metered(*args, **kwargs):
            started = time.process_time()
            try:
                return original(*args, **kwargs)
            finally:
                self.add(name, time.process_time() - started)

        setattr(owner, attribute, metered)


def written_tables(sql: str) -> str | None:
    """Return the table an INSERT, UPDATE or DELETE writes, else None."""
    words = sql.split()
    if not words or words[0].upper() not in ("INSERT", "UPDATE", "DELETE", "REPLACE"):
        return None
    for before, word in zip(words, words[1:], strict=False):
        if before.upper() in ("INTO", "UPDATE", "FROM"):
            return word.strip("([")
    return None


def meter_management(meter: Meter) -> None:
    """Meter the desk's management steps by what they wrote: nothing, only repeats, or more."""
    from signaldesk.backtest import engine

    original = engine.PolicyDesk.manage

    def manage(self, now):
        tables: set[str] = set()
        self.db.conn.set_trace_callback(lambda sql: tables.add(written_tables(sql) or ""))
        before, started = self.db.conn.total_changes, time.process_time()
        try:
            original(self, now)
        finally:
            seconds = time.process_time() - started
            self.db.conn.set_trace_callback(None)
        tables.discard("")
        if self.db.conn.total_changes == before:
            meter.add("manage: wrote nothing", seconds)
        elif tables <= SKIPPABLE:
            meter.add("manage: only rewrote orders/trades", seconds)
        else:
            meter.add("manage: acted", seconds)

    engine.PolicyDesk.manage = manage


def run_year(since: str, until: str, shared: Path, out: Path, meter: Meter) -> dict:
    """Run the backtest CLI in this process with the meters on; return its summary.json."""
    from signaldesk import outcomes, signals

    meter.wrap(signals, "insert_all", "insert rows")  # the rows stage is timed by the fast path
    meter.wrap(outcomes, "trailing_auc", "live AUC check")
    meter_management(meter)
    from jobs.cli import run_command

    code = run_command([
        "backtest", "--since", since, "--until", until, "--candles", str(shared),
        "--approve", "all", "--out", str(out), "--quiet",
    ])  # fmt: skip
    if code != 0:
        sys.exit(f"backtest failed with exit code {code}")
    return json.loads((out / "summary.json").read_text())


def row_floor(source: Path, scratch: Path) -> tuple[int, float]:
    """Return (rows, CPU seconds) to make every stored verdict row again in Python and insert it."""
    import orjson

    from signaldesk.storage import apply_migrations, open_db

    with sqlite3.connect(source) as db:
        columns = [r[1] for r in db.execute("PRAGMA table_info(signals)")][1:]
        stored = db.execute(f"SELECT {', '.join(columns)} FROM signals ORDER BY id").fetchall()
    at = {name: n for n, name in enumerate(columns)}
    parsed = [
        (row, orjson.loads(row[at["reasons"]]), orjson.loads(row[at["features"]])) for row in stored
    ]
    target = open_db(scratch)
    target.execute("PRAGMA journal_mode = MEMORY")
    target.execute("PRAGMA synchronous = OFF")
    apply_migrations(target)
    sql = (
        f"INSERT INTO signals ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
        "ON CONFLICT (symbol, candle_time) DO NOTHING"
    )
    started = time.process_time()
    batch: list[list] = []
    formatted = 0  # characters of the numbers a rule formats (made, as the live rules make them)
    for row, reasons, features in parsed:
        numbers = [row[at[c]] or 0.0 for c in ("confidence", "prob_short", "confidence_rank")]
        words = [f"{numbers[0]:.3f}", f"{numbers[1]:.3f}", f"{numbers[2]:.1%}"]
        words += [f"{features.get('volume_ratio', 0.0):.0%}", f"{0.618:.3f}", f"{4.3:.2f}"]
        formatted += sum(map(len, words))
        made = [{"rule": c["rule"], "ok": c["ok"], "detail": f"{c['detail']}"} for c in reasons]
        values = list(row)
        values[at["reasons"]] = orjson.dumps(made).decode()
        values[at["features"]] = orjson.dumps(features).decode()
        batch.append(values)
        if len(batch) == BATCH:
            target.conn.executemany(sql, batch)
            target.conn.commit()
            batch = []
    target.conn.executemany(sql, batch)
    target.conn.commit()
    seconds = time.process_time() - started
    target.conn.close()
    return len(parsed), seconds


def main() -> None:
    """Run the year with meters, measure the row floor, print the bound."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--since", default="2024-07-01")
    parser.add_argument("--until", default="2025-07-01")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--freqtrade-seconds", type=float, default=None)
    args = parser.parse_args()
    meter = Meter()
    with tempfile.TemporaryDirectory(prefix="bounds-") as folder:
        out = Path(folder) / "out"
        summary = run_year(args.since, args.until, args.shared, out, meter)
        whole = cpu()
        rows, floor = row_floor(out / "backtest.sqlite3", Path(folder) / "floor.sqlite3")
    stages = summary["meta"]["timings_seconds"]
    print(f"whole run: {whole:.2f} s CPU (in one process, meters on)")
    for name in sorted(meter.seconds):
        print(f"  {name:38} {meter.seconds[name]:6.2f} s in {meter.calls[name]:6} calls")
    print(f"  {'rows stage (judge and build)':38} {stages['rows']:6.2f} s")
    rows_now = stages["rows"] + meter.seconds.get("insert rows", 0.0)
    idle = meter.seconds.get("manage: wrote nothing", 0.0)
    idle += meter.seconds.get("manage: only rewrote orders/trades", 0.0)
    savings = {
        "rows at their floor": rows_now - floor,
        "no live-AUC check": meter.seconds.get("live AUC check", 0.0),
        "no idle management step": idle,
    }
    print(f"row floor: {rows} rows made again and inserted in {floor:.2f} s "
          f"({floor / max(rows, 1) * 1e6:.1f} us a row); now {rows_now:.2f} s")  # fmt: skip
    for name, saved in savings.items():
        print(f"  saves at most {saved:6.2f} s: {name}")
    bounds = {
        "every lever taken": whole - sum(savings.values()),
        "... and verdict rows costing nothing": whole - sum(savings.values()) - floor,
    }
    for name, bound in bounds.items():
        ratio = (
            f", {bound / args.freqtrade_seconds:.2f}x freqtrade" if args.freqtrade_seconds else ""
        )
        print(f"bound: {bound:.2f} s CPU for the year with {name}{ratio}")


if __name__ == "__main__":
    main()
