"""Model versions and the active one: `signaldesk model list | activate | rollback` on a real temp
database."""

from __future__ import annotations

import argparse
import json
from datetime import timedelta

import pytest

import jobs.model_cmd
from signaldesk import audit, outbox
from signaldesk.model.artifacts import write_version
from signaldesk.model.registry import (
    ActivationError,
    activate,
    active_folder,
    list_versions,
    retrained_root,
    rollback,
    status_line,
)
from signaldesk.settings import DEFAULT_MODEL_VERSION, PROJECT_ROOT
from tests.model.conftest import TRAINED_AT


def run(argv: list[str], settings) -> int:
    """Parse argv with `model`'s own options and run it."""
    parser = argparse.ArgumentParser()
    jobs.model_cmd.add_arguments(parser)
    return jobs.model_cmd.run(parser.parse_args(argv), settings)


@pytest.fixture
def desk(make_settings, db_path, tiny_training):
    """Return settings of a migrated temp desk with two retrained versions of the tiny model beside
    it."""
    settings = make_settings()
    for name in ("v-a", "v-b"):
        folder = retrained_root(settings) / name
        write_version(
            folder, tiny_training.model.booster, {**tiny_training.metadata, "version": name}
        )
    return settings


def test_list_shows_shipped_and_retrained_versions_and_marks_the_active_one(desk, capsys):
    assert run(["list", "--json"], desk) == 0
    listing = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    rows = {row["version"]: row for row in listing["versions"]}
    assert listing["active"] == DEFAULT_MODEL_VERSION and rows[DEFAULT_MODEL_VERSION]["active"]
    assert rows["v-a"]["where"] == "retrained" and rows[DEFAULT_MODEL_VERSION]["where"] == "shipped"
    assert not rows["default"]["usable"] and "retired format 1" in rows["default"]["summary"]
    assert rows["v-a"]["summary"].startswith("holdout sign AUC 0.")


def test_activate_records_the_version_audits_it_and_tells_the_trader(desk, db, capsys):
    assert run(["activate", "v-a"], desk) == 0
    assert active_folder(db, desk) == retrained_root(desk) / "v-a"
    event = audit.events(db, "model_activate")[0]
    assert event["detail"] == {
        "version": "v-a",
        "previous": DEFAULT_MODEL_VERSION,
        "reason": "manual",
    }
    assert "v-a is now active" in outbox.unsent(db)[0].text


def test_rollback_walks_back_the_activations_one_at_a_time(desk, db):
    activate(db, desk, "v-a", TRAINED_AT, "test", "manual")
    activate(db, desk, "v-b", TRAINED_AT, "test", "manual")
    assert rollback(db, desk, TRAINED_AT, "test") == ("v-b", "v-a")
    assert rollback(db, desk, TRAINED_AT, "test") == ("v-a", DEFAULT_MODEL_VERSION)
    with pytest.raises(ActivationError, match="nothing to roll back to"):
        rollback(db, desk, TRAINED_AT, "test")
    assert active_folder(db, desk) == PROJECT_ROOT / "models" / DEFAULT_MODEL_VERSION


def test_the_rollback_command_says_what_became_active(desk, db, capsys):
    activate(db, desk, "v-a", TRAINED_AT, "test", "manual")
    assert run(["rollback"], desk) == 0
    assert f"{DEFAULT_MODEL_VERSION} is now active (was v-a" in capsys.readouterr().out


def test_unknown_and_retired_versions_cannot_become_active(desk, db, capsys):
    with pytest.raises(ActivationError, match="no model version 'nope'"):
        activate(db, desk, "nope", TRAINED_AT, "test", "manual")
    assert run(["activate", "default"], desk) == 1
    assert "retired format 1" in capsys.readouterr().out
    assert active_folder(db, desk).name == DEFAULT_MODEL_VERSION


def test_a_pinned_model_wins_and_activation_says_how_to_unpin(make_settings, db, desk):
    pinned = make_settings(SIGNALDESK_MODEL=str(retrained_root(desk) / "v-b"))
    activate(db, desk, "v-a", TRAINED_AT, "test", "manual")
    assert active_folder(db, pinned) == retrained_root(desk) / "v-b"
    with pytest.raises(ActivationError, match="SIGNALDESK_MODEL pins"):
        activate(db, pinned, "v-a", TRAINED_AT, "test", "manual")


def test_a_recorded_version_that_vanished_falls_back_to_the_default(desk, db):
    import shutil

    activate(db, desk, "v-a", TRAINED_AT, "test", "manual")
    shutil.rmtree(retrained_root(desk) / "v-a")
    assert active_folder(db, desk).name == DEFAULT_MODEL_VERSION


def test_status_line_names_the_version_its_age_and_its_edge_verdict(desk, db, tiny_training):
    activate(db, desk, "v-a", TRAINED_AT, "test", "manual")
    line = status_line(db, desk, TRAINED_AT + timedelta(days=1))
    assert (
        line.startswith("Model v-a: learned until")
        and tiny_training.metadata["edge"]["verdict"] in line
    )


def test_versions_are_listed_oldest_training_data_first(desk):
    names = [v.name for v in list_versions(desk)]
    assert names.index(DEFAULT_MODEL_VERSION) < names.index("v-a") and names[0] == "default"


def test_the_cycle_loads_the_version_the_database_records(desk, db):
    from signaldesk.cycle_job import load_active_model

    assert load_active_model(desk, TRAINED_AT, db).version == DEFAULT_MODEL_VERSION
    activate(db, desk, "v-b", TRAINED_AT, "test", "manual")
    assert load_active_model(desk, TRAINED_AT, db).version == "v-b"
