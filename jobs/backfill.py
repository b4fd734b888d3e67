"""`signaldesk backfill`: load 15-minute candles into `candles` from GMO klines (day by day) or from
a CSV file."""

from __future__ import annotations

import logging
import sys
from datetime import date
from pathlib import Path

from jobs.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, print_json
from signaldesk.candles import CandleError, find_gaps, read_candle_csv, save_candles
from signaldesk.settings import KNOWN_SYMBOLS
from signaldesk.storage import open_current_db

log = logging.getLogger("signaldesk.backfill")


def add_arguments(parser) -> None:
    """Add the options of `backfill`."""
    parser.add_argument(
        "--symbol", required=True, choices=KNOWN_SYMBOLS, help="desk symbol the candles belong to"
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--since",
        type=_day,
        metavar="YYYY-MM-DD",
        help="pull GMO 15-minute klines from this GMO trading day (06:00 JST; earliest 2021-04-15)",
    )
    source.add_argument(
        "--csv",
        type=Path,
        metavar="PATH",
        help="import a candle CSV (timestamp ms, open, high, low, close, volume; .gz allowed)",
    )
    parser.add_argument(
        "--until",
        type=_day,
        metavar="YYYY-MM-DD",
        help="last GMO trading day to pull (default: today; only closed candles are stored)",
    )
    parser.add_argument(
        "--interval",
        default="15m",
        choices=("1m", "5m", "15m", "1h"),
        help="candle interval of the CSV (GMO pulls are always 15m)",
    )
    parser.add_argument("--source", help="where the CSV candles come from (default: the file name)")
    parser.add_argument("--json", action="store_true", help="print a JSON summary as the last line")


def _day(text: str) -> date:
    """Parse YYYY-MM-DD for argparse."""
    import argparse

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a date like 2024-01-31") from None


def run(args, settings) -> int:
    """Run the GMO pull or the CSV import."""
    if args.csv is not None:
        if args.until is not None:
            print("backfill: --until goes with --since, not with --csv")
            return EXIT_USAGE
        return run_csv(args, settings)
    return run_gmo(args, settings)


def run_csv(args, settings) -> int:
    """Import the CSV idempotently, report gaps (never filled) and print a summary."""
    if not args.csv.is_file():
        print(f"backfill: {args.csv}: no such file")
        return EXIT_USAGE
    try:
        candles = read_candle_csv(args.csv)
    except CandleError as exc:
        print(f"backfill: {exc}")
        return EXIT_FAILED
    db = open_current_db(settings.db_path)
    try:
        added = save_candles(
            db, args.symbol, args.interval, candles, args.source or f"csv:{args.csv.name}"
        )
    finally:
        db.close()
    gaps = find_gaps([c.open_time for c in candles], args.interval)
    print(
        f"{args.symbol} {args.interval}: {len(candles)} candles read, {added} new, {len(gaps)} gap(s)"
    )
    for gap in gaps[:20]:
        print(f"  gap: {gap.missing} candle(s) missing after {gap.last_present:%Y-%m-%d %H:%M} UTC")
    if args.json:
        print_json({"symbol": args.symbol, "read": len(candles), "added": added, "gaps": len(gaps)})
    return EXIT_OK


def _progress(n: int, total: int, day: date, report) -> None:
    """Write plain-text progress to stderr (a line every 30 days and at the end)."""
    if n == total or n % 30 == 0 or sys.stderr.isatty():
        end = "\r" if sys.stderr.isatty() and n < total else "\n"
        print(
            f"backfill {report.symbol}: {n}/{total} days ({day}) +{report.added} candles, "
            f"{report.skipped} already complete",
            end=end,
            file=sys.stderr,
            flush=True,
        )


def run_gmo(args, settings) -> int:
    """Pull GMO 15-minute klines day by day (resumable, idempotent, rate-limited) and report
    gaps."""
    from signaldesk.clock import utc_now
    from signaldesk.exchange.errors import ExchangeError, Maintenance
    from signaldesk.exchange.factory import build_gmo, build_http
    from signaldesk.exchange.history import backfill_klines, check_range
    from signaldesk.exchange.tradingday import trading_day

    now = utc_now()
    until = args.until or trading_day(now)
    try:
        check_range(args.since, until, trading_day(now))
    except ValueError as exc:
        print(f"backfill: {exc}")
        return EXIT_USAGE
    db = open_current_db(settings.db_path)
    try:
        with build_http() as http:
            report = backfill_klines(
                build_gmo(settings, http), db, args.symbol, args.since, until, now, _progress
            )
    except Maintenance as exc:
        print(
            f"backfill: GMO is in maintenance, nothing more fetched; run again later (resumes where it stopped): {exc}"
        )
        return EXIT_FAILED
    except ExchangeError as exc:
        print(f"backfill: GMO request failed; run again to resume: {exc}")
        return EXIT_FAILED
    finally:
        db.close()
    _print_report(report, until)
    if args.json:
        print_json(
            {
                "symbol": report.symbol,
                "days": report.days,
                "skipped": report.skipped,
                "added": report.added,
                "empty_days": [str(d) for d in report.empty_days],
                "gaps": len(report.gaps),
            }
        )
    return EXIT_OK


def _print_report(report, until: date) -> None:
    """Print the summary, empty/short days and gaps."""
    print(
        f"{report.symbol} 15m from GMO: {report.days} trading day(s) to {until}, {report.skipped} already complete, "
        f"{report.added} new candles, {len(report.empty_days)} empty day(s), {len(report.gaps)} gap(s)"
    )
    for day in report.empty_days[:20]:
        print(f"  empty: GMO has no candles for trading day {day}")
    for day, count in report.short_days[:20]:
        print(f"  short: trading day {day} has {count}/96 candles")
    for gap in report.gaps[:20]:
        print(
            f"  gap: {gap.missing} candle(s) missing after {gap.last_present:%Y-%m-%d %H:%M} UTC (not filled)"
        )
