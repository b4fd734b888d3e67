"""Ordered, named, transactional, forward-only schema migrations (sqlite-utils Migrations).

Each file `NNNN_name.py` defines `migrate(db)`; files are applied in name order and never edited
after release.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from sqlite_utils.migrations import Migrations

MIGRATIONS = Migrations("signaldesk")


def _register_all() -> None:
    """Register every migration file of this folder, in name order."""
    for path in sorted(Path(__file__).parent.glob("[0-9][0-9][0-9][0-9]_*.py")):
        module = importlib.import_module(f"{__name__}.{path.stem}")
        MIGRATIONS(name=path.stem)(module.migrate)


_register_all()
