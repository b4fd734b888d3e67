"""Shared test fixtures: a migrated SQLite file in a temp dir, settings pointing at it, and the
fixtures folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from signaldesk.settings import load_settings
from signaldesk.storage import apply_migrations, open_db

FIXTURES = Path(__file__).parent / "fixtures"
DATA = Path(__file__).parent.parent / "data"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Return the path of a freshly migrated SQLite database in a temp dir."""
    path = tmp_path / "signaldesk.sqlite3"
    db = open_db(path)
    apply_migrations(db)
    db.close()
    return path


@pytest.fixture
def db(db_path: Path):
    """Return an open connection to the migrated temp database."""
    database = open_db(db_path)
    yield database
    database.close()


@pytest.fixture
def make_settings(tmp_path: Path):
    """Return a factory of Settings from an explicit environment (no .env, no real config)."""

    def build(**env: str):
        base = {
            "SIGNALDESK_DB": str(tmp_path / "signaldesk.sqlite3"),
            "SIGNALDESK_LOG_DIR": str(tmp_path / "log"),
        }
        base.update(env)
        return load_settings(environ=base, env_file=tmp_path / "no.env")

    return build
