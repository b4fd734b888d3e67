"""Verified database backups: an online copy inside one read snapshot, checked, named by UTC time,
rotated; restore."""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import re
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from signaldesk.storage import (
    BUSY_TIMEOUT_MS,
    Database,
    applied_migrations,
    open_db,
    pending_migrations,
)

BACKUP_NAME = re.compile(r"^signaldesk-(\d{8}T\d{6}Z)\.sqlite3$")
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
SQLITE_HEADER = b"SQLite format 3\x00"


class BackupError(Exception):
    """A backup or restore that could not be made or verified; the message says why (and nothing was
    changed)."""


@dataclass(frozen=True)
class Contents:
    """What one database snapshot holds: applied migrations in order and rows per table."""

    migrations: tuple[str, ...]
    rows: dict[str, int]

    @property
    def total_rows(self) -> int:
        """Return the number of rows over every table."""
        return sum(self.rows.values())


@dataclass(frozen=True)
class Backup:
    """A verified backup file with what it holds."""

    path: Path
    taken_at: datetime
    contents: Contents
    sha256: str
    size_bytes: int


def stamp(moment: datetime) -> str:
    """Render an aware time as the compact UTC stamp used in file names (20250131T183000Z)."""
    return moment.astimezone(UTC).strftime(STAMP_FORMAT)


def backup_name(taken_at: datetime) -> str:
    """Return the final file name of a backup taken at this time."""
    return f"signaldesk-{stamp(taken_at)}.sqlite3"


def backup_time(name: str) -> datetime | None:
    """Return when a backup was taken from its file name, or None when the name is not one of
    ours."""
    match = BACKUP_NAME.match(name)
    if not match:
        return None
    try:
        return datetime.strptime(match.group(1), STAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def sidecar_path(backup: Path) -> Path:
    """Return the JSON file beside a backup that records its sha256 and row counts."""
    return backup.with_suffix(".json")


def expired_backups(names: list[str], now: datetime, keep_days: int) -> list[str]:
    """Return our backup names taken more than keep_days before now, oldest first, never the newest
    one."""
    dated = sorted((taken, name) for name in names if (taken := backup_time(name)) is not None)
    cutoff = now - timedelta(days=keep_days)
    return [name for taken, name in dated[:-1] if taken < cutoff]


def live_processes(
    beats: dict[str, datetime | None], windows: dict[str, timedelta], now: datetime
) -> list[str]:
    """Return 'process (beat N s ago)' for every heartbeat younger than its window: that process may
    be running."""
    alive = []
    for process, beat in beats.items():
        if beat is not None and now - beat < windows[process]:
            alive.append(
                f"{process} (last heartbeat {max(0, int((now - beat).total_seconds()))} s ago)"
            )
    return alive


def root_on_desk_files(db_path: Path, euid: int) -> str | None:
    """Return the owner's name when root is about to touch a database folder another user owns, else
    None.

    Files root creates there (a -shm, a backup, a restored database) would lock that user's desk
    out.
    """
    folder = next((p for p in (db_path.parent, *db_path.parents) if p.exists()), None)
    if euid != 0 or folder is None or folder.stat().st_uid == 0:
        return None
    try:
        return pwd.getpwuid(folder.stat().st_uid).pw_name
    except KeyError:
        return str(folder.stat().st_uid)


def read_contents(db: Database) -> Contents:
    """Read applied migrations and rows per table (call inside a read transaction for one consistent
    snapshot)."""
    tables = [
        r[0]
        for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        ).fetchall()
    ]
    rows = {t: db.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}
    return Contents(tuple(name for name, _ in applied_migrations(db)), rows)


def known_migrations() -> list[str]:
    """Return every migration this code defines, in order (all of them are pending on an empty
    database)."""
    empty = open_db(":memory:")
    try:
        return pending_migrations(empty)
    finally:
        empty.close()


def take_backup(db_path: Path, folder: Path, taken_at: datetime) -> Backup:
    """Copy the database inside one read snapshot, verify the copy, then give it its final name;
    raise BackupError."""
    if not db_path.is_file():
        raise BackupError(
            f"database {db_path} does not exist; nothing to back up (run `signaldesk migrate`)"
        )
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / backup_name(taken_at)
    if final.exists():
        raise BackupError(
            f"{final} already exists (two backups within one second); run the backup again"
        )
    # never matches BACKUP_NAME, so never mistaken for a backup
    partial = folder / f".{final.name}.partial"
    try:
        expected = _copy_snapshot(db_path, partial)
        found = verify_copy(partial, expected)
        digest, size = sha256_of(partial), partial.stat().st_size
        _fsync(partial)
        os.replace(partial, final)
    finally:
        partial.unlink(missing_ok=True)
    _fsync(folder)
    backup = Backup(final, taken_at, found, digest, size)
    _write_sidecar(backup, db_path)
    return backup


def _copy_snapshot(db_path: Path, partial: Path) -> Contents:
    """Copy the database to `partial` with the online backup API inside one read transaction; return
    its contents.

    sqlite3_backup_step reads through the source connection's open read transaction, so in WAL mode
    the copy is exactly the snapshot the counts below were read in, however much the desk writes
    meanwhile.
    """
    partial.unlink(missing_ok=True)
    source = None
    try:
        source = open_db(db_path)
        source.conn.execute(
            "BEGIN"
        )  # deferred: the snapshot starts at the first read, in read_contents
        expected = read_contents(source)
        copy = sqlite3.connect(partial)
        try:
            source.conn.backup(copy)
            copy.execute(
                "PRAGMA journal_mode = DELETE"
            )  # one self-contained file, no -wal beside it
        finally:
            copy.close()
        source.conn.execute("ROLLBACK")
    except sqlite3.Error as exc:
        raise BackupError(f"copying {db_path} failed: {exc}") from exc
    finally:
        if source is not None:
            source.close()
    return expected


def verify_copy(path: Path, expected: Contents) -> Contents:
    """Check a copy's integrity, migrations and row counts against the snapshot it was taken from;
    raise BackupError."""
    found = inspect_database(path)
    if found.migrations != expected.migrations:
        raise BackupError(
            f"copy has migrations {list(found.migrations)}, the database {list(expected.migrations)}"
        )
    differing = [
        f"{t}: copy {found.rows.get(t)} rows, database {n}"
        for t, n in expected.rows.items()
        if found.rows.get(t) != n
    ]
    extra = sorted(set(found.rows) - set(expected.rows))
    if differing or extra:
        raise BackupError(
            "copy differs from the database snapshot: "
            + "; ".join(differing + [f"extra table {t}" for t in extra])
        )
    return found


def inspect_database(path: Path) -> Contents:
    """Open an SQLite file read-only, require `PRAGMA integrity_check` = ok, and return its
    contents."""
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    with path.open("rb") as handle:
        if handle.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
            raise BackupError(
                f"{path} is not an SQLite database (it does not start with the SQLite header)"
            )
    try:
        conn = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000
        )
    except sqlite3.Error as exc:
        raise BackupError(f"{path} cannot be opened: {exc}") from exc
    try:
        return _checked_contents(conn, path)
    except sqlite3.Error as exc:
        raise BackupError(f"{path} failed the integrity check: {exc}") from exc
    finally:
        conn.close()


def _checked_contents(conn: sqlite3.Connection, path: Path) -> Contents:
    """Require `PRAGMA integrity_check` = ok on an open database and return its contents; raise
    BackupError."""
    problems = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
    if problems != ["ok"]:
        raise BackupError(f"{path} failed the integrity check: {'; '.join(problems[:3])}")
    return read_contents(Database(conn, execute_plugins=False))


def sha256_of(path: Path) -> str:
    """Return the hex sha256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    """Flush a file or a folder entry to disk, so a backup survives a power cut right after it is
    reported."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_sidecar(backup: Backup, source: Path) -> None:
    """Write `<backup>.json` (sha256, size, migrations, rows) atomically beside the backup."""
    document = {
        "file": backup.path.name,
        "taken_at": backup.taken_at.isoformat(),
        "source": str(source),
        "sha256": backup.sha256,
        "bytes": backup.size_bytes,
        "migrations": list(backup.contents.migrations),
        "rows": backup.contents.rows,
    }
    target = sidecar_path(backup.path)
    partial = target.with_name(f".{target.name}.partial")
    partial.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(partial, target)


def recorded_sha256(backup: Path) -> str | None:
    """Return the sha256 recorded in a backup's sidecar, or None when there is no readable
    sidecar."""
    try:
        return str(json.loads(sidecar_path(backup).read_text(encoding="utf-8"))["sha256"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def prune_backups(folder: Path, now: datetime, keep_days: int) -> list[Path]:
    """Delete our backups (and their sidecars) older than keep_days, never the newest; return what
    was deleted."""
    names = [p.name for p in folder.iterdir() if p.is_file()]
    deleted = []
    for name in expired_backups(names, now, keep_days):
        path = folder / name
        path.unlink()
        sidecar_path(path).unlink(missing_ok=True)
        deleted.append(path)
    return deleted


def list_backups(folder: Path) -> list[Path]:
    """Return our backup files in a folder, oldest first."""
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if backup_time(p.name)), key=lambda p: p.name)


def check_backup(path: Path) -> tuple[Contents, str]:
    """Verify a file to restore (sidecar sha256, integrity, signaldesk migrations this code knows);
    raise BackupError.

    Returns its contents and a note on the sha256 check.
    """
    recorded = recorded_sha256(path) if path.is_file() else None
    if recorded is not None and sha256_of(path) != recorded:
        raise BackupError(
            f"{path} does not match the sha256 in {sidecar_path(path).name}: the file changed after "
            f"the backup was taken; choose another backup"
        )
    contents = inspect_database(path)
    if not contents.migrations:
        raise BackupError(f"{path} holds no signaldesk migrations: it is not a signaldesk database")
    known = set(known_migrations())
    unknown = [name for name in contents.migrations if name not in known]
    if unknown:
        raise BackupError(
            f"{path} was migrated by a newer signaldesk ({', '.join(unknown)}); upgrade signaldesk "
            f"before restoring it"
        )
    return contents, (
        "sha256 matches its sidecar" if recorded else "no sidecar, sha256 not checked"
    )


def database_files(db_path: Path) -> list[Path]:
    """Return the database file and its -wal and -shm companions (existing or not)."""
    return [db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")]


def keep_aside(db_path: Path, at: datetime) -> Path | None:
    """Copy the current database file and its -wal byte for byte to `<db>.before-restore-<stamp>`;
    return that path.

    A byte copy (not the backup API) keeps even a database SQLite can no longer read; opened with
    its -wal beside it, the copy shows every committed transaction. Returns None when there is no
    database yet.
    """
    db, wal, _shm = database_files(db_path)
    aside = db_path.with_name(f"{db_path.name}.before-restore-{stamp(at)}")
    if aside.exists():
        raise BackupError(
            f"{aside} already exists (two restores within one second); run the restore again"
        )
    kept = []
    for source, target in ((db, aside), (wal, Path(f"{aside}-wal"))):
        if source.exists() and (
            source == db or source.stat().st_size
        ):  # an empty -wal carries nothing
            shutil.copy2(source, target)
            _fsync(target)
            kept.append(target)
    return kept[0] if kept else None


def bring_in(backup: Path, db_path: Path) -> Contents:
    """Write a checked backup into the database path with the backup API, checkpoint, verify; return
    its contents."""
    source = sqlite3.connect(f"{backup.resolve().as_uri()}?mode=ro", uri=True)
    try:
        target = _restore_target(db_path)
        try:
            source.backup(target)
            target.execute("PRAGMA journal_mode = WAL")
            target.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            return _checked_contents(target, db_path)
        finally:
            target.close()
    except sqlite3.Error as exc:
        raise BackupError(f"writing {backup} into {db_path} failed: {exc}") from exc
    finally:
        source.close()


def _restore_target(db_path: Path) -> sqlite3.Connection:
    """Open the database path for writing; stale -wal/-shm without a database, or a file SQLite
    cannot read, go.

    Only called after keep_aside copied those files, so nothing is lost.
    """
    db, wal, shm = database_files(db_path)
    if not db.exists():
        wal.unlink(
            missing_ok=True
        )  # a -wal without its database would be replayed onto the new file
        shm.unlink(missing_ok=True)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(db_path, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        conn.execute("PRAGMA schema_version").fetchone()
        return conn
    except sqlite3.DatabaseError:
        conn.close()
        for path in (db, wal, shm):
            path.unlink(missing_ok=True)
        return sqlite3.connect(db_path, timeout=BUSY_TIMEOUT_MS / 1000)
