"""SQLite storage: opening the shared database (WAL, busy timeout, foreign keys), transactions and
migrations."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from signaldesk.imports import import_without

if TYPE_CHECKING:
    from sqlite_utils import Database
else:  # the same class, imported without pandas and numpy (see signaldesk.imports)
    Database = import_without("sqlite_utils", ("pandas", "numpy")).Database

BUSY_TIMEOUT_MS = 30_000


class SchemaError(Exception):
    """The database schema is not the one this code expects (pending migrations, or from the
    future)."""


def open_db(path: Path | str) -> Database:
    """Open (creating if needed) the SQLite file with WAL, a busy timeout and foreign keys on."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    return Database(conn, execute_plugins=False)


@contextmanager
def writing(db: Database) -> Iterator[Database]:
    """Run a write transaction that takes the write lock up front (BEGIN IMMEDIATE), so it waits
    instead of failing."""
    conn = db.conn
    if conn.in_transaction:
        with db.atomic():
            yield db
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")


def inserted_id(cursor: sqlite3.Cursor) -> int:
    """Return the id of the row an INSERT just wrote; raise RuntimeError when it wrote none."""
    if cursor.lastrowid is None:
        raise RuntimeError("the INSERT wrote no row")
    return cursor.lastrowid


def migration_set():
    """Return the ordered migration set defined in the top-level `migrations` package."""
    from migrations import MIGRATIONS

    return MIGRATIONS


def pending_migrations(db: Database) -> list[str]:
    """Return the names of migrations not yet applied, in order."""
    return [m.name for m in migration_set().pending(db)]


def applied_migrations(db: Database) -> list[tuple[str, str]]:
    """Return (name, applied_at) of applied migrations, in order."""
    return [(m.name, m.applied_at) for m in migration_set().applied(db)]


def apply_migrations(db: Database) -> list[str]:
    """Apply every pending migration, each in its own transaction; return the names applied."""
    names = pending_migrations(db)
    unknown = _unknown_applied(db)
    if unknown:
        raise SchemaError(
            f"database has migrations this code does not know: {', '.join(unknown)}; upgrade signaldesk"
        )
    migration_set().apply(db)
    return names


def _unknown_applied(db: Database) -> list[str]:
    """Return applied migration names that this code does not define (a newer database)."""
    known = {m.name for m in migration_set()._migrations}
    return [name for name, _ in applied_migrations(db) if name not in known]


def require_current_schema(db: Database, db_path: Path | str) -> None:
    """Raise SchemaError naming the command to run when migrations are pending or unknown."""
    pending = pending_migrations(db)
    if pending:
        raise SchemaError(
            f"database {db_path} has {len(pending)} pending migration(s): {', '.join(pending)}. "
            f"Run `signaldesk migrate` first."
        )
    unknown = _unknown_applied(db)
    if unknown:
        raise SchemaError(
            f"database {db_path} was migrated by a newer signaldesk ({', '.join(unknown)}); upgrade first"
        )


def open_current_db(path: Path | str) -> Database:
    """Open the database and refuse it unless fully migrated (for every process except
    `migrate`)."""
    db = open_db(path)
    try:
        require_current_schema(db, path)
    except SchemaError:
        db.close()
        raise
    return db
