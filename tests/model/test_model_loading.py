"""Loading a model version and the inference API the cycle calls."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta

import pytest

from signaldesk.features import FEATURE_NAMES, compute_features
from signaldesk.model.artifacts import ModelMismatch, ModelMissing, write_version
from signaldesk.model.inference import load_model
from signaldesk.settings import DEFAULT_MODEL_VERSION, PROJECT_ROOT
from tests.model.conftest import TRAINED_AT


@pytest.fixture(scope="module")
def loaded(tiny_model_dir):
    """Return the tiny model loaded as the cycle would."""
    return load_model(tiny_model_dir, TRAINED_AT + timedelta(days=1), max_age_days=45)


@pytest.fixture(scope="module")
def rows(bundled_frames):
    """Return real feature rows of late June 2025 (after the tiny model's training data)."""
    return compute_features(bundled_frames["ETH_JPY"]).iloc[-200:].to_numpy()


def test_prediction_is_the_calibrated_direction_probability_and_its_larger_side(loaded, rows):
    for row in rows[:50]:
        p = loaded.predict(row)
        assert p.prob_long == p.probability and p.prob_short == pytest.approx(1 - p.prob_long)
        assert p.direction == ("LONG" if p.prob_long >= 0.5 else "SHORT")
        assert p.confidence == max(p.prob_long, p.prob_short) >= 0.5


def test_prediction_carries_the_operating_point_cutoff_of_its_direction(loaded, rows):
    point = loaded.operating_point
    for row in rows[:50]:
        p = loaded.predict(row)
        assert p.cutoff == (point.long_cutoff if p.direction == "LONG" else point.short_cutoff)
        assert p.measured_edge is loaded.measured_edge is not None


def test_single_row_prediction_equals_the_batch_probability(loaded, rows):
    batch = loaded.probabilities(rows)
    assert loaded.predict(rows[17]).prob_long == pytest.approx(batch[17])


def test_confidence_rank_follows_the_calibration_window_table(loaded):
    table = loaded.percentiles
    assert loaded.rank("LONG", table[900]) == pytest.approx(0.9, abs=0.002)
    assert loaded.rank("SHORT", 1 - table[100]) == pytest.approx(0.9, abs=0.002)
    assert loaded.rank("LONG", 1.0) == 1.0 and loaded.rank("SHORT", 1.0) == 1.0


def test_operating_point_cutoffs_sit_at_their_ranks_of_the_calibration_window(loaded):
    point = loaded.operating_point
    assert loaded.rank("LONG", point.long_cutoff) == pytest.approx(1 - point.long_share, abs=0.002)
    assert loaded.rank("SHORT", point.short_cutoff) == pytest.approx(
        1 - point.short_share, abs=0.002
    )


def test_top_contributions_decompose_the_score_toward_the_direction(loaded, rows):
    booster = loaded.booster
    for direction, sign in (("LONG", 1), ("SHORT", -1)):
        contributions = loaded.top_contributions(rows[3], k=12, direction=direction)
        bias = booster.predict(rows[3:4], pred_contrib=True)[0][-1]
        total = sum(c.contribution for c in contributions) * sign + bias
        assert total == pytest.approx(booster.predict(rows[3:4], raw_score=True)[0])
        assert abs(contributions[0].contribution) >= abs(contributions[1].contribution)
        assert {c.feature for c in contributions} == set(FEATURE_NAMES)


def test_a_model_with_other_features_is_refused_naming_both_lists(tiny_model_dir, tmp_path):
    folder = tmp_path / "renamed"
    shutil.copytree(tiny_model_dir, folder)
    metadata = json.loads((folder / "metadata.json").read_text())
    metadata["feature_names"] = [*metadata["feature_names"][:-1], "funding_rate"]
    (folder / "metadata.json").write_text(json.dumps(metadata))
    with pytest.raises(ModelMismatch, match="funding_rate.*but the code computes.*hour_utc"):
        load_model(folder, TRAINED_AT, 45)


def test_a_missing_model_is_refused_with_how_to_get_one(tmp_path):
    with pytest.raises(ModelMissing, match="signaldesk train"):
        load_model(tmp_path / "nowhere", TRAINED_AT, 45)


def test_the_retired_two_head_model_is_refused_saying_what_to_do():
    with pytest.raises(ModelMissing, match="retired format 1.*model list"):
        load_model(PROJECT_ROOT / "models" / "default", TRAINED_AT, 45)


def test_age_counts_from_the_newest_training_candle_not_the_training_run(
    tiny_model_dir, tiny_training
):
    trained_through = tiny_training.metadata["trained_at"]
    assert trained_through == tiny_training.metadata["windows"]["calibration"]["end"]
    model = load_model(tiny_model_dir, TRAINED_AT, max_age_days=45)
    assert model.age_days == pytest.approx(
        (TRAINED_AT - model_time(trained_through)).days, abs=0.01
    )


def model_time(text: str):
    """Parse an ISO time."""
    from datetime import datetime

    return datetime.fromisoformat(text)


def test_an_old_model_loads_with_a_warning(tiny_model_dir, loaded):
    model = load_model(tiny_model_dir, TRAINED_AT + timedelta(days=50), max_age_days=45)
    assert model.age_days == pytest.approx(loaded.age_days + 49)
    assert "days old (limit 45)" in model.warnings[0]


def test_a_fresh_model_has_no_warning(tiny_model_dir, tiny_training):
    seen = model_time(tiny_training.metadata["trained_at"])
    assert load_model(tiny_model_dir, seen + timedelta(days=3), 45).warnings == ()


def test_versions_are_never_overwritten(tiny_model_dir, loaded):
    with pytest.raises(FileExistsError, match="never overwritten"):
        write_version(tiny_model_dir, loaded.booster, {})


def test_the_committed_default_model_loads_with_this_code():
    model = load_model(
        PROJECT_ROOT / "models" / DEFAULT_MODEL_VERSION, TRAINED_AT, max_age_days=10_000
    )
    assert model.metadata["feature_names"] == list(FEATURE_NAMES)
    assert "stand-in" in model.metadata["data_note"]
    assert model.metadata["windows"]["holdout"]["start"] >= "2025-01"
    assert model.operating_point is not None and model.measured_edge is not None
