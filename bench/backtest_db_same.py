"""Compare two backtest databases table by table, every row in order; print the first difference of
each table that differs, then SAME or how many tables differ (exit 1).

    python3 bench/backtest_db_same.py A/backtest.sqlite3 B/backtest.sqlite3

Wall-clock times of the run itself (today's date: migrations applied, candles fetched) are masked
and JSON text is compared by its value, so two runs of the same replay compare SAME. Used to show
that a performance change leaves every row of a backtest unchanged (issue 19). Verdict reasons name
the news-calendar path of the checkout: compare runs made from the same folder.
"""

from __future__ import annotations

import datetime
import json
import re
import sqlite3
import sys

WALL = re.compile(datetime.datetime.now(datetime.UTC).date().isoformat() + r"[T ][0-9:.]+\+00:00")


def cell(value):
    """Return a value as compared: wall-clock times masked, JSON text by its value."""
    if not isinstance(value, str):
        return value
    value = WALL.sub("<wall>", value)
    if value[:1] in ("[", "{"):
        try:
            return ("json", json.dumps(json.loads(value)))
        except ValueError:
            pass
    return value


def rows_of(db: sqlite3.Connection, table: str, order: str) -> list[tuple]:
    """Return a table's rows as compared, in `order`."""
    return [tuple(map(cell, r)) for r in db.execute(f"SELECT * FROM [{table}] ORDER BY {order}")]


def order_of(db: sqlite3.Connection, table: str) -> str:
    """Return how a table's rows are ordered: by rowid, or by every column without one."""
    rowid = db.execute(
        "SELECT 1 FROM pragma_table_list WHERE name = ? AND wr = 0", [table]
    ).fetchone()
    return "rowid" if rowid else ", ".join(str(i + 1) for i, _ in enumerate(db.execute(
        f"SELECT * FROM [{table}] LIMIT 0").description))  # fmt: skip


def main() -> int:
    """Compare the two databases named on the command line."""
    a, b = (sqlite3.connect(path) for path in sys.argv[1:3])
    names = "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
    tables = [r[0] for r in a.execute(names) if r[0] != "_sqlite_migrations"]  # applied-at times
    differ = 0
    for table in tables:
        order = order_of(a, table)
        left, right = rows_of(a, table, order), rows_of(b, table, order)
        if left != right:
            differ += 1
            print(f"{table}: {len(left)} vs {len(right)} rows differ")
            first = next(((x, y) for x, y in zip(left, right, strict=False) if x != y), None)
            if first:
                print("  A", first[0][:12], "\n  B", first[1][:12])
    print("SAME" if not differ else f"{differ} tables differ", f"({len(tables)} tables)")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
