"""Training and honest evaluation on the bundled real candles: time order, gaps, controls, calibration."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from signaldesk.labels import LabelSpec
from signaldesk.model.calibration import fit_platt
from signaldesk.model.training import (
    Fold,
    Window,
    build_dataset,
    shuffled_control_auc,
    walk_forward_folds,
)

DAY = pd.Timedelta(days=1)


def test_folds_run_train_then_calibration_then_test_with_gaps():
    folds = walk_forward_folds(
        pd.Timestamp("2023-01-01", tz="UTC"),
        pd.Timestamp("2025-01-01", tz="UTC"),
        91 * DAY,
        61 * DAY,
        180 * DAY,
        DAY,
    )
    assert len(folds) == 5 and folds[-1].test.end == pd.Timestamp("2025-01-01", tz="UTC")
    for fold in folds:
        assert (
            fold.train.end + DAY == fold.calibration.start
            and fold.calibration.end + DAY == fold.test.start
        )
    assert all(a.test.end == b.test.start for a, b in zip(folds, folds[1:], strict=False))


def test_the_gap_covers_the_label_horizon(tiny_training):
    gap_hours = tiny_training.report["gap_hours"]
    assert gap_hours >= tiny_training.report["label"]["horizon_bars"] * 0.25


def test_shuffled_label_control_scores_chance(bundled_frames):
    data = build_dataset(bundled_frames, LabelSpec())
    fold = Fold(
        "control",
        Window(pd.Timestamp("2025-04-01", tz="UTC"), pd.Timestamp("2025-05-10", tz="UTC")),
        Window(pd.Timestamp("2025-05-11", tz="UTC"), pd.Timestamp("2025-05-20", tz="UTC")),
        Window(pd.Timestamp("2025-05-21", tz="UTC"), pd.Timestamp("2025-07-01", tz="UTC")),
    )
    test = data[fold.test.mask(data["open_time"])]
    aucs = shuffled_control_auc(data, fold, test, seeds=(11, 12, 13, 14, 15))
    assert aucs["long"] == pytest.approx(0.5, abs=0.03) and aucs["short"] == pytest.approx(
        0.5, abs=0.03
    )


def test_real_labels_beat_the_control_on_event_auc(tiny_training):
    holdout = tiny_training.report["holdout"]
    assert holdout["long"]["auc"] > holdout["control_auc"]["long"] + 0.05


def test_holdout_follows_everything_the_final_model_saw(tiny_training):
    windows = tiny_training.metadata["windows"]
    assert windows["train"]["end"] < windows["calibration"]["start"] < windows["calibration"]["end"]
    assert windows["calibration"]["end"] < windows["holdout"]["start"]


def test_report_has_every_promised_measure(tiny_training):
    holdout = tiny_training.report["holdout"]
    long = holdout["long"]
    assert {
        "auc",
        "brier",
        "base_rate_brier",
        "log_loss",
        "calibration",
        "at_threshold",
        "top_fraction",
    } <= set(long)
    assert (
        holdout["direction"]["directional_auc"] is not None
        and len(holdout["return_by_decile"]) == 10
    )
    assert set(holdout["per_symbol"]) == {"BTC_JPY", "ETH_JPY"}


def test_directional_skill_is_not_implausibly_high(tiny_training):
    assert tiny_training.report["holdout"]["direction"]["directional_auc"] < 0.60


def test_percentile_table_is_sorted_probabilities(tiny_training):
    table = np.asarray(tiny_training.metadata["confidence_percentiles"]["long"])
    assert len(table) == 101 and np.all(np.diff(table) >= 0) and 0 < table[0] and table[-1] < 1


def test_platt_fit_recovers_a_known_logistic_map():
    raw = np.repeat(np.linspace(-3, 3, 61), 200)
    rate = 1 / (1 + np.exp(-(2 * np.linspace(-3, 3, 61) - 1)))
    outcome = np.concatenate([np.arange(200) < round(200 * r) for r in rate]).astype(float)
    fitted = fit_platt(raw, outcome)
    assert fitted.slope == pytest.approx(2, abs=0.05) and fitted.intercept == pytest.approx(
        -1, abs=0.05
    )


def test_platt_fit_refuses_a_slice_with_one_outcome():
    with pytest.raises(ValueError, match="both outcomes"):
        fit_platt(np.array([0.1, 0.2]), np.array([0.0, 0.0]))
