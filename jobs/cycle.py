"""`signaldesk cycle`: the 15-minute batch job (cron), or `--replay` over stored candles offline."""

from __future__ import annotations

import fcntl
import logging
import time
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from jobs.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, print_json, utc_time
from signaldesk.clock import floor_to, utc_now
from signaldesk.exchange.feed import REPLAY_SPREAD_BPS

log = logging.getLogger("signaldesk.cycle")
EXIT_AT_ONCE = (
    True  # run from cron every 15 minutes: end without interpreter teardown (jobs.cli.exit_at_once)
)


def add_arguments(parser) -> None:
    """Add the options of `cycle`."""
    parser.add_argument(
        "--replay",
        action="store_true",
        help="run one cycle per stored 15m candle in [--since, --until) offline, with the paper "
        "exchange over the recorded candles",
    )
    parser.add_argument("--since", type=utc_time, help="replay start, YYYY-MM-DD or ISO time (UTC)")
    parser.add_argument(
        "--until", type=utc_time, help="replay end (exclusive), YYYY-MM-DD or ISO time (UTC)"
    )
    parser.add_argument(
        "--at",
        type=utc_time,
        metavar="TIME",
        help="run as if the clock read TIME (ISO, UTC): for benchmarks and staging against fakes; "
        "never needed in production",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON summary as the last line")


@contextmanager
def cycle_lock(path: Path):
    """Hold an exclusive non-blocking lock; yield False when another cycle holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run(args, settings) -> int:
    """Run one live cycle under the lock, or replay cycles over stored candles."""
    if args.replay:
        if not (args.since and args.until and args.since < args.until):
            print(
                "cycle --replay needs --since and --until with since < until, e.g. --since 2025-06-01 "
                "--until 2025-06-02"
            )
            return EXIT_USAGE
        return replay(settings, args.since, args.until, args.json)
    with cycle_lock(settings.db_path.with_name(settings.db_path.name + ".cycle.lock")) as locked:
        if not locked:
            log.info("another cycle is still running; this one exits")
            return EXIT_OK
        return live(settings, args.json, args.at)


def wait_for_publication(delay_seconds: int, now: datetime) -> datetime:
    """Sleep until the newest 15-minute candle is closed and published; return the new now."""
    ready = floor_to(now, 15) + timedelta(seconds=delay_seconds)
    if now < ready:
        time.sleep((ready - now).total_seconds())
        return utc_now()
    return now


def live(settings, as_json: bool, at: datetime | None = None) -> int:
    """Run the cycle for the newest closed candle against the configured exchange (live or
    paper)."""
    import signaldesk.exchange.factory  # noqa: F401 — imported up front so the benchmark can split import time
    import signaldesk.features  # noqa: F401
    import signaldesk.model.inference  # noqa: F401
    from signaldesk.cycle_job import run_live_cycle
    from signaldesk.golive import live_refusal
    from signaldesk.storage import open_current_db

    # CPU of interpreter start-up and every import the cycle needs
    startup_cpu = time.process_time()
    db = open_current_db(settings.db_path)
    try:
        refusal = live_refusal(db, settings)
        if refusal:
            print(f"signaldesk cycle: {refusal}")
            return EXIT_USAGE
        now = at or wait_for_publication(settings.strategy.candle_publish_delay_seconds, utc_now())
        outcome = run_live_cycle(db, settings, now)
    finally:
        db.close()
    outcome.summary["startup_cpu_seconds"] = round(startup_cpu, 3)
    log.info(outcome.line)  # on stdout for cron's log, and in the rotated cycle.log
    if as_json:
        print_json(outcome.summary)
    return EXIT_OK if outcome.ok else EXIT_FAILED


def replay(settings, since: datetime, until: datetime, as_json: bool) -> int:
    """Replay cycles over stored candles (offline, paper exchange on recorded candles)."""
    from signaldesk.cycle_job import run_replay
    from signaldesk.storage import open_current_db

    db = open_current_db(settings.db_path)
    try:
        outcome = run_replay(db, settings, since, until, REPLAY_SPREAD_BPS)
    finally:
        db.close()
    log.info(outcome.line)  # on stdout for cron's log, and in the rotated cycle.log
    if as_json:
        print_json(outcome.summary)
    return EXIT_OK if outcome.ok else EXIT_FAILED
