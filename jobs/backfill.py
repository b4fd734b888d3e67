"""`signaldesk backfill`: load 15-minute candles into the `candles` table from a CSV file in the shared format."""

from __future__ import annotations

import logging
from pathlib import Path

from jobs.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, print_json
from signaldesk.candles import CandleError, find_gaps, read_candle_csv, save_candles
from signaldesk.settings import KNOWN_SYMBOLS
from signaldesk.storage import open_current_db

log = logging.getLogger("signaldesk.backfill")


def add_arguments(parser) -> None:
    """Add the options of `backfill`."""
    parser.add_argument("--symbol", required=True, choices=KNOWN_SYMBOLS, help="desk symbol the candles belong to")
    parser.add_argument("--csv", type=Path, required=True, metavar="PATH",
                        help="import a candle CSV (timestamp ms, open, high, low, close, volume; .gz allowed)")
    parser.add_argument("--interval", default="15m", choices=("1m", "5m", "15m", "1h"), help="candle interval")
    parser.add_argument("--source", help="where the candles come from (default: the file name)")
    parser.add_argument("--json", action="store_true", help="print a JSON summary as the last line")


def run(args, settings) -> int:
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
        added = save_candles(db, args.symbol, args.interval, candles, args.source or f"csv:{args.csv.name}")
    finally:
        db.close()
    gaps = find_gaps([c.open_time for c in candles], args.interval)
    print(f"{args.symbol} {args.interval}: {len(candles)} candles read, {added} new, {len(gaps)} gap(s)")
    for gap in gaps[:20]:
        print(f"  gap: {gap.missing} candle(s) missing after {gap.last_present:%Y-%m-%d %H:%M} UTC")
    if args.json:
        print_json({"symbol": args.symbol, "read": len(candles), "added": added, "gaps": len(gaps)})
    return EXIT_OK
