"""`signaldesk backup`: a verified online copy of the database while the desk runs, then
rotation."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from jobs.cli import EXIT_FAILED, EXIT_NOT_READY, EXIT_OK, EXIT_USAGE, print_json, refuse
from signaldesk.backup import (
    Backup,
    BackupError,
    list_backups,
    prune_backups,
    root_on_desk_files,
    take_backup,
)
from signaldesk.clock import utc_now

DEFAULT_KEEP_DAYS = 14


def add_arguments(parser) -> None:
    """Add the options of `backup`."""
    parser.add_argument(
        "--dir",
        "--dest",
        dest="dir",
        type=Path,
        metavar="DIR",
        help="folder for the backups (default: a `backups` folder beside the database)",
    )
    parser.add_argument(
        "--keep-days",
        type=_keep_days,
        default=DEFAULT_KEEP_DAYS,
        metavar="N",
        help=f"delete our backups older than N days after a good backup, never the newest one "
        f"(default {DEFAULT_KEEP_DAYS})",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON summary as the last line")


def _keep_days(text: str) -> int:
    """Parse --keep-days: a whole number of days from 1 to 3650."""
    if not text.isdigit() or not 1 <= int(text) <= 3650:
        raise argparse.ArgumentTypeError(
            f"--keep-days={text!r}: allowed a whole number of days from 1 to 3650"
        )
    return int(text)


def run(args, settings) -> int:
    """Take one verified backup, prune old ones, and report."""
    folder = args.dir or settings.db_path.parent / "backups"
    owner = root_on_desk_files(settings.db_path, os.geteuid())
    if owner:
        return _fail(
            args,
            EXIT_USAGE,
            f"running as root on a database owned by {owner}; run it as that user: "
            f"sudo -u {owner} signaldesk backup",
        )
    if not settings.db_path.is_file():
        return _fail(
            args,
            EXIT_NOT_READY,
            f"database {settings.db_path} does not exist; nothing to back up "
            f"(run `signaldesk migrate` to create it)",
        )
    now = utc_now()
    try:
        backup = take_backup(settings.db_path, folder, now)
    except BackupError as exc:
        return _fail(args, EXIT_FAILED, f"{exc}; no backup was written")
    pruned = prune_backups(folder, now, args.keep_days)
    kept = list_backups(folder)
    print(_line(backup, pruned, len(kept), args.keep_days))
    if args.json:
        print_json(_summary(backup, pruned, len(kept)))
    return EXIT_OK


def _fail(args, code: int, reason: str) -> int:
    """Report a backup that was not made; return the exit code."""
    return refuse("backup", args.json, code, reason)


def _line(backup: Backup, pruned: list[Path], kept: int, keep_days: int) -> str:
    """Return the one line a person reads."""
    contents = backup.contents
    return (
        f"backup: {backup.path} ({backup.size_bytes / 1e6:.1f} MB, {len(contents.rows)} tables, "
        f"{contents.total_rows:,} rows, {len(contents.migrations)} migrations, integrity ok, "
        f"sha256 {backup.sha256[:12]}); pruned {len(pruned)} older than {keep_days} days, {kept} kept"
    )


def _summary(backup: Backup, pruned: list[Path], kept: int) -> dict:
    """Return the --json summary."""
    return {
        "ok": True,
        "path": str(backup.path),
        "taken_at": backup.taken_at.isoformat(),
        "sha256": backup.sha256,
        "bytes": backup.size_bytes,
        "migrations": list(backup.contents.migrations),
        "rows": backup.contents.rows,
        "pruned": [str(p) for p in pruned],
        "kept": kept,
    }
