"""`signaldesk migrate`: apply pending migrations, or list applied and pending ones."""

from __future__ import annotations

from jobs.cli import EXIT_OK, print_json
from signaldesk.storage import applied_migrations, apply_migrations, open_db, pending_migrations


def add_arguments(parser) -> None:
    """Add the options of `migrate`."""
    parser.add_argument(
        "--list", action="store_true", help="list applied and pending migrations; change nothing"
    )
    parser.add_argument("--json", action="store_true", help="print a JSON summary as the last line")


def run(args, settings) -> int:
    """Apply or list migrations on the configured database."""
    db = open_db(settings.db_path)
    try:
        if args.list:
            applied, pending = applied_migrations(db), pending_migrations(db)
            for name, at in applied:
                print(f"applied  {name}  ({at})")
            for name in pending:
                print(f"pending  {name}")
            result = {
                "db": str(settings.db_path),
                "applied": [n for n, _ in applied],
                "pending": pending,
            }
        else:
            done = apply_migrations(db)
            print(
                f"{settings.db_path}: applied {len(done)} migration(s)"
                + (f": {', '.join(done)}" if done else "")
            )
            result = {
                "db": str(settings.db_path),
                "applied": done,
                "pending": pending_migrations(db),
            }
    finally:
        db.close()
    if args.json:
        print_json(result)
    return EXIT_OK
