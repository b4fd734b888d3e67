"""`signaldesk retrain` on replayed real candles: backfill from the fake GMO, train a candidate,
judge it against the active model on the newest block, promote or refuse, tell the bot through the
outbox; then roll back."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
from datetime import UTC, datetime

import pytest

import jobs.retrain
from signaldesk import audit, outbox
from signaldesk.candles import read_candle_csv, save_candles
from signaldesk.model.artifacts import read_metadata, write_version
from signaldesk.model.registry import activate, active_folder, retrained_root, rollback
from signaldesk.model.retraining import GateRules, judge
from signaldesk.storage import open_current_db
from tests.conftest import DATA
from tests.fakes.gmo_server import FakeGmo
from tests.model.conftest import BUNDLED

AT = datetime(2025, 7, 1, 0, 30, tzinfo=UTC)
STORED_UNTIL = datetime(2025, 6, 20, tzinfo=UTC)  # the rest comes from the (fake) exchange
TINY = [
    "--eval-days",
    "21",
    "--test-days",
    "14",
    "--calibration-days",
    "10",
    "--min-train-days",
    "20",
    "--bootstrap",
    "30",
    "--at",
    AT.isoformat(),
    "--json",
]


def retrain(settings, *extra: str) -> tuple[int, dict]:
    """Run `retrain` with the tiny windows; return its exit code and JSON summary."""
    parser = argparse.ArgumentParser()
    jobs.retrain.add_arguments(parser)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = jobs.retrain.run(parser.parse_args([*TINY, *extra]), settings)
    return code, json.loads(printed.getvalue().strip().splitlines()[-1])


def learned_nothing(tiny_training, bundled_frames):
    """Return the tiny model refitted on its own windows with the up/down labels shuffled (no
    skill)."""
    import numpy as np
    import pandas as pd

    from signaldesk.labels import LabelSpec
    from signaldesk.model.training import Fold, Window, build_dataset, fit_model

    windows = tiny_training.metadata["windows"]
    data = build_dataset(bundled_frames, LabelSpec())
    data["up"] = np.random.default_rng(11).permutation(data["up"].to_numpy())
    fold = Fold(
        "learned-nothing",
        *(
            Window(pd.Timestamp(windows[k]["start"]), pd.Timestamp(windows[k]["end"]))
            for k in ("train", "calibration", "holdout")
        ),
    )
    model = fit_model(data, fold)
    return model.booster, {
        **tiny_training.metadata,
        "calibration": model.calibration.to_dict(),
        "percentiles": [float(v) for v in model.percentiles],
        "operating_point": {
            **tiny_training.metadata["operating_point"],
            **model.operating_point.to_dict(),
        },
    }


@pytest.fixture(params=["tiny", "learned-nothing"])
def desk(request, make_settings, db_path, tiny_training, bundled_frames):
    """Return the settings of a desk whose candles stop on 20 June and whose active model is the
    tiny one (trained on exactly the data the candidate will have) or one that learned nothing
    (shuffled labels)."""
    booster, metadata = tiny_training.model.booster, tiny_training.metadata
    if request.param == "learned-nothing":
        booster, metadata = learned_nothing(tiny_training, bundled_frames)
    with FakeGmo() as gmo:
        gmo.load_bundled_klines()
        settings = make_settings(GMO_PUBLIC_URL=gmo.public_url, GMO_PRIVATE_URL=gmo.private_url)
        db = open_current_db(db_path)
        for symbol, name in BUNDLED.items():
            candles = [c for c in read_candle_csv(DATA / name) if c.open_time < STORED_UNTIL]
            save_candles(db, symbol, "15m", candles, "bundled", STORED_UNTIL)
        folder = retrained_root(settings) / f"active-{request.param}"
        write_version(folder, booster, {**metadata, "version": folder.name})
        activate(db, settings, folder.name, STORED_UNTIL, "test", "manual")
        yield request.param, settings, db
        db.close()


@pytest.mark.parametrize("desk", ["learned-nothing"], indirect=True)
def test_a_candidate_that_beats_the_active_model_by_the_margin_is_promoted(desk):
    _, settings, db = desk
    code, summary = retrain(settings)  # the default margin, +0.002 sign AUC
    figures = summary["figures"]
    assert code == 0 and summary["promoted"], summary["reasons"]
    assert figures["difference"] >= 0.002 and figures["block"]["start"].startswith("2025-06-10")
    assert abs(figures["active"]["sign_auc"] - 0.5) < 0.03  # it learned nothing
    newest = db.execute("SELECT MAX(open_time) FROM candles WHERE symbol = 'ETH_JPY'").fetchone()[0]
    assert newest.startswith("2025-06-30T23:45")  # backfilled from the exchange
    assert active_folder(db, settings) == retrained_root(settings) / summary["version"]
    alert = outbox.unsent(db)[-1]
    assert alert.kind == "model_retrain" and "promoted over active-learned-nothing" in alert.text
    assert f"sign AUC {figures['candidate']['sign_auc']:.3f}" in alert.text
    assert f"{figures['difference']:+.4f}" in alert.text and "rollback" in alert.text


@pytest.mark.parametrize("desk", ["tiny"], indirect=True)
def test_a_candidate_no_better_than_the_active_model_is_refused(desk):
    _, settings, db = desk
    code, summary = retrain(settings)
    figures = summary["figures"]
    assert code == 0 and not summary["promoted"]
    # the active model learned from the same candles as the candidate: nothing new, nothing gained
    assert figures["difference"] == pytest.approx(0.0, abs=1e-9)
    assert any("below the margin +0.0020" in reason for reason in summary["reasons"])
    assert active_folder(db, settings).name == "active-tiny"
    metadata = read_metadata(retrained_root(settings) / summary["version"])
    assert metadata["retrain"]["promoted"] is False  # the refused candidate is kept for inspection
    alert = outbox.unsent(db)[-1]
    assert alert.severity == "info" and "NOT promoted; active-tiny stays active" in alert.text


@pytest.mark.parametrize("desk", ["learned-nothing"], indirect=True)
def test_after_a_promotion_rollback_restores_the_previous_model(desk):
    _, settings, db = desk
    _, summary = retrain(settings)
    assert rollback(db, settings, AT, "test") == (summary["version"], "active-learned-nothing")
    assert active_folder(db, settings).name == "active-learned-nothing"
    assert [e["detail"]["reason"] for e in audit.events(db, "model_activate")][:2] == [
        "rollback",
        "retrain",
    ]


FIGURES = {
    "block": {"start": "2025-06-21T00:00:00+00:00", "end": "2025-06-30T23:45:00+00:00", "rows": 1},
    "candidate": {"sign_auc": 0.55},
    "active": {"sign_auc": 0.53},
    "difference": 0.02,
    "active_learned_until": "2025-06-09T00:00:00+00:00",
    "control_auc": {"walk_forward": 0.501, "block": 0.497},
}


def test_the_gate_promotes_a_clean_better_candidate():
    assert judge(FIGURES, None, GateRules(margin=0.002)).promote


@pytest.mark.parametrize(
    "change, words",
    [
        ({"control_auc": {"walk_forward": 0.56, "block": 0.50}}, "leakage or a bug"),
        ({"active_learned_until": "2025-06-25T00:00:00+00:00"}, "no fair comparison yet"),
        ({"difference": 0.001}, "below the margin"),
    ],
)
def test_the_gate_refuses_with_its_reason(change, words):
    verdict = judge({**FIGURES, **change}, None, GateRules(margin=0.002))
    assert not verdict.promote and any(words in reason for reason in verdict.reasons)


def test_an_unscorable_active_model_is_replaced_by_a_clean_candidate():
    verdict = judge({**FIGURES, "active": None}, "retired format 1", GateRules())
    assert verdict.promote and "cannot be scored: retired format 1" in verdict.reasons[-1]
