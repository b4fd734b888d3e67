"""Notices for the person: what the desk just did with their trade, as data the bot renders.

A `Notice` is its English sentence (for logs, tests and any caller that only needs text) plus what
the sentence was made from: a `kind`, the trade it belongs to and the values in it. The bot renders
the kind and values in the trader's language, threads the notice under its trade's card and decides
from the kind how loudly to tell it; nothing here knows about Telegram or languages.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType

from signaldesk.execution.records import OrderIntent, OrderRow, TradeRow
from signaldesk.money import exit_words, yen

PURPOSE_WORDS = {
    "entry": "Entry",
    "stop": "Stop-loss",
    "take_profit_1": "Take-profit 1",
    "take_profit_2": "Take-profit 2",
    "exit": "Exit",
}
# Why the exchange ended an order (GMO's cancelType), for the English sentence; the bot has its own
# words.
ENDED_WHY = {
    "EXPIRED_SOK": "it would have taken liquidity (post-only)",
    "EXPIRED_FAK": "the price moved away before it filled",
    "USER": "cancelled outside the desk (GMO website or another API client)",
}
# What each kind of notice is about, for the bot's notification settings (on / silent / off).
EVENTS = {
    "placed": "entry",
    "rejected": "warning",
    "filled": "fill",
    "ended": "entry",
    "trade_opened": "fill",
    "stop_to_break_even": "stop_move",
    "trade_closed": "exit",
    "trade_cancelled": "entry",
    "moved": "stop_move",
    "withdrawn": "entry",
    "trailed": "stop_move",
    "closed_outside": "warning",
    "close_followed": "warning",
    "owner_unclear": "warning",
    "answer_found": "warning",
    "never_placed": "warning",
    "management_back": "warning",
    # critical alerts: they ring even in quiet hours
    "adopted": "alert",
    "unprotected": "alert",
    "management_halt": "alert",
    "drawdown_halt": "alert",
    "loss_streak_pause": "warning",
}
# Kinds queued in the outbox where they happen (issue 14's alerts): the bot does not tell them
# twice.
QUEUED = frozenset(
    {"adopted", "unprotected", "management_halt", "drawdown_halt", "loss_streak_pause"}
)


class Notice(str):
    """One notice: the English sentence, plus `kind`, `trade_id` and the `values` behind it."""

    kind: str
    trade_id: int | None
    values: Mapping

    def __new__(cls, text: str, kind: str, trade_id: int | None = None, **values) -> Notice:
        notice = super().__new__(cls, text)
        notice.kind, notice.trade_id = kind, trade_id
        notice.values = MappingProxyType(values)
        return notice

    @property
    def event(self) -> str:
        """Return the notification event of this notice (entry, fill, stop_move, exit, warning,
        alert)."""
        if self.kind == "filled" and self.values.get("purpose") != "entry":
            return (
                "stop_move"  # a take-profit or stop fill: the trade's close notice tells the result
            )
        return EVENTS.get(self.kind, "warning")


def money(value: Decimal | None) -> str:
    """Render a JPY amount or price for a person (English sentence)."""
    return "-" if value is None else f"{value:,.0f}"


def order_values(order: OrderIntent | OrderRow) -> dict:
    """Return what a notice says about one order."""
    return {
        "purpose": order.purpose,
        "side": order.side,
        "size": order.size,
        "symbol": order.symbol,
        "price": order.price,
        "time_in_force": order.time_in_force,
        "execution_type": order.execution_type,
    }


def order_words(trade_id: int | None, order: OrderIntent | OrderRow) -> str:
    """Describe an order in one phrase."""
    at = f" at {money(order.price)}" if order.price is not None else " at market"
    kind = {"SOK": " (post-only)", "FAS": " (limit)"}.get(order.time_in_force or "", "")
    if order.execution_type == "STOP":
        kind = " (stop order on the exchange)"
    return (
        f"{PURPOSE_WORDS[order.purpose]} {order.side} {order.size} {order.symbol}{at}{kind} "
        f"- trade #{trade_id}"
    )


def placed(trade_id: int | None, order: OrderRow) -> Notice:
    """Say an order is on the exchange."""
    text = f"Placed: {order_words(trade_id, order)}."
    return Notice(text, "placed", trade_id, **order_values(order))


def rejected(trade_id: int | None, intent: OrderIntent, error: str) -> Notice:
    """Say the exchange refused an order."""
    text = f"Refused by the exchange: {order_words(trade_id, intent)}. {error}"
    return Notice(text, "rejected", trade_id, error=error, **order_values(intent))


def filled(trade_id: int | None, order: OrderRow, size: Decimal, price: Decimal | None) -> Notice:
    """Say an order (partly) filled."""
    whole = "Filled" if size >= order.size else f"Partly filled ({size} of {order.size})"
    text = (
        f"{whole}: {PURPOSE_WORDS[order.purpose]} {order.side} {order.symbol} at {money(price)} "
        f"- trade #{trade_id}."
    )
    values = {**order_values(order), "price": price, "filled": size, "whole": size >= order.size}
    return Notice(text, "filled", trade_id, **values)


def ended(trade_id: int | None, order: OrderRow, status: str, cancel_type: str | None) -> Notice:
    """Say an order ended without filling completely (withdrawn by the desk, or ended by the
    exchange)."""
    purpose = PURPOSE_WORDS[order.purpose]
    values = {**order_values(order), "status": status, "cancel_type": cancel_type}
    if status == "CANCELED" and order.cancel_reason:
        text = f"{purpose} order of trade #{trade_id} withdrawn by the desk: {order.cancel_reason}."
        return Notice(text, "withdrawn", trade_id, reason=order.cancel_reason, **values)
    why = ENDED_WHY.get(cancel_type or "", cancel_type or status)
    text = f"{purpose} order of trade #{trade_id} ended ({status.lower()}): {why}."
    return Notice(text, "ended", trade_id, **values)


def trade_values(trade: TradeRow) -> dict:
    """Return what a notice says about one trade."""
    return {"direction": trade.direction, "symbol": trade.symbol}


def trade_closed(trade: TradeRow, changes: dict, leverage_fees: Decimal | None = None) -> Notice:
    """Say a trade is closed, with its result after every fee (naming leverage fees, if any)."""
    lev = f" incl. leverage fees {yen(leverage_fees)}" if leverage_fees else ""
    text = (
        f"Trade #{trade.id} {trade.direction} {trade.symbol} closed by "
        f"{exit_words(changes['exit_reason'])}: exit {money(changes['exit_price'])}, P/L "
        f"{yen(changes['pnl_jpy'], signed=True)} ({changes['pnl_pct']:+.2f}%), fees "
        f"{yen(changes['fees_jpy'])}{lev}."
    )
    values = {k: changes.get(k) for k in ("exit_reason", "exit_price", "pnl_jpy", "pnl_pct")}
    return Notice(text, "trade_closed", trade.id, fees_jpy=changes.get("fees_jpy"),
                  leverage_fees_jpy=leverage_fees, **values, **trade_values(trade))  # fmt: skip


def trade_opened(trade: TradeRow, changes: dict) -> Notice:
    """Say a trade has a position."""
    text = (
        f"Trade #{trade.id} {trade.direction} {trade.symbol} is open: {changes['filled_size']} at "
        f"{money(changes['entry_price'])}; stop {money(trade.stop_loss)}, take-profits "
        f"{money(trade.take_profit_1)} / {money(trade.take_profit_2)}, time stop "
        f"{changes['time_stop_at']:%H:%M} UTC."
    )
    values = {k: changes.get(k) for k in ("filled_size", "entry_price", "time_stop_at")}
    return Notice(text, "trade_opened", trade.id, stop_loss=trade.stop_loss, **values,
                  **trade_values(trade))  # fmt: skip


def trade_cancelled(trade: TradeRow) -> Notice:
    """Say a trade never got a fill."""
    text = (
        f"Trade #{trade.id} {trade.direction} {trade.symbol} cancelled: the entry did not fill "
        "within the window."
    )
    return Notice(text, "trade_cancelled", trade.id, **trade_values(trade))


def moved(trade_id: int | None, purpose: str, price: Decimal) -> Notice:
    """Say a resting order moved to a new price (an entry re-quoted, a stop moved)."""
    text = f"Trade #{trade_id}: {PURPOSE_WORDS[purpose].lower()} moved to {money(price)}."
    return Notice(text, "moved", trade_id, purpose=purpose, price=price)


def stop_to_break_even(trade: TradeRow, price: Decimal) -> Notice:
    """Say the stop moved to break-even."""
    text = f"Trade #{trade.id}: take-profit 1 done; stop moved to break-even at {money(price)}."
    return Notice(text, "stop_to_break_even", trade.id, price=price, **trade_values(trade))
