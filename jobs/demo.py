"""`signaldesk demo`: build a fresh database from the bundled real candles and show what the desk holds."""

from __future__ import annotations

from pathlib import Path

from jobs.cli import EXIT_OK, print_json
from signaldesk.candles import candle_summary, find_gaps, load_candles, read_candle_csv, save_candles
from signaldesk.storage import apply_migrations, open_db

BUNDLED = {
    "BTC_JPY": ("btcusdt_binance_15m_2025-04_2025-06.csv.gz", "binance:BTCUSDT 15m (proxy for BTC_JPY)"),
    "ETH_JPY": ("ethusdt_binance_15m_2025-04_2025-06.csv.gz", "binance:ETHUSDT 15m (proxy for ETH_JPY)"),
}


def add_arguments(parser) -> None:
    """Add the options of `demo`."""
    parser.add_argument("--db", type=Path, help="demo database file (default: var/demo/signaldesk-demo.sqlite3, "
                                                "recreated on every run)")
    parser.add_argument("--json", action="store_true", help="print a JSON summary as the last line")


def demo_db_path(settings, requested: Path | None) -> Path:
    """Return the demo database path, kept apart from the real one."""
    return requested or settings.db_path.parent / "demo" / "signaldesk-demo.sqlite3"


def run(args, settings) -> int:
    """Create a fresh demo database, import the bundled candles and print what it holds."""
    path = demo_db_path(settings, args.db)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    db = open_db(path)
    try:
        applied = apply_migrations(db)
        print(f"signaldesk demo: fresh database {path} ({len(applied)} migrations applied), paper mode, offline")
        for symbol, (file_name, source) in BUNDLED.items():
            candles = read_candle_csv(settings.data_dir / file_name)
            save_candles(db, symbol, "15m", candles, source)
        summary = candle_summary(db)
        for row in summary:
            stored = load_candles(db, row["symbol"], row["interval"])
            gaps = find_gaps([c.open_time for c in stored], row["interval"])
            row["gaps"], row["last_close"] = len(gaps), str(stored[-1].close)
            print(f"  {row['symbol']:8} {row['interval']:4} {row['rows']:6} candles  {row['first'][:16]} .. "
                  f"{row['last'][:16]} UTC  last close {row['last_close']}  gaps {row['gaps']}  [{row['sources']}]")
    finally:
        db.close()
    print(f"database left at {path}")
    if args.json:
        print_json({"db": str(path), "candles": summary})
    return EXIT_OK
