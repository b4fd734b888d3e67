"""Adoption's reads: with no open position on the exchange, neither strangers nor stray close orders
are looked for, so the desk's trades and fills are not read."""

from __future__ import annotations

from datetime import UTC, datetime

from signaldesk.execution.adopt import adopt_stray_closes, strangers

NOW = datetime(2026, 3, 9, 3, 0, tzinfo=UTC)


class NoExchange:
    """An exchange that must not be asked anything (synthetic: every attribute fails)."""

    def __getattr__(self, name):
        raise AssertionError(f"exchange.{name} was asked for")


def test_nothing_open_reads_nothing(db):
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    try:
        assert strangers(db, NoExchange(), "BTC_JPY", {}, "paper") == []
        positions: dict = {"BTC_JPY": {}, "ETH_JPY": None}  # none open; ETH not read this step
        assert adopt_stray_closes(db, NoExchange(), positions, "paper", NOW) == []
    finally:
        db.conn.set_trace_callback(None)
    assert statements == []
