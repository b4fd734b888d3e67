"""Loading a model version and the inference API the cycle calls."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta

import numpy as np
import pytest

from signaldesk.features import FEATURE_NAMES, compute_features
from signaldesk.model.artifacts import ModelMismatch, ModelMissing, write_version
from signaldesk.model.inference import load_model, signal_side
from signaldesk.settings import PROJECT_ROOT
from tests.model.conftest import TRAINED_AT


@pytest.fixture(scope="module")
def loaded(tiny_model_dir):
    """Return the tiny model loaded as the cycle would."""
    return load_model(tiny_model_dir, TRAINED_AT + timedelta(days=1), max_age_days=45)


@pytest.fixture(scope="module")
def rows(bundled_frames):
    """Return real feature rows of late June 2025 (after the tiny model's training data)."""
    return compute_features(bundled_frames["ETH_JPY"]).iloc[-200:].to_numpy()


def test_prediction_is_the_calibrated_probability_of_the_winning_side(loaded, rows):
    prediction = loaded.predict(rows[0])
    assert 0 < prediction.prob_long < 1 and 0 < prediction.prob_short < 1
    expected = "LONG" if prediction.prob_long >= prediction.prob_short else "SHORT"
    assert prediction.direction == expected
    assert prediction.confidence == max(prediction.prob_long, prediction.prob_short)


def test_single_row_prediction_equals_the_batch_probabilities(loaded, rows):
    prob_long, prob_short = loaded.probabilities(rows)
    prediction = loaded.predict(rows[17])
    assert (prediction.prob_long, prediction.prob_short) == pytest.approx(
        (prob_long[17], prob_short[17])
    )


def test_confidence_rank_follows_the_percentile_table(loaded):
    table = loaded.percentiles["long"]
    assert loaded.rank("LONG", table[90]) == pytest.approx(0.9, abs=0.011)
    assert loaded.rank("LONG", 1.0) == 1.0 and loaded.rank("LONG", 0.0) == 0.0


def test_top_contributions_decompose_the_raw_score(loaded, rows):
    booster = loaded.boosters["short"]
    contributions = loaded.top_contributions(rows[3], k=12, direction="SHORT")
    bias = booster.predict(rows[3:4], pred_contrib=True)[0][-1]
    total = sum(c.contribution for c in contributions) + bias
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


def test_an_old_model_loads_with_a_warning(tiny_model_dir):
    model = load_model(tiny_model_dir, TRAINED_AT + timedelta(days=50), max_age_days=45)
    assert model.age_days == pytest.approx(50) and "50 days old" in model.warnings[0]


def test_a_fresh_model_has_no_warning(loaded):
    assert loaded.warnings == ()


def test_versions_are_never_overwritten(tiny_model_dir, loaded):
    with pytest.raises(FileExistsError, match="never overwritten"):
        write_version(tiny_model_dir, loaded.boosters, {})


def test_a_side_fires_only_above_its_threshold_and_the_other_side():
    sides = signal_side(
        np.array([0.80, 0.76, 0.90, 0.50]), np.array([0.10, 0.85, 0.90, 0.79]), 0.75, 0.80
    )
    assert sides.tolist() == [1, -1, 0, 0]


def test_the_committed_default_model_loads_with_this_code():
    model = load_model(PROJECT_ROOT / "models" / "default", TRAINED_AT, max_age_days=10_000)
    assert model.metadata["feature_names"] == list(FEATURE_NAMES)
    assert (
        "stand-in" in model.metadata["data_note"]
        and model.metadata["windows"]["holdout"]["start"] >= "2025-01"
    )
