"""Plain-text notices for the person: what the desk just did with their trade (the bot sends them as they are)."""

from __future__ import annotations

from decimal import Decimal

from signaldesk.execution.records import OrderIntent, OrderRow, TradeRow
from signaldesk.money import exit_words, yen

PURPOSE_WORDS = {
    "entry": "Entry",
    "stop": "Stop-loss",
    "take_profit_1": "Take-profit 1",
    "take_profit_2": "Take-profit 2",
    "exit": "Exit",
}


def money(value: Decimal | None) -> str:
    """Render a JPY amount or price for a person."""
    return "-" if value is None else f"{value:,.0f}"


def order_words(trade_id: int | None, order: OrderIntent | OrderRow) -> str:
    """Describe an order in one phrase."""
    at = f" at {money(order.price)}" if order.price is not None else " at market"
    kind = {"SOK": " (post-only)", "FAS": " (limit)"}.get(order.time_in_force or "", "")
    if order.execution_type == "STOP":
        kind = " (stop order on the exchange)"
    return f"{PURPOSE_WORDS[order.purpose]} {order.side} {order.size} {order.symbol}{at}{kind} - trade #{trade_id}"


def placed(trade_id: int | None, order: OrderRow) -> str:
    """Say an order is on the exchange."""
    return f"Placed: {order_words(trade_id, order)}."


def rejected(trade_id: int | None, intent: OrderIntent, error: str) -> str:
    """Say the exchange refused an order."""
    return f"Refused by the exchange: {order_words(trade_id, intent)}. {error}"


def filled(trade_id: int | None, order: OrderRow, size: Decimal, price: Decimal | None) -> str:
    """Say an order (partly) filled."""
    whole = "Filled" if size >= order.size else f"Partly filled ({size} of {order.size})"
    return f"{whole}: {PURPOSE_WORDS[order.purpose]} {order.side} {order.symbol} at {money(price)} - trade #{trade_id}."


def ended(trade_id: int | None, order: OrderRow, status: str, cancel_type: str | None) -> str:
    """Say an order ended without filling completely (withdrawn by the desk, or ended by the exchange)."""
    if status == "CANCELED" and order.cancel_reason:
        return f"{PURPOSE_WORDS[order.purpose]} order of trade #{trade_id} withdrawn by the desk: {order.cancel_reason}."
    why = {
        "EXPIRED_SOK": "it would have taken liquidity (post-only)",
        "EXPIRED_FAK": "the price moved away before it filled",
        "USER": "cancelled outside the desk (GMO website or another API client)",
    }.get(cancel_type or "", cancel_type or status)
    return f"{PURPOSE_WORDS[order.purpose]} order of trade #{trade_id} ended ({status.lower()}): {why}."


def trade_closed(trade: TradeRow, changes: dict, leverage_fees: Decimal | None = None) -> str:
    """Say a trade is closed, with its result after every fee (naming leverage fees, if any)."""
    lev = f" incl. leverage fees {yen(leverage_fees)}" if leverage_fees else ""
    return (
        f"Trade #{trade.id} {trade.direction} {trade.symbol} closed by "
        f"{exit_words(changes['exit_reason'])}: exit {money(changes['exit_price'])}, P/L "
        f"{yen(changes['pnl_jpy'], signed=True)} ({changes['pnl_pct']:+.2f}%), fees "
        f"{yen(changes['fees_jpy'])}{lev}."
    )


def trade_opened(trade: TradeRow, changes: dict) -> str:
    """Say a trade has a position."""
    return (
        f"Trade #{trade.id} {trade.direction} {trade.symbol} is open: {changes['filled_size']} at "
        f"{money(changes['entry_price'])}; stop {money(trade.stop_loss)}, take-profits "
        f"{money(trade.take_profit_1)} / {money(trade.take_profit_2)}, time stop {changes['time_stop_at']:%H:%M} UTC."
    )


def trade_cancelled(trade: TradeRow) -> str:
    """Say a trade never got a fill."""
    return f"Trade #{trade.id} {trade.direction} {trade.symbol} cancelled: the entry did not fill within the window."


def stop_to_break_even(trade: TradeRow, price: Decimal) -> str:
    """Say the stop moved to break-even."""
    return f"Trade #{trade.id}: take-profit 1 done; stop moved to break-even at {money(price)}."
