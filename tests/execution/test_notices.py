"""Notices are data: the English sentence, plus the kind, trade and values the bot renders."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from signaldesk.execution import notices as say
from signaldesk.execution.records import OrderRow, TradeRow

NOW = datetime(2025, 6, 17, 1, 0, tzinfo=UTC)


def order(purpose: str = "entry", **values) -> OrderRow:
    row = dict(id=1, trade_id=7, purpose=purpose, symbol="BTC_JPY", side="BUY", settle="OPEN",
               execution_type="LIMIT", time_in_force="SOK", price=Decimal("15230000"),
               size=Decimal("0.0012"), executed_size=Decimal(0), status="OPEN",
               exchange_order_id=11, cancel_type=None, error=None, attempt=1, position_id=None,
               reason=None, created_at=NOW)  # fmt: skip
    return OrderRow(**{**row, **values})


def trade(**values) -> TradeRow:
    row = dict(id=7, signal_id=3, symbol="BTC_JPY", direction="LONG", status="open",
               mode="paper", size=Decimal("0.0012"), filled_size=Decimal("0.0012"),
               remaining_size=Decimal("0.0012"), entry_price=Decimal("15230000"), exit_price=None,
               stop_loss=Decimal("15100000"), take_profit_1=Decimal("15360000"),
               take_profit_2=Decimal("15490000"), tp1_done=False, entry_time=NOW, exit_time=None,
               time_stop_at=None, exit_reason=None, pnl_jpy=None, pnl_pct=None,
               fees_jpy=Decimal(0), created_at=NOW)  # fmt: skip
    return TradeRow(**{**row, **values})


def test_a_placed_entry_is_its_sentence_and_its_data():
    notice = say.placed(7, order())
    assert notice == "Placed: Entry BUY 0.0012 BTC_JPY at 15,230,000 (post-only) - trade #7."
    assert (notice.kind, notice.trade_id, notice.event) == ("placed", 7, "entry")
    assert notice.values["price"] == Decimal("15230000")
    assert notice.values["time_in_force"] == "SOK"


def test_fills_of_the_entry_and_of_an_exit_are_different_events():
    assert say.filled(7, order(), Decimal("0.0012"), Decimal("15230000")).event == "fill"
    tp1_order = order("take_profit_1", side="SELL")
    tp1 = say.filled(7, tp1_order, Decimal("0.0006"), Decimal("15360000"))
    assert tp1.event == "stop_move" and tp1.values["whole"] is False


def test_a_closed_trade_carries_its_result_and_is_an_exit():
    changes = {"exit_reason": "tp2", "exit_price": Decimal("15490000"), "pnl_jpy": Decimal("312.4"),
               "pnl_pct": Decimal("1.71"), "fees_jpy": Decimal("-4")}  # fmt: skip
    notice = say.trade_closed(trade(), changes)
    assert notice.startswith("Trade #7 LONG BTC_JPY closed by take-profit 2")
    assert notice.event == "exit" and notice.values["pnl_jpy"] == Decimal("312.4")
    assert notice.values["symbol"] == "BTC_JPY"


def test_notices_cannot_be_changed_after_they_are_made():
    notice = say.stop_to_break_even(trade(), Decimal("15230000"))
    assert notice.event == "stop_move"
    try:
        notice.values["price"] = Decimal(0)
    except TypeError:
        pass
    else:
        raise AssertionError("notice values must be read-only")
