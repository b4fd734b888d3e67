"""The live side of the model on a real temp database: direction AUC of resolved predictions, how
often the model fired, and the firing-rate drift alert through the outbox (labelled rows: which
candles fired is the input)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from signaldesk import outbox
from signaldesk.clock import to_db
from signaldesk.cycle_job import check_firing_rate
from signaldesk.model.operating import OperatingPoint
from signaldesk.outcomes import auc, firing_counts, trailing_auc

NOW = datetime(2025, 6, 30, 12, 0, tzinfo=UTC)
SYMBOLS = ("BTC_JPY", "ETH_JPY")


def add_rows(db, model, days, fired_every, prob=lambda n: 0.5, ret=lambda n: None, symbols=SYMBOLS):
    """Insert one scored row per symbol and 15-minute candle over the last `days`; every n-th one
    fired."""
    rows, start = [], NOW - timedelta(days=days)
    for n in range(days * 96):
        moment = start + timedelta(minutes=15 * n)
        for symbol in symbols:
            status = "PENDING" if fired_every and n % fired_every == 0 else "LOGGED"
            rows.append(
                [to_db(moment), symbol, to_db(moment), prob(n), 1 - prob(n), model, status, ret(n)]
            )
    db.conn.executemany(
        "INSERT INTO signals (created_at, symbol, candle_time, prob_long, prob_short, model_version, status, "
        "outcome_return, features) VALUES (?, ?, ?, ?, ?, ?, ?, ?, '{}')",
        rows,
    )
    db.conn.commit()


def test_live_auc_ranks_rises_above_falls_and_leaves_flat_closes_out(db):
    probs = [0.40, 0.45, 0.55, 0.60, 0.52]
    returns = [-0.002, 0.001, -0.001, 0.003, 0.0]  # the last closed flat: neither up nor down
    add_rows(db, "v2", 5, 0, prob=lambda n: probs[n % 5], ret=lambda n: returns[n % 5])
    add_rows(db, "other", 5, 0, lambda n: 0.9, lambda n: -0.01, ("BTC", "ETH"))  # not v2's rows
    assert auc([0, 1, 0, 1], probs[:4]) == 0.75
    assert trailing_auc(db, "v2", NOW - timedelta(days=6)) == pytest.approx(0.75)


def test_live_auc_waits_for_enough_resolved_rows(db):
    add_rows(db, "v2", 1, 0, prob=lambda n: 0.5 + (n % 2) / 10, ret=lambda n: 0.001 * (n % 2 - 0.5))
    assert trailing_auc(db, "v2", NOW - timedelta(hours=5)) is None  # 40 rows, fewer than 100


def test_firing_counts_count_candles_past_threshold_and_rank(db):
    add_rows(db, "v2", 1, 10)
    assert firing_counts(db, "v2", NOW - timedelta(days=2)) == (2 * 10, 2 * 96)


@pytest.fixture
def model():
    """A model as the cycle holds it: its version, its symbols and its operating point (1.5 a
    day)."""
    point = OperatingPoint(1.5, 0.62, 0.58, 0.004, 0.004, 61)
    return SimpleNamespace(version="v2", operating_point=point, metadata={"symbols": list(SYMBOLS)})


@pytest.mark.parametrize("fired_every, alerts", [(128, False), (1000, True), (20, True)])
def test_a_drifting_firing_rate_raises_one_warning_a_day(
    make_settings, db, model, fired_every, alerts
):
    # Over 7 days x 192 candles: every 128th candle is 1.5 a day; every 1000th 0.2; every 20th 9.6.
    add_rows(db, "v2", 7, fired_every)
    settings = make_settings()
    check_firing_rate(db, settings, model, NOW)
    check_firing_rate(db, settings, model, NOW + timedelta(minutes=15))
    warnings = [a for a in outbox.unsent(db) if a.kind == "firing_rate"]
    assert len(warnings) == (1 if alerts else 0)
    if alerts:
        assert "its operating point fires 1.50 a day" in warnings[0].text


def test_fixed_thresholds_are_not_judged_against_the_model_s_rate(
    make_settings, db, model, tmp_path
):
    add_rows(db, "v2", 7, 20)
    config = tmp_path / "config.toml"
    config.write_text('[strategy]\nthreshold_source = "settings"\n')
    check_firing_rate(db, make_settings(SIGNALDESK_CONFIG=str(config)), model, NOW)
    assert outbox.unsent(db) == []
