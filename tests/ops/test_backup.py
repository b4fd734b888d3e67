"""Backups taken while three processes write lose nothing committed before them; restore refuses bad
files and a running desk, keeps the previous database aside, and brings the backup back exactly."""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from jobs.cli import main
from jobs.cycle import cycle_lock
from signaldesk.audit import record
from signaldesk.backup import (
    BackupError,
    Contents,
    backup_name,
    expired_backups,
    known_migrations,
    take_backup,
    verify_copy,
)
from signaldesk.state import beat
from signaldesk.storage import applied_migrations, open_db

STOP_COMMAND = "sudo systemctl stop signaldesk-bot signaldesk-listener signaldesk-cycle.timer"

WRITER = textwrap.dedent("""
    import os, sys, time
    from datetime import UTC, datetime
    from signaldesk.audit import record
    from signaldesk.outbox import queue_alert
    from signaldesk.storage import open_current_db, writing

    path, name, stop = sys.argv[1], sys.argv[2], sys.argv[3]
    db = open_current_db(path)
    n, end = 0, time.monotonic() + 60
    while not os.path.exists(stop) and time.monotonic() < end:  # write until the test says stop
        now = datetime.now(UTC)
        with writing(db):  # one transaction: a run, an audit event and an alert with the same n, or none of them
            db.execute("INSERT INTO runs (kind, started_at, status, counts) VALUES (?, ?, 'ok', ?)",
                       [name, now.isoformat(), str(n)])
            record(db, "test_write", name, {"n": n}, now)
            queue_alert(db, "info", "test", f"{name} {n}", now)
        n += 1
    print(n)
""")
WRITERS = ("writer0", "writer1", "writer2")


def cli_env(db: Path, tmp_path: Path) -> dict[str, str]:
    """Return the environment of a `signaldesk` subprocess on this database (no .env, no config)."""
    return {
        "SIGNALDESK_DB": str(db),
        "SIGNALDESK_LOG_DIR": str(tmp_path / "log"),
        "PATH": "/usr/bin:/bin",
    }


def cli(env: dict[str, str], cwd: Path, *argv: str) -> subprocess.CompletedProcess:
    """Run the real command line in its own process."""
    return subprocess.run(
        [sys.executable, "-m", "jobs.cli", *argv],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def last_json(stdout: str) -> dict:
    """Return the JSON summary printed as the last line."""
    return json.loads(stdout.strip().splitlines()[-1])


def committed(path: Path) -> dict[str, list[int]]:
    """Return, per writer, the n of every committed transaction (read from the runs table)."""
    conn = sqlite3.connect(path, timeout=30)
    try:
        rows = conn.execute("SELECT kind, CAST(counts AS INTEGER) FROM runs ORDER BY id").fetchall()
    finally:
        conn.close()
    found: dict[str, list[int]] = {name: [] for name in WRITERS}
    for kind, n in rows:
        found.setdefault(kind, []).append(n)
    return found


def writes_per_table(path: Path) -> dict[str, dict[str, set[int]]]:
    """Return, per writer, the n found in each of runs, audit_log and outbox."""
    conn = sqlite3.connect(path)
    try:
        runs = conn.execute("SELECT kind, CAST(counts AS INTEGER) FROM runs").fetchall()
        audit = conn.execute(
            "SELECT actor, json_extract(detail, '$.n') FROM audit_log WHERE event = 'test_write'"
        )
        outbox = conn.execute(
            "SELECT substr(text, 1, 7), CAST(substr(text, 9) AS INTEGER) FROM outbox"
        )
        tables = {"runs": runs, "audit_log": audit.fetchall(), "outbox": outbox.fetchall()}
    finally:
        conn.close()
    return {
        name: {table: {n for w, n in rows if w == name} for table, rows in tables.items()}
        for name in WRITERS
    }


def wait_until_all_write(
    db: Path, procs: list[subprocess.Popen], after: dict[str, list[int]] | None = None
) -> None:
    """Wait until every writer has committed a transaction (one more than `after`, when given)."""
    end = time.monotonic() + 20
    while time.monotonic() < end:
        now = committed(db)
        if all(len(now[name]) > len((after or {}).get(name, [])) for name in WRITERS):
            return
        assert all(p.poll() is None for p in procs), "a writer died before writing"
        time.sleep(0.05)
    raise AssertionError("writers did not start writing")


def test_backups_taken_while_three_processes_write_hold_every_row_committed_before_them(
    db_path, tmp_path
):
    stop = tmp_path / "stop-writing"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(db_path), name, str(stop)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in WRITERS
    ]
    env = cli_env(db_path, tmp_path)
    taken = []
    try:
        wait_until_all_write(db_path, procs)
        for folder in ("b1", "b2"):
            before = committed(db_path)  # read strictly before the backup process starts
            done = cli(env, tmp_path, "backup", "--dir", str(tmp_path / folder), "--json")
            assert done.returncode == 0, done.stderr
            assert all(p.poll() is None for p in procs), (
                "the backup must run while the writers are still writing"
            )
            taken.append((before, last_json(done.stdout)))
        wait_until_all_write(db_path, procs, after=committed(db_path))
    finally:
        stop.touch()
        results = [p.communicate(timeout=60) for p in procs]
    for proc, (_out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
    final = committed(db_path)
    live_migrations = [name for name, _ in applied_migrations(open_db(db_path))]

    for i, (before, summary) in enumerate(taken):
        restored = tmp_path / f"restored{i}" / "signaldesk.sqlite3"
        done = cli(cli_env(restored, tmp_path), tmp_path, "restore", summary["path"], "--json")
        assert done.returncode == 0, done.stderr
        conn = sqlite3.connect(restored)
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert [
            r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations ORDER BY rowid")
        ] == live_migrations
        assert last_json(done.stdout)["rows"] == summary["rows"]
        conn.close()
        in_backup = writes_per_table(restored)
        for name in WRITERS:
            runs = in_backup[name]["runs"]
            # nothing lost: every transaction committed before the backup began is in it, with no
            # gap
            assert runs == set(range(len(runs))) and len(runs) >= len(before[name]) > 0
            # nothing torn: each transaction's three rows are all there or all absent
            assert in_backup[name]["audit_log"] == runs == in_backup[name]["outbox"]
            assert len(runs) <= len(final[name])
        assert sum(len(final[n]) for n in WRITERS) > sum(
            len(in_backup[n]["runs"]) for n in WRITERS
        ), "the writers went on after the backup, so the backup is a snapshot, not the end state"


def test_sqlite_backup_copies_the_source_connections_read_snapshot_not_later_commits(tmp_path):
    # The design rests on this SQLite behaviour: backup_step reads through the source connection's
    # open read transaction, so commits by other connections after the snapshot began stay out, even
    # across many steps.
    path = tmp_path / "snap.sqlite3"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode = WAL")
    writer.execute("CREATE TABLE t (x INTEGER)")
    with writer:
        writer.execute("BEGIN")
        writer.executemany(
            "INSERT INTO t VALUES (?)", [(i,) for i in range(20_000)]
        )  # synthetic rows, ~40 pages
    for pages in (-1, 5):
        source = sqlite3.connect(path)
        source.execute("BEGIN")
        snapshot = source.execute("SELECT COUNT(*) FROM t").fetchone()[0]
        writer.execute("INSERT INTO t VALUES (-1)")  # committed after the snapshot began
        copy = sqlite3.connect(tmp_path / f"copy{pages}.sqlite3")
        source.backup(
            copy, pages=pages, progress=lambda *_: writer.execute("INSERT INTO t VALUES (-2)")
        )
        source.execute("ROLLBACK")
        assert copy.execute("SELECT COUNT(*) FROM t").fetchone()[0] == snapshot
        assert writer.execute("SELECT COUNT(*) FROM t").fetchone()[0] > snapshot
        copy.close()
        source.close()


def test_a_copy_that_differs_from_its_snapshot_is_rejected(db, db_path, tmp_path):
    backup = take_backup(db_path, tmp_path / "b", datetime(2025, 6, 1, tzinfo=UTC))
    wrong = Contents(backup.contents.migrations, {**backup.contents.rows, "audit_log": 7})
    with pytest.raises(BackupError, match="audit_log: copy 0 rows, database 7"):
        verify_copy(backup.path, wrong)
    with pytest.raises(BackupError, match="migrations"):
        verify_copy(backup.path, Contents(backup.contents.migrations[:-1], backup.contents.rows))


def test_a_failed_backup_leaves_no_file_with_a_final_name_and_says_why(tmp_path):
    db = tmp_path / "var" / "signaldesk.sqlite3"
    db.parent.mkdir()
    db.write_bytes(
        b"not a database at all " * 400
    )  # synthetic garbage where the database should be
    done = cli(cli_env(db, tmp_path), tmp_path, "backup", "--json")
    assert done.returncode == 1
    assert "no backup was written" in done.stderr and last_json(done.stdout)["ok"] is False
    assert list((db.parent / "backups").iterdir()) == []


def test_backup_of_a_missing_database_exits_not_ready(tmp_path):
    done = cli(cli_env(tmp_path / "none.sqlite3", tmp_path), tmp_path, "backup")
    assert done.returncode == 3 and "run `signaldesk migrate`" in done.stderr
    assert not (tmp_path / "none.sqlite3").exists()


# --- rotation -----------------------------------------------------------------------------------------------------


def test_expired_backups_are_older_than_keep_days_never_the_newest_and_only_ours():
    now = datetime(2025, 6, 30, 18, 30, tzinfo=UTC)
    ours = [backup_name(now - timedelta(days=d, minutes=1)) for d in (0, 1, 2, 3, 10)]
    foreign = [
        "notes.txt",
        "signaldesk-2025.sqlite3",
        "signaldesk-20251399T000000Z.sqlite3",
        f".{ours[4]}.partial",
        ours[4].replace(".sqlite3", ".json"),
    ]
    assert expired_backups(ours + foreign, now, 3) == [ours[4], ours[3]]  # oldest first
    assert expired_backups([ours[4], ours[3]], now, 1) == [ours[4]]  # both old: the newest survives
    assert expired_backups([ours[4]], now, 1) == []
    assert expired_backups(foreign, now, 1) == []


def test_backup_prunes_old_backups_with_their_sidecars_and_leaves_other_files(db_path, tmp_path):
    folder = tmp_path / "b"
    folder.mkdir()
    now = datetime.now(UTC)
    old = [backup_name(now - timedelta(days=d)) for d in (1, 2, 5, 30)]
    for name in old:  # synthetic stand-ins: pruning goes by the name, never opens the file
        (folder / name).write_bytes(b"x")
        (folder / name).with_suffix(".json").write_text("{}")
    foreign = ["notes.txt", "signaldesk.sqlite3", f".{old[3]}.partial", "signaldesk-old.sqlite3"]
    for name in foreign:
        (folder / name).write_text("keep me")
    done = cli(
        cli_env(db_path, tmp_path),
        tmp_path,
        "backup",
        "--dir",
        str(folder),
        "--keep-days",
        "3",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    summary = last_json(done.stdout)
    left = {p.name for p in folder.iterdir()}
    assert sorted(Path(p).name for p in summary["pruned"]) == sorted(old[2:])
    assert not {*old[2:], *(n.replace(".sqlite3", ".json") for n in old[2:])} & left
    assert {*old[:2], *foreign, Path(summary["path"]).name} <= left
    assert summary["kept"] == 3


def test_keep_days_must_be_a_whole_number_of_days(db_path, tmp_path):
    done = cli(cli_env(db_path, tmp_path), tmp_path, "backup", "--keep-days", "0")
    assert done.returncode == 2 and "--keep-days='0'" in done.stderr and "1 to 3650" in done.stderr


# --- restore ------------------------------------------------------------------------------------------------------


@pytest.fixture
def run_cli(monkeypatch, tmp_path, capsys):
    """Return a function that runs the command line in this process on the temp database; (code,
    out, err)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SIGNALDESK_LOG_DIR", str(tmp_path / "log"))
    handlers = list(logging.getLogger().handlers)

    def run(db: Path, *argv: str) -> tuple[int, str, str]:
        monkeypatch.setenv("SIGNALDESK_DB", str(db))
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    yield run
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    for handler in handlers:
        root.addHandler(handler)


def folder_state(folder: Path) -> dict[str, bytes]:
    """Return every file of a folder with its bytes."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture
def desk(db_path, tmp_path):
    """Return (database path, a verified backup of it with 3 audit events); the live database then
    gets 2 more."""
    db = open_db(db_path)
    at = datetime(2025, 6, 1, tzinfo=UTC)
    for i in range(3):
        record(db, "approve", "1001", {"signal": i, "marker": "restore-me"}, at)
    backup = take_backup(db_path, tmp_path / "backups", at)
    for i in range(2):
        record(db, "reject", "1001", {"signal": 10 + i}, at)
    db.close()
    # a desk that has run has its cycle lock file (restore takes that lock, creating the file if it
    # is missing)
    db_path.with_name(db_path.name + ".cycle.lock").touch()
    return db_path, backup.path


def corrupt_page(path: Path, table: str) -> None:
    """Overwrite the b-tree page header of a table's root page with garbage."""
    conn = sqlite3.connect(path)
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", [table]).fetchone()[0]
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    with path.open("r+b") as handle:
        handle.seek((root - 1) * size)
        handle.write(b"\xff" * 12)


def make_bad_file(kind: str, good: Path, tmp_path: Path) -> Path:
    """Return a file that restore must refuse (synthetic damage of a real backup, or a foreign
    file)."""
    bad = tmp_path / "bad" / f"{kind}.sqlite3"
    bad.parent.mkdir(exist_ok=True)
    if kind == "text":
        bad.write_text("id,price\n1,100\n")
    elif kind == "empty":
        bad.write_bytes(b"")
    elif kind == "truncated":
        bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    elif kind == "corrupt_page":
        shutil.copy(good, bad)
        corrupt_page(bad, "audit_log")
    elif (
        kind == "changed_after_backup"
    ):  # still a sound database, but not the bytes the sidecar recorded
        shutil.copy(good, bad)
        shutil.copy(good.with_suffix(".json"), bad.with_suffix(".json"))
        bad.write_bytes(bad.read_bytes().replace(b"restore-me", b"RESTORE-ME"))
    elif kind == "foreign_sqlite":
        conn = sqlite3.connect(bad)
        conn.execute("CREATE TABLE prices (id INTEGER, price TEXT)")
        conn.commit()
        conn.close()
    elif kind == "from_the_future":
        shutil.copy(good, bad)
        conn = sqlite3.connect(bad)
        conn.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
            "VALUES ('signaldesk', '9999_from_the_future', '2030-01-01')"
        )
        conn.commit()
        conn.close()
    return bad


BAD_FILES = {
    "text": "not an SQLite database",
    "empty": "not an SQLite database",
    "truncated": "integrity check",
    "corrupt_page": "integrity check",
    "changed_after_backup": "does not match the sha256",
    "foreign_sqlite": "not a signaldesk database",
    "from_the_future": "newer signaldesk (9999_from_the_future)",
}


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_restore_refuses_a_bad_file_and_changes_nothing(kind, desk, tmp_path, run_cli):
    db_path, good = desk
    bad = make_bad_file(kind, good, tmp_path)
    before = folder_state(db_path.parent)
    code, out, err = run_cli(db_path, "restore", str(bad), "--json")
    assert code == 1
    assert BAD_FILES[kind] in err or BAD_FILES[kind] in out, err
    assert "nothing was changed" in err and json.loads(out.strip().splitlines()[-1])["ok"] is False
    assert folder_state(db_path.parent) == before  # byte-identical, and no before-restore copy


def test_restore_of_a_missing_file_is_a_usage_error(desk, run_cli):
    db_path, _good = desk
    code, _out, err = run_cli(db_path, "restore", "no-such-backup.sqlite3")
    assert code == 2 and "no-such-backup.sqlite3: no such file" in err


def beat_at(db_path: Path, process: str, at: datetime) -> None:
    """Write a heartbeat into the live database."""
    db = open_db(db_path)
    beat(db, process, at)
    db.close()


@pytest.mark.parametrize("process", ["bot", "listener"])
def test_restore_refuses_while_a_heartbeat_is_fresh_and_says_what_to_stop(process, desk, run_cli):
    db_path, good = desk
    beat_at(db_path, process, datetime.now(UTC) - timedelta(seconds=40))
    before = folder_state(db_path.parent)
    code, _out, err = run_cli(db_path, "restore", str(good))
    assert code == 1
    assert f"{process} (last heartbeat" in err and STOP_COMMAND in err and "--force" in err
    assert folder_state(db_path.parent) == before


def test_restore_refuses_while_a_cycle_holds_the_lock_even_with_force(desk, run_cli):
    db_path, good = desk
    before = folder_state(db_path.parent)
    with cycle_lock(db_path.with_name(db_path.name + ".cycle.lock")) as locked:
        assert locked
        code, _out, err = run_cli(db_path, "restore", str(good), "--force")
    assert code == 1 and "a cycle is running" in err and STOP_COMMAND in err
    assert folder_state(db_path.parent) == before


def audit_events(path: Path) -> list[str]:
    """Return the audit events of a database file, in order."""
    conn = sqlite3.connect(path)
    try:
        return [r[0] for r in conn.execute("SELECT event FROM audit_log ORDER BY id")]
    finally:
        conn.close()


def test_restore_with_stale_heartbeats_brings_the_backup_back_and_keeps_the_old_database(
    desk, run_cli
):
    db_path, good = desk
    beat_at(db_path, "bot", datetime.now(UTC) - timedelta(minutes=10))
    beat_at(db_path, "listener", datetime.now(UTC) - timedelta(minutes=10))
    previous = db_path.read_bytes()
    code, out, err = run_cli(db_path, "restore", str(good), "--json")
    assert code == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    aside = Path(summary["kept_aside"])
    assert (
        aside.name.startswith(f"{db_path.name}.before-restore-") and aside.read_bytes() == previous
    )
    assert audit_events(db_path) == ["approve"] * 3
    assert audit_events(aside) == ["approve"] * 3 + ["reject"] * 2
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    conn.close()
    assert summary["migrations"] == known_migrations() and summary["rows"]["audit_log"] == 3
    assert "sha256 matches its sidecar" in out and "kept the current database as" in out


def test_force_restores_despite_a_fresh_heartbeat(desk, run_cli):
    db_path, good = desk
    beat_at(db_path, "bot", datetime.now(UTC))
    code, _out, err = run_cli(db_path, "restore", str(good), "--force")
    assert code == 0, err
    assert audit_events(db_path) == ["approve"] * 3
    assert len(list(db_path.parent.glob(f"{db_path.name}.before-restore-*"))) == 1


def test_restore_over_a_database_sqlite_cannot_read_keeps_it_aside_and_restores(desk, run_cli):
    db_path, good = desk
    db_path.write_bytes(b"garbage where the database was " * 100)  # synthetic damage
    code, out, err = run_cli(db_path, "restore", str(good))
    assert code == 0, err
    assert audit_events(db_path) == ["approve"] * 3
    (aside,) = db_path.parent.glob(f"{db_path.name}.before-restore-*")
    assert aside.read_bytes().startswith(b"garbage where the database was")


@pytest.mark.skipif(
    os.geteuid() != 0, reason="needs root to give the database folder to another user"
)
def test_root_is_told_to_run_as_the_desks_user(desk, run_cli):
    db_path, good = desk
    os.chown(db_path.parent, 65534, 65534)
    try:
        code, _out, err = run_cli(db_path, "backup")
        assert code == 2 and "sudo -u" in err and "signaldesk backup" in err
        code, _out, err = run_cli(db_path, "restore", str(good))
        assert code == 2 and "sudo -u" in err
    finally:
        os.chown(db_path.parent, 0, 0)


def test_restoring_a_backup_older_than_the_code_says_to_migrate(desk, tmp_path, run_cli):
    db_path, good = desk
    older = tmp_path / "older.sqlite3"
    shutil.copy(good, older)
    conn = sqlite3.connect(
        older
    )  # synthetic: forget the last migration, as a backup from older code would
    latest = known_migrations()[-1]
    conn.execute("DELETE FROM _sqlite_migrations WHERE name = ?", [latest])
    conn.commit()
    conn.close()
    code, out, err = run_cli(db_path, "restore", str(older))
    assert code == 0, err
    assert f"predates 1 migration(s) ({latest}); run `signaldesk migrate`" in out
