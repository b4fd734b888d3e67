"""Would-have outcomes replay the desk's own plan with the backtest's own rules: for a signal that
was traded the replay reproduces the real trade to the last decimal; rejected ones get their
outcome in yen; the person's value added is minus what the rejected and expired signals would
have made, with a bootstrap interval."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from signaldesk import signals
from signaldesk.value import bootstrap, person_value, review
from signaldesk.wouldhave import (
    candles_for,
    equity_then,
    load_outcomes,
    simulate,
    simulate_due,
    tradable,
)
from tests.money.conftest import WEEK

UNTIL = WEEK[1]
ZERO = Decimal(0)


@pytest.fixture
def desk(paper_week):
    """Return the replayed paper week's database and settings."""
    return paper_week[:2]


def test_a_traded_signals_would_have_is_its_real_trade(desk):
    db, settings = desk
    compared = 0
    for signal in signals.select(db, "status = 'EXECUTED' ORDER BY id"):
        trade = db.execute(
            "SELECT status, pnl_jpy, exit_reason, exit_time FROM trades WHERE signal_id = ?",
            [signal.id],
        ).fetchone()
        candles = candles_for(db, signal, settings)
        if trade[0] != "closed" or candles is None:
            continue
        outcome = simulate(signal, candles, settings, equity_then(db, settings, signal.created_at))
        assert (outcome.outcome, outcome.pnl_jpy, outcome.exit_reason) == (
            "closed",
            Decimal(trade[1]),
            trade[2],
        )
        assert outcome.exit_time.isoformat() == datetime.fromisoformat(trade[3]).isoformat()
        compared += 1
    assert compared >= 2


def test_rejected_signals_get_their_outcome_in_yen(desk):
    db, settings = desk
    rejected = signals.select(db, "status = 'REJECTED' ORDER BY id")
    assert len(rejected) >= 2 and all(tradable(s) for s in rejected)
    simulate_due(db, settings, UNTIL + timedelta(days=1))  # (golive may have run it already)
    outcomes = load_outcomes(db, [s.id for s in rejected])
    assert set(outcomes) == {s.id for s in rejected}
    closed = [o for o in outcomes.values() if o.outcome == "closed"]
    assert closed and all(o.exit_reason and o.size > 0 for o in closed)
    assert simulate_due(db, settings, UNTIL + timedelta(days=1)) == 0  # each signal once


def test_value_added_is_minus_what_the_rejections_would_have_made(desk):
    db, settings = desk
    simulate_due(db, settings, UNTIL + timedelta(days=1))
    r = review(db, UNTIL + timedelta(days=1), None, 0.62)
    would = sum(
        (o.pnl_jpy for o in load_outcomes(db).values() if o.status in ("REJECTED", "EXPIRED")),
        ZERO,
    )
    assert r.rejected.count >= 2 and r.rejected.resolved == r.rejected.count
    assert r.value_added_jpy == -would
    low, high = r.interval_jpy
    assert low <= r.value_added_jpy <= high
    assert r.scored > 0 and r.backtest_hit_rate == 0.62


def test_person_value_on_hand_made_outcomes():
    # synthetic rows: (id, status, trade status, trade P/L, would-have outcome, would-have P/L)
    rows = [
        (1, "EXECUTED", "closed", "500", None, None),
        (2, "REJECTED", None, None, "closed", "-300"),
        (3, "EXPIRED", None, None, "closed", "200"),
        (4, "EXECUTED", "open", None, None, None),  # not known yet: left out
        (5, "REJECTED", None, None, None, None),  # not simulated yet: left out
    ]
    added, interval, baseline = person_value(rows)
    assert added == Decimal("100")  # turned down -300 and +200
    # approving everything known: 500 - 300 + 200 = 400; 2 of 3 turned down at random: -400 * 2 / 3
    assert baseline == Decimal("-400") * 2 / 3
    assert interval[0] <= added <= interval[1]


def test_bootstrap_is_seeded_and_empty_without_outcomes():
    values = [Decimal(v) for v in ("-300", "0", "200", "0", "50")]
    assert bootstrap(values) == bootstrap(values)
    low, high = bootstrap(values)
    assert low < sum(values, ZERO) < high
    assert bootstrap([]) is None
