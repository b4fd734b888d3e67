"""`signaldesk restore FILE`: bring a verified backup back as the database, keeping the current one
aside."""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

from jobs.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, print_json, refuse
from jobs.cycle import cycle_lock
from signaldesk.backup import (
    BackupError,
    Contents,
    bring_in,
    check_backup,
    keep_aside,
    known_migrations,
    live_processes,
    root_on_desk_files,
)
from signaldesk.clock import utc_now
from signaldesk.state import last_beat

STOP_DESK = "sudo systemctl stop signaldesk-bot signaldesk-listener signaldesk-cycle.timer"
START_DESK = "sudo systemctl start signaldesk-bot signaldesk-listener signaldesk-cycle.timer"


def add_arguments(parser) -> None:
    """Add the options of `restore`."""
    parser.add_argument(
        "file", type=Path, metavar="FILE", help="backup to restore (a signaldesk-*.sqlite3 file)"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="restore although the bot's or listener's heartbeat is recent (after you stopped them "
        "and do not want to wait for the heartbeats to go stale); a running cycle still refuses",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON summary as the last line")


def run(args, settings) -> int:
    """Check the file, make sure the desk is stopped, keep the current database aside, restore, and
    report."""
    owner = root_on_desk_files(settings.db_path, os.geteuid())
    if owner:
        return _fail(
            args,
            EXIT_USAGE,
            f"running as root on a database owned by {owner}; run it as that user: "
            f"sudo -u {owner} signaldesk restore {args.file}",
        )
    if not args.file.is_file():
        return _fail(
            args,
            EXIT_USAGE,
            f"{args.file}: no such file; backups are in "
            f"{settings.db_path.parent / 'backups'} by default",
        )
    try:
        contents, sha_note = check_backup(args.file)
    except BackupError as exc:
        return _fail(args, EXIT_FAILED, f"{exc}; nothing was changed")
    print(
        f"restore: {args.file} is good ({sha_note}; integrity ok; {len(contents.migrations)} migrations; "
        f"{contents.total_rows:,} rows)"
    )
    with cycle_lock(settings.db_path.with_name(settings.db_path.name + ".cycle.lock")) as locked:
        if not locked:
            return _fail(
                args,
                EXIT_FAILED,
                f"a cycle is running right now (it holds the cycle lock). Stop the desk: "
                f"{STOP_DESK}; then run the restore again; nothing was changed",
            )
        alive = [] if args.force else desk_heartbeats(settings, utc_now())
        if alive:
            return _fail(args, EXIT_FAILED, _still_running(alive, settings))
        return _restore(args, settings, contents)


def desk_heartbeats(settings, now: datetime) -> list[str]:
    """Return the bot and listener when their heartbeats in the current database are fresh."""
    db_path = settings.db_path
    if not db_path.is_file():
        return []
    windows = {
        "bot": timedelta(minutes=settings.health.bot_heartbeat_stale_minutes),
        "listener": timedelta(minutes=settings.health.listener_dead_minutes),
    }
    conn = sqlite3.connect(
        db_path, timeout=5
    )  # read only; as the last connection it leaves no -wal/-shm behind
    try:
        beats = {process: last_beat(conn, process) for process in windows}
    except sqlite3.Error:
        # no system_state table, or a database SQLite cannot read: nothing of the desk can be
        # running on it
        return []
    finally:
        conn.close()
    return live_processes(beats, windows, now)


def _still_running(alive: list[str], settings) -> str:
    """Return the refusal naming the processes that look alive and the commands to run."""
    return (
        f"the desk looks alive: {', '.join(alive)}. Stop it first: {STOP_DESK}; then run the restore again. "
        f"If you have stopped it already, wait until the heartbeats are older than "
        f"{settings.health.bot_heartbeat_stale_minutes} min (bot) / {settings.health.listener_dead_minutes} min "
        f"(listener), or pass --force; nothing was changed"
    )


def _restore(args, settings, expected: Contents) -> int:
    """Keep the current database aside, write the backup in, verify, and report."""
    now = utc_now()
    try:
        aside = keep_aside(settings.db_path, now)
        if aside:
            print(
                f"restore: kept the current database as {aside} (delete it yourself once you are sure)"
            )
        restored = bring_in(args.file, settings.db_path)
    except BackupError as exc:
        return _fail(
            args, EXIT_FAILED, f"{exc}; the previous database is kept aside, nothing was deleted"
        )
    if restored.rows != expected.rows or restored.migrations != expected.migrations:
        return _fail(
            args,
            EXIT_FAILED,
            f"{settings.db_path} does not hold what {args.file} holds after the restore; "
            f"the previous database is kept as {aside or '(there was none)'}",
        )
    print(
        f"restore: {settings.db_path} now holds {args.file}: integrity ok, {len(restored.migrations)} migrations, "
        f"rows: " + ", ".join(f"{table} {n}" for table, n in restored.rows.items())
    )
    pending = [name for name in known_migrations() if name not in restored.migrations]
    if pending:
        print(
            f"restore: this backup predates {len(pending)} migration(s) ({', '.join(pending)}); "
            f"run `signaldesk migrate` before starting the desk"
        )
    print(f"restore: start the desk again: {START_DESK}")
    if args.json:
        print_json(
            {
                "ok": True,
                "db": str(settings.db_path),
                "restored_from": str(args.file),
                "kept_aside": str(aside) if aside else None,
                "migrations": list(restored.migrations),
                "rows": restored.rows,
            }
        )
    return EXIT_OK


def _fail(args, code: int, reason: str) -> int:
    """Report a restore that did not happen (or did not verify); return the exit code."""
    return refuse("restore", args.json, code, reason)
