"""How much the desk held at once in a replay: the most trades open together per symbol and
direction, and the largest notional held (at entry prices) as a share of the starting equity.

Run after `./dev demo` (or a backtest):  .venv/bin/python bench/exposure_in_replay.py
var/demo/signaldesk-demo.sqlite3 It reads only the trades table: a trade holds size x entry price
from its entry to its exit.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from decimal import Decimal


def held_spans(db_path: str) -> list[tuple[str, str, str, str, Decimal]]:
    """Return (symbol, direction, from, to, notional) for every trade that held a position."""
    conn = sqlite3.connect(db_path)
    try:
        rows = conn.execute(
            "SELECT symbol, direction, entry_time, COALESCE(exit_time, '9999'), filled_size, entry_price "
            "FROM trades WHERE entry_time IS NOT NULL"
        ).fetchall()
    finally:
        conn.close()
    return [(s, d, a, b, Decimal(size) * Decimal(price)) for s, d, a, b, size, price in rows]


def peaks(spans, equity: Decimal) -> dict:
    """Return the most trades held together per symbol/direction and the largest notional share."""
    moments = sorted({a for _, _, a, _, _ in spans})
    most: dict[str, int] = {}
    top, top_at = Decimal(0), None
    for moment in moments:
        held = [x for x in spans if x[2] <= moment < x[3]]
        for symbol, direction, *_ in held:
            key = f"{symbol} {direction}"
            most[key] = max(most.get(key, 0), sum(1 for h in held if h[:2] == (symbol, direction)))
        total = sum((h[4] for h in held), Decimal(0))
        if total > top:
            top, top_at = total, moment
    return {
        "trades": len(spans),
        "most_held_together": most,
        "largest_notional_jpy": f"{top:.0f}",
        "largest_share_of_equity": f"{top / equity:.3f}",
        "at": top_at,
    }


def main() -> int:
    """Print the peaks of one replay database."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database")
    parser.add_argument("--equity", default="1000000", help="starting equity in JPY")
    args = parser.parse_args()
    print(json.dumps(peaks(held_spans(args.database), Decimal(args.equity)), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
