"""Outcomes resolved through many moments in one pass equal one call per moment; the live AUC is
checked daily.

The predictions are synthetic (probabilities drawn from a seeded generator, labelled as such) on
real bundled candles, whose closes give the forward returns.
"""

from __future__ import annotations

import random
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from signaldesk import outbox, signals, state
from signaldesk.candles import read_candle_csv, save_candles
from signaldesk.cycle_job import LIVE_AUC_KEY, check_live_auc, resolve_and_score
from signaldesk.outcomes import resolve_outcomes, score_outcomes_through, update_performance
from signaldesk.settings import load_settings
from signaldesk.storage import open_db
from tests.conftest import DATA
from tests.cycle.outcome_rows import prediction

START = datetime(2025, 6, 1, tzinfo=UTC)
STEP = timedelta(minutes=15)
HORIZON = 4


def prepare(path, days: int = 3) -> list[datetime]:
    """Store `days` of real BTC and ETH candles (one removed) with a synthetic prediction on each;
    return the moments a cycle runs at over that span."""
    db = open_db(path)
    rng = random.Random(5)
    missing = START + timedelta(hours=30)  # its prediction four candles earlier can never resolve
    for symbol, name in (("BTC_JPY", "btcusdt"), ("ETH_JPY", "ethusdt")):
        rows = read_candle_csv(DATA / f"{name}_binance_15m_2025-04_2025-06.csv.gz")
        rows = [c for c in rows if START <= c.open_time < START + timedelta(days=days)]
        save_candles(db, symbol, "15m", [c for c in rows if c.open_time != missing], "bundled")
        signals.insert_all(db, [prediction(symbol, c, rng) for c in rows])
    db.close()
    return [START + STEP * (n + 1) + timedelta(seconds=20) for n in range(96 * days)]


def tables(path) -> tuple[list, list]:
    """Return every signals row and every model_performance row."""
    db = open_db(path)
    try:
        return (
            db.execute("SELECT * FROM signals ORDER BY id").fetchall(),
            db.execute("SELECT * FROM model_performance ORDER BY id").fetchall(),
        )
    finally:
        db.close()


def test_resolving_through_many_moments_equals_one_call_per_moment(tmp_path, db_path):
    one_by_one, in_bulk = tmp_path / "one.sqlite3", tmp_path / "bulk.sqlite3"
    for path in (one_by_one, in_bulk):
        path.write_bytes(db_path.read_bytes())
    moments = prepare(one_by_one)
    prepare(in_bulk)
    db = open_db(one_by_one)
    for now in moments:
        update_performance(db, resolve_outcomes(db, HORIZON, now), now)
    db.close()
    db = open_db(in_bulk)
    score_outcomes_through(db, HORIZON, moments[:100])
    score_outcomes_through(db, HORIZON, moments[100:])
    db.close()

    rows, performance = tables(one_by_one)
    assert (rows, performance) == tables(in_bulk)
    resolved_at = signals.COLUMNS.index("resolved_at")
    unresolved = [r for r in rows if r[resolved_at] is None]
    assert len(unresolved) == 2 * (
        HORIZON + 1
    )  # per symbol: the last hour, and the missing candle's
    assert (
        len(performance) == 4 * 2 * 2
    )  # per JST day touched (06-01 .. 06-04), symbol and direction


def test_the_live_auc_is_checked_once_a_jst_day(db_path):
    moments = prepare(db_path, days=3)
    settings = load_settings(environ={})
    db = open_db(db_path)
    try:
        for now in moments[:59]:  # 2025-06-01 in Japan
            resolve_and_score(db, settings, "m1", now)
        first = state.get_value(db, LIVE_AUC_KEY)
        assert first == f"m1 {moments[0].astimezone(settings.report.tz).date()}"
        checked_at = db.execute(
            "SELECT updated_at FROM system_state WHERE key = ?", [LIVE_AUC_KEY]
        ).fetchone()
        assert checked_at[0] == "2025-06-01T00:15:20.000+00:00"  # the first cycle of that JST day
        strict = replace(settings, health=replace(settings.health, min_live_auc=1.0))
        for now in moments[59:155]:  # 2025-06-02 in Japan: 15:00 UTC on 06-01 to 15:00 UTC on 06-02
            check_live_auc(db, strict, "m1", now)
        alerts = [a for a in outbox.unsent(db, 50) if a.kind == "model_auc"]
        assert len(alerts) == 1 and "below 1.00" in alerts[0].text  # one check a JST day
        check_live_auc(db, strict, "m1", moments[155])  # 2025-06-03 in Japan
        assert len([a for a in outbox.unsent(db, 50) if a.kind == "model_auc"]) == 2
    finally:
        db.close()


def test_outcomes_and_their_scores_commit_together(db_path):
    moments = prepare(db_path, days=1)
    settings = load_settings(environ={})
    db = open_db(db_path)
    try:
        db.execute(
            "CREATE TRIGGER refuse_scores BEFORE INSERT ON model_performance "
            "BEGIN SELECT RAISE(ABORT, 'disk full (injected)'); END"
        )
        for resolve in (
            lambda: score_outcomes_through(db, HORIZON, moments),
            lambda: resolve_and_score(db, settings, "m1", moments[-1]),
        ):
            with pytest.raises(sqlite3.IntegrityError, match="injected"):
                resolve()
            resolved = db.execute("SELECT COUNT(*) FROM signals WHERE resolved_at IS NOT NULL")
            assert resolved.fetchone()[0] == 0  # rolled back with the scores: resolved next time
        db.execute("DROP TRIGGER refuse_scores")
        score_outcomes_through(db, HORIZON, moments)
        assert db.execute("SELECT COUNT(*) FROM model_performance").fetchone()[0] == 2 * 2 * 2
    finally:
        db.close()
