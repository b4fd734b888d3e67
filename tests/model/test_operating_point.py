"""The operating point: rank cutoffs of a model's own calibration-window scores for a target
rate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from signaldesk.model.operating import OperatingPoint, choose_operating_point
from signaldesk.model.training import calendar_days, score_rows, window_rows


def test_cutoffs_fire_the_target_rate_half_a_side_on_the_scores_they_came_from():
    # Synthetic scores (labelled edge case): 10 days x 200 candles, 1.5 a day over both sides.
    prob_up = np.linspace(0.40, 0.60, 2000)
    point = choose_operating_point(prob_up, 10, 1.5)
    sides = point.sides(prob_up)
    assert (sides == 1).sum() == 8 and (sides == -1).sum() == 8  # round(0.75 * 10) a side
    assert point.long_cutoff == prob_up[-8] and point.short_cutoff == pytest.approx(1 - prob_up[7])


def test_a_side_fires_only_at_its_cutoff_and_only_on_the_larger_side():
    point = OperatingPoint(1.5, 0.56, 0.57, 0.004, 0.004, 61)
    prob_up = np.array([0.56, 0.5599, 0.43, 0.4301, 0.5])
    assert point.sides(prob_up).tolist() == [1, 0, -1, 0, 0]
    lopsided = OperatingPoint(1.5, 0.45, 0.45, 0.5, 0.5, 61)  # cutoffs below 0.5 never flip a side
    assert lopsided.sides(np.array([0.49, 0.51])).tolist() == [-1, 1]


def test_the_final_model_s_cutoffs_come_from_its_own_calibration_window(tiny_training):
    data_window = tiny_training.metadata["operating_point"]["window"]
    assert data_window == tiny_training.metadata["windows"]["calibration"]


def test_on_its_calibration_window_the_model_fires_its_target_rate(tiny_training, bundled_frames):
    from signaldesk.labels import LabelSpec
    from signaldesk.model.training import Window, build_dataset

    window = tiny_training.metadata["windows"]["calibration"]
    held = window_rows(
        build_dataset(bundled_frames, LabelSpec()),
        Window(pd.Timestamp(window["start"]), pd.Timestamp(window["end"])),
    )
    fired = score_rows(tiny_training.model, held)["side"]
    target = tiny_training.metadata["operating_point"]["signals_per_day"] / 2 * calendar_days(held)
    assert (fired == 1).sum() == round(target) and (fired == -1).sum() <= round(target)
