"""What an order must look like before it is sent: GMO's combinations of type, time in force and
symbol kind."""

from __future__ import annotations

from decimal import Decimal

from signaldesk.exchange.errors import OrderRejected
from signaldesk.exchange.model import (
    BUY,
    FAK,
    FAS,
    FOK,
    LIMIT,
    MARKET,
    SELL,
    SOK,
    STOP,
    SymbolRules,
    accepts_post_only,
    is_leverage,
)
from signaldesk.exchange.precision import check_order_numbers

ALLOWED_TIF = {MARKET: (FAK,), STOP: (FAK,), LIMIT: (FAS, FAK, FOK, SOK)}
DEFAULT_TIF = {MARKET: FAK, STOP: FAK, LIMIT: FAS}


def check_order_shape(
    rules: SymbolRules,
    side: str,
    execution_type: str,
    size: Decimal,
    price: Decimal | None,
    time_in_force: str | None,
    losscut_price: Decimal | None = None,
) -> str:
    """Raise OrderRejected for an order GMO would refuse; return the effective time in force."""
    symbol = rules.symbol
    if side not in (BUY, SELL):
        raise OrderRejected(
            f"{symbol}: side {side!r} must be BUY or SELL", reason="invalid_parameter"
        )
    if execution_type not in ALLOWED_TIF:
        raise OrderRejected(
            f"{symbol}: executionType {execution_type!r} must be LIMIT, MARKET or STOP",
            reason="invalid_parameter",
        )
    tif = time_in_force or DEFAULT_TIF[execution_type]
    if tif not in ALLOWED_TIF[execution_type]:
        raise OrderRejected(
            f"{symbol}: timeInForce {tif} not allowed with {execution_type}",
            reason="invalid_time_in_force",
        )
    if tif == SOK and not accepts_post_only(symbol):
        raise OrderRejected(
            f"{symbol} does not accept post-only (SOK); use a passive FAS limit",
            reason="invalid_time_in_force",
        )
    if (execution_type == MARKET) != (price is None):
        raise OrderRejected(
            f"{symbol}: {execution_type} orders {'take no' if price is not None else 'need a'} price",
            reason="invalid_price",
        )
    if losscut_price is not None and (not is_leverage(symbol) or execution_type == MARKET):
        raise OrderRejected(
            f"{symbol}: losscutPrice only on leverage LIMIT/STOP orders", reason="not_allowed"
        )
    check_order_numbers(rules, size, price)
    return tif
