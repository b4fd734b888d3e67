"""Training and honest evaluation on the bundled real candles: time order, gaps, controls,
calibration, report."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from signaldesk.features import compute_features
from signaldesk.labels import LabelSpec
from signaldesk.model.calibration import fit_platt
from signaldesk.model.evaluation import sign_auc
from signaldesk.model.pipeline import TrainingError, check_no_lookahead, random_cuts
from signaldesk.model.report import markdown
from signaldesk.model.training import (
    Fold,
    Window,
    build_dataset,
    control_scores,
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
    scores = control_scores(data, fold, test, seeds=(11, 12, 13, 14, 15))
    aucs = [sign_auc(test["up"].to_numpy(), scores[c].to_numpy()) for c in scores]
    assert np.mean(aucs) == pytest.approx(0.5, abs=0.02)


def test_real_labels_beat_the_shuffled_control_out_of_sample(tiny_training):
    for key in ("walk_forward", "holdout"):
        block = tiny_training.report[key]["current"]["overall"]["all"]
        assert block["sign_auc"] > block["control_auc"]["mean"] + 0.01, key


def test_holdout_follows_everything_the_final_model_saw(tiny_training):
    windows = tiny_training.metadata["windows"]
    assert windows["train"]["end"] < windows["calibration"]["start"] < windows["calibration"]["end"]
    assert windows["calibration"]["end"] < windows["holdout"]["start"]
    assert tiny_training.holdout_rows["open_time"].min().isoformat() >= windows["holdout"]["start"]


def test_report_has_every_promised_measure(tiny_training):
    holdout = tiny_training.report["holdout"]["current"]
    block = holdout["overall"]["all"]
    assert {"sign_auc", "sign_auc_ci", "operating_point", "control_auc", "probability"} <= set(
        block
    )
    point = block["operating_point"]
    assert {"per_day", "long_per_day", "short_per_day", "hit_rate", "gross_bps", "net_bps"} <= set(
        point
    )
    assert point["net_ci_bps"][0] <= point["net_bps"] <= point["net_ci_bps"][1]
    assert set(holdout["overall"]) == {"all", "BTC_JPY", "ETH_JPY"}
    assert {(r["month"], r["symbol"]) for r in holdout["months"]} == {
        ("2025-06", s) for s in ("all", "BTC_JPY", "ETH_JPY")
    }


def test_the_old_design_is_scored_on_the_same_rows(tiny_training):
    for key in ("walk_forward", "holdout"):
        new, old = (tiny_training.report[key][d]["overall"]["all"] for d in ("current", "baseline"))
        assert new["rows"] == old["rows"] and new["first"] == old["first"]
        assert old["sign_auc"] is not None and old["sign_auc"] != new["sign_auc"]


def test_net_edge_is_gross_minus_the_stated_costs(tiny_training):
    point = tiny_training.report["walk_forward"]["current"]["overall"]["all"]["operating_point"]
    costs = point["gross_bps"] - point["net_bps"]
    assert 4.3 - 1e-9 <= costs <= 4.3 + 4.0 + 1e-9  # the spread on every trade, the fee on some


def test_edge_verdict_follows_the_interval(tiny_training):
    edge = tiny_training.metadata["edge"]
    assert edge["measured"] == (edge["net_ci_bps"][0] > 0)
    assert edge["verdict"].startswith("no measured edge") != edge["measured"]


def test_the_report_ends_with_what_to_expect(tiny_training):
    text = markdown({**tiny_training.report, "data_note": ""}, "tiny")
    sections = [line for line in text.splitlines() if line.startswith("## ")]
    assert sections[-1] == "## What to expect"
    assert "| 2025-06 | all |" in text and "old (v1)" in text and "shuffled control" in text
    assert tiny_training.metadata["expectations"] == tiny_training.report["expectations"]


def test_directional_skill_is_not_implausibly_high(tiny_training):
    assert tiny_training.report["holdout"]["current"]["overall"]["all"]["sign_auc"] < 0.60


def test_percentile_table_is_sorted_probabilities(tiny_training):
    table = np.asarray(tiny_training.metadata["percentiles"])
    assert len(table) == 1001 and np.all(np.diff(table) >= 0) and 0 < table[0] and table[-1] < 1


def test_lookahead_cuts_are_spread_across_the_whole_history():
    cuts = random_cuts(87_000, 24, seed=5)
    assert len(set(cuts)) == 24 and min(cuts) < 0.1 * 87_000 and max(cuts) > 0.9 * 87_000


def test_the_training_lookahead_check_refuses_a_feature_built_from_the_future(bundled_frames):
    def leaky(frame):
        features = compute_features(frame)
        features["next_close"] = frame["close"].shift(-1) / frame["close"]
        return features

    frames = {"BTC_JPY": bundled_frames["BTC_JPY"]}
    assert check_no_lookahead(frames, 4)["leaking"] == []
    with pytest.raises(TrainingError, match="next_close.*look ahead"):
        check_no_lookahead(frames, 4, compute=leaky)


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
