"""A replayed paper week shared by the money tests (would-have outcomes, the person's value,
golive)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from signaldesk.backtest.engine import ApprovalPolicy
from signaldesk.settings import load_settings
from signaldesk.storage import apply_migrations, open_db
from tests.money.replay import replay

WEEK = datetime(2025, 6, 22, tzinfo=UTC), datetime(2025, 6, 30, tzinfo=UTC)


@pytest.fixture(scope="session")
def paper_week(tmp_path_factory):
    """Replay 2025-06-22 .. 06-30 on a fresh paper desk, a person approving 80% (seed 5: yes, yes,
    yes, no, yes, no, ...); return (database, settings, the environment of the CLI on that
    database)."""
    tmp = tmp_path_factory.mktemp("paper_week")
    env = {"SIGNALDESK_DB": str(tmp / "desk.sqlite3"), "SIGNALDESK_LOG_DIR": str(tmp / "log")}
    settings = load_settings(environ=env, env_file=tmp / "no.env")
    db = open_db(settings.db_path)
    apply_migrations(db)
    replay(db, settings, *WEEK, ApprovalPolicy(0.8, 5))
    yield db, settings, env
    db.close()
