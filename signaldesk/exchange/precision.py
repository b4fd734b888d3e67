"""Pure precision and fee rules: prices to the tick, sizes to the step, minimum sizes, maker/taker fees."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from signaldesk.exchange.errors import OrderRejected
from signaldesk.exchange.model import BUY, SELL, SymbolRules


def _to_multiple(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    """Round `value` to a multiple of `step` in the given direction, keeping the step's exponent."""
    units = (value / step).to_integral_value(rounding=rounding)
    return (units * step).quantize(step)


def round_price(price: Decimal, side: str, rules: SymbolRules) -> Decimal:
    """Round a limit price to the tick in the passive direction: BUY down, SELL up."""
    if side not in (BUY, SELL):
        raise ValueError(f"side {side!r}: must be BUY or SELL")
    return _to_multiple(price, rules.tick_size, ROUND_FLOOR if side == BUY else ROUND_CEILING)


def round_size(size: Decimal, rules: SymbolRules) -> Decimal:
    """Round a size down to the symbol's size step."""
    return _to_multiple(size, rules.size_step, ROUND_FLOOR)


def is_multiple(value: Decimal, step: Decimal) -> bool:
    """Return True when `value` is an exact multiple of `step`."""
    return value % step == 0


def sized_order(size: Decimal, rules: SymbolRules) -> Decimal:
    """Round a size down to the step and refuse it (OrderRejected, reason invalid_size) outside [min, max]."""
    rounded = round_size(size, rules)
    if rounded < rules.min_size:
        raise OrderRejected(
            f"{rules.symbol}: size {size} rounds to {rounded}, below the minimum {rules.min_size}",
            reason="invalid_size",
        )
    if rounded > rules.max_size:
        raise OrderRejected(
            f"{rules.symbol}: size {rounded} above the maximum {rules.max_size}",
            reason="invalid_size",
        )
    return rounded


def check_order_numbers(rules: SymbolRules, size: Decimal, price: Decimal | None) -> None:
    """Raise OrderRejected unless size is a step multiple within [min, max] and price a positive tick multiple."""
    if not (size.is_finite() and is_multiple(size, rules.size_step)):
        raise OrderRejected(
            f"{rules.symbol}: size {size} is not a multiple of the step {rules.size_step}",
            reason="invalid_size",
        )
    if not rules.min_size <= size <= rules.max_size:
        raise OrderRejected(
            f"{rules.symbol}: size {size} outside [{rules.min_size}, {rules.max_size}]",
            reason="invalid_size",
        )
    if price is not None and not (
        price.is_finite() and price > 0 and is_multiple(price, rules.tick_size)
    ):
        raise OrderRejected(
            f"{rules.symbol}: price {price} is not a positive multiple of the tick {rules.tick_size}",
            reason="invalid_price",
        )


def fee(price: Decimal, size: Decimal, rules: SymbolRules, *, maker: bool) -> Decimal:
    """Return the fee of one fill in JPY: positive is paid, negative is a maker rebate."""
    rate = rules.maker_fee if maker else rules.taker_fee
    return price * size * rate


def net_proceeds(
    price: Decimal, size: Decimal, side: str, rules: SymbolRules, *, maker: bool
) -> Decimal:
    """Return the JPY a spot fill moves: negative for a BUY (paid), positive for a SELL (received), fees included."""
    gross = price * size
    paid_fee = fee(price, size, rules, maker=maker)
    return -(gross + paid_fee) if side == BUY else gross - paid_fee
