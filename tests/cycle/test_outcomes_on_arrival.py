"""Rows written with their outcomes already filled in equal rows inserted bare and resolved by the
UPDATE; the resolution rule (which candle ends a horizon, the moment a row resolves at, the return)
has one owner.

The predictions are synthetic (probabilities drawn from a seeded generator, labelled as such) on
real bundled candles, whose closes give the forward returns; the pure functions' edge cases use
hand-written times and prices.
"""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta

from signaldesk import signals
from signaldesk.candles import read_candle_csv, save_candles
from signaldesk.clock import to_db
from signaldesk.outcomes import (
    arriving_outcomes,
    forward_return,
    horizon_cutoffs,
    horizon_open_time,
    resolve,
    score_outcomes_through,
)
from signaldesk.signals import Signal
from signaldesk.storage import open_db
from tests.conftest import DATA
from tests.cycle.outcome_rows import prediction

START = datetime(2025, 6, 1, tzinfo=UTC)
STEP = timedelta(minutes=15)
HORIZON = 4
MISSING = START + timedelta(hours=30)  # a candle removed: its prediction can never resolve


def test_the_return_is_exact_in_decimal_then_one_float():
    assert forward_return("9268728.0", "10694867.0") == 0.15386566527791085
    assert 10694867.0 / 9268728.0 - 1 == 0.1538656652779109  # floats would differ in the last bit
    assert forward_return("100", "99") == -0.01


def test_the_horizon_candle_is_the_one_the_sqlite_join_found():
    conn = sqlite3.connect(":memory:")
    for candle_time in ("2025-06-01T23:45:00.000+00:00", "2024-12-31T23:00:00.000+00:00"):
        joined = conn.execute(
            "SELECT strftime('%Y-%m-%dT%H:%M:%f+00:00', ?, '+3600 seconds')", [candle_time]
        ).fetchone()[0]
        assert horizon_open_time(candle_time, HORIZON) == joined
    assert horizon_open_time("2025-06-01T23:45:00.000+00:00", 4) == "2025-06-02T00:45:00.000+00:00"


def test_a_prediction_resolves_at_the_first_moment_after_its_horizon_candle_closed():
    moments = [START + timedelta(hours=2, seconds=20), START + timedelta(hours=3, seconds=20)]
    cutoffs = horizon_cutoffs(HORIZON, moments)
    assert cutoffs == ["2025-06-01T00:45:20.000+00:00", "2025-06-01T01:45:20.000+00:00"]
    times = [to_db(START + STEP * n) for n in (3, 4, 7, 8)]  # 00:45 and 01:00, 01:45 and 02:00
    predictions = [(n, t, "100", "m1", "BTC_JPY") for n, t in enumerate(times)]
    # none for 01:45's (its horizon candle is missing); 02:00's is known but closes after both
    closes = {("BTC_JPY", t): "101" for t in (times[0], times[1], times[3])}
    predictions.append((9, times[0], "100", "m1", "ETH_JPY"))  # no close known for ETH at all
    outcomes, touched = resolve(predictions, closes, moments, cutoffs)
    ret = forward_return("100", "101")
    assert outcomes == [(0, ret, 1, moments[0]), (1, ret, 1, moments[1])]
    assert touched == {
        (moments[0], ("2025-06-01", "m1", "BTC_JPY")),
        (moments[1], ("2025-06-01", "m1", "BTC_JPY")),
    }


def candles_and_rows(db, days: int) -> list[Signal]:
    """Store `days` of real candles (one removed) and return a synthetic row for each candle."""
    rng = random.Random(7)
    rows = []
    for symbol, name in (("BTC_JPY", "btcusdt"), ("ETH_JPY", "ethusdt")):
        found = read_candle_csv(DATA / f"{name}_binance_15m_2025-04_2025-06.csv.gz")
        found = [c for c in found if START <= c.open_time < START + timedelta(days=days)]
        save_candles(db, symbol, "15m", [c for c in found if c.open_time != MISSING], "bundled")
        rows += [prediction(symbol, c, rng) for c in found]
    return sorted(rows, key=lambda r: (r.candle_time, r.symbol))  # as the steps write them


def flushes(path, prefill: bool) -> tuple[list, list]:
    """Write three flushes of rows and their moments, with or without outcomes on arrival; return
    every signals and model_performance row."""
    db = open_db(path)
    rows = candles_and_rows(db, days=3)
    moments = [START + STEP * (n + 1) + timedelta(seconds=20) for n in range(96 * 3)]
    for start, end in ((0, 100), (100, 101), (101, 288)):  # rows maturing later, a lone step
        flushed = rows[2 * start : 2 * end]
        if prefill:
            score_outcomes_through(db, HORIZON, moments[start:end], arriving=flushed)
        else:
            signals.insert_all(db, flushed)
            score_outcomes_through(db, HORIZON, moments[start:end])
    found = (
        db.execute("SELECT * FROM signals ORDER BY id").fetchall(),
        db.execute("SELECT * FROM model_performance ORDER BY id").fetchall(),
    )
    db.close()
    return found


def test_rows_written_with_their_outcomes_equal_rows_resolved_by_the_update(tmp_path, db_path):
    updated, prefilled = tmp_path / "updated.sqlite3", tmp_path / "prefilled.sqlite3"
    for path in (updated, prefilled):
        path.write_bytes(db_path.read_bytes())
    rows, performance = flushes(updated, prefill=False)
    assert (rows, performance) == flushes(prefilled, prefill=True)
    resolved_at = signals.COLUMNS.index("resolved_at")
    assert len([r for r in rows if r[resolved_at] is None]) == 2 * (HORIZON + 1)
    assert len(performance) == 4 * 2 * 2  # per JST day touched, symbol and direction


def test_only_rows_maturing_within_the_flush_arrive_resolved(db):
    rows = candles_and_rows(db, days=2)[: 2 * 96]  # the first day's rows
    moments = [START + STEP * (n + 1) + timedelta(seconds=20) for n in range(96)]
    outcomes, touched = arriving_outcomes(db, HORIZON, moments, rows)
    assert sorted(outcomes) == list(range(2 * (96 - HORIZON)))  # the last hour matures later
    assert outcomes[0][2] == moments[HORIZON]  # 00:00's horizon candle closes at 01:15
    days = ("2025-06-01", "2025-06-02")  # in Japan
    keys = {(day, "m1", symbol) for day in days for symbol in ("BTC_JPY", "ETH_JPY")}
    assert {key for _moment, key in touched} == keys
    assert len(touched) == 2 * (96 - HORIZON)  # each moment resolves one candle of each symbol


def test_rows_after_a_missing_candle_and_stored_rows_are_left_to_the_update(db):
    rows = candles_and_rows(db, days=2)
    moments = [START + STEP * (n + 1) + timedelta(seconds=20) for n in range(96 * 2)]
    outcomes, _touched = arriving_outcomes(db, HORIZON, moments, rows)
    orphans = [n for n, r in enumerate(rows) if r.candle_time == MISSING - HORIZON * STEP]
    assert len(orphans) == 2 and not set(orphans) & set(outcomes)
    signals.insert_all(db, rows[:1])  # a row already stored: none arrive resolved
    score_outcomes_through(db, HORIZON, moments, arriving=rows)
    stored = db.execute("SELECT COUNT(*), COUNT(resolved_at) FROM signals").fetchone()
    assert stored == (len(rows), len(rows) - 2 * HORIZON - len(orphans))
