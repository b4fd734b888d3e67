"""The system state the risk snapshot reads (halt, its reason, the equity peak) in one query, equal to
the separate reads."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from signaldesk.risk import PEAK_KEY, equity_peak, peak_in
from signaldesk.state import (
    TRADING_KEYS,
    TradingState,
    halt,
    set_value,
    state_rows,
    trading_state,
    trading_state_in,
)

NOW = datetime(2026, 3, 9, 3, 0, tzinfo=UTC)


def test_one_read_holds_the_halt_its_reason_and_the_peak(db):
    halt(db, "daily loss limit", NOW, "risk")
    set_value(db, PEAK_KEY, "1012345.5", NOW, "risk")
    rows = state_rows(db, (*TRADING_KEYS, PEAK_KEY))
    assert trading_state_in(rows) == trading_state(db)
    assert trading_state_in(rows) == TradingState(True, "daily loss limit", NOW, "risk")
    assert peak_in(rows) == equity_peak(db) == Decimal("1012345.5")


def test_keys_never_stored_read_as_running_and_no_peak(db):
    db.execute("DELETE FROM system_state")
    rows = state_rows(db, (*TRADING_KEYS, PEAK_KEY))
    assert rows == {}
    assert trading_state_in(rows) == TradingState(False, "", None, "") == trading_state(db)
    assert peak_in(rows) is None and equity_peak(db) is None
