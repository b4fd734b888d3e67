"""Three processes writing at once for 10 seconds lose nothing and never see 'database is
locked'."""

from __future__ import annotations

import subprocess
import sys
import textwrap

WRITER = textwrap.dedent("""
    import sys, time
    from datetime import UTC, datetime
    from signaldesk.audit import record
    from signaldesk.outbox import queue_alert
    from signaldesk.state import beat
    from signaldesk.storage import open_current_db, writing

    path, name, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    db = open_current_db(path)
    written, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        now = datetime.now(UTC)
        with writing(db):
            # read-then-write inside one transaction: the pattern that fails under deferred transactions
            n = db.execute("SELECT COUNT(*) FROM runs WHERE kind = ?", [name]).fetchone()[0]
            db.execute("INSERT INTO runs (kind, started_at, status, counts) VALUES (?, ?, 'ok', ?)",
                       [name, now.isoformat(), str(n)])
        record(db, "test_write", name, {"n": written}, now)
        queue_alert(db, "info", "test", f"{name} {written}", now)
        beat(db, name, now)
        written += 1
    print(written)
""")


def test_three_processes_writing_for_ten_seconds_lose_nothing(db_path):
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(db_path), f"writer{i}", "10"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(3)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    for proc, (_out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert "locked" not in err
    written = {f"writer{i}": int(out.strip()) for i, (out, _) in enumerate(results)}
    import sqlite3

    conn = sqlite3.connect(db_path)
    for name, count in written.items():
        assert count > 50, f"{name} wrote only {count} rows in 10 s"
        assert (
            conn.execute("SELECT COUNT(*) FROM runs WHERE kind = ?", [name]).fetchone()[0] == count
        )
        assert (
            conn.execute("SELECT COUNT(*) FROM audit_log WHERE actor = ?", [name]).fetchone()[0]
            == count
        )
        assert (
            conn.execute("SELECT COUNT(*) FROM outbox WHERE text LIKE ?", [f"{name} %"]).fetchone()[
                0
            ]
            == count
        )
        counts = [
            int(r[0])
            for r in conn.execute("SELECT counts FROM runs WHERE kind = ? ORDER BY id", [name])
        ]
        assert counts == list(range(count))
