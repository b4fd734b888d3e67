"""One threshold rule: the live scalar check and the operating point's vector count the same
signals."""

from __future__ import annotations

import numpy as np

from signaldesk.cycle import candidate_of
from signaldesk.features import FEATURE_NAMES, compute_features
from signaldesk.model.inference import load_model
from signaldesk.rules import threshold_check
from tests.model.conftest import TRAINED_AT


def test_live_rule_and_vector_rule_agree_on_every_bundled_candle(
    tiny_model_dir, bundled_frames, make_settings
):
    model = load_model(tiny_model_dir, TRAINED_AT)
    point = model.operating_point
    strategy = make_settings().strategy
    assert strategy.threshold_source == "model" and point is not None
    fired = 0
    for symbol, frame in bundled_frames.items():
        rows = compute_features(frame)[list(FEATURE_NAMES)].dropna().to_numpy()
        predictions = model.predict_many(rows)
        sides = point.sides(np.array([p.prob_long for p in predictions]))
        for prediction, side in zip(predictions, sides.tolist(), strict=True):
            live = threshold_check(candidate_of(symbol, prediction), strategy).ok
            want = {"LONG": 1, "SHORT": -1}[prediction.direction]
            assert live == (side == want), (symbol, prediction.prob_long)
            fired += live
    # Real candles, the tiny model's own operating point: both sides fire, far from every candle.
    assert 0 < fired < len(bundled_frames) * 100 * 96


def test_both_agree_at_the_exact_cutoffs_and_at_even_odds(tiny_model_dir, make_settings):
    model = load_model(tiny_model_dir, TRAINED_AT)
    point = model.operating_point
    strategy = make_settings().strategy
    edges = [point.long_cutoff, 1.0 - point.short_cutoff, 0.5]
    grid = sorted({x for e in edges for x in (np.nextafter(e, 0), e, np.nextafter(e, 1))})
    sides = point.sides(np.array(grid)).tolist()
    for prob_up, side in zip(grid, sides, strict=True):
        # Synthetic probabilities (labelled edge case): the prediction shape inference builds.
        direction = "LONG" if prob_up >= 0.5 else "SHORT"
        confidence = prob_up if direction == "LONG" else 1.0 - prob_up
        prediction = type(
            "P",
            (),
            dict(
                direction=direction,
                confidence=confidence,
                confidence_rank=0.99,
                prob_long=prob_up,
                prob_short=1.0 - prob_up,
                cutoff=point.cutoff(direction),
                measured_edge=None,
            ),
        )
        live = threshold_check(candidate_of("BTC_JPY", prediction), strategy).ok
        assert live == (side == {"LONG": 1, "SHORT": -1}[direction]), prob_up
