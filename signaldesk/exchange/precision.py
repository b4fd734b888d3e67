"""The one place prices and sizes are rounded: to the symbol's tick and step, in the safe direction,
and rendered on the wire with exactly the step's decimals; plus minimum sizes and maker/taker fees.

Safe directions: a size is never rounded up (nothing larger than asked goes out); a limit BUY is
never dearer and a limit SELL never cheaper than asked; a protective price (stop or loss-cut) is
rounded toward the market, so it fires no later than planned (a SELL stop guarding a long rounds up,
a BUY stop guarding a short rounds down).
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from signaldesk.exchange.errors import OrderRejected
from signaldesk.exchange.model import BUY, SELL, STOP, SymbolRules


def to_multiple(value: Decimal, step: Decimal, up: bool) -> Decimal:
    """Round `value` to a multiple of `step`, up or down, with exactly the step's exponent."""
    rounding = ROUND_CEILING if up else ROUND_FLOOR
    units = (value / step).to_integral_value(rounding=rounding)
    return (units * step).quantize(step)


def floor_to_step(value: Decimal, step: Decimal) -> Decimal:
    """Round a size down to a multiple of step."""
    return to_multiple(value, step, up=False)


def round_to_tick(price: Decimal, tick: Decimal, up: bool) -> Decimal:
    """Round a price to a multiple of tick, up or down."""
    return to_multiple(price, tick, up)


def round_price(price: Decimal, side: str, rules: SymbolRules) -> Decimal:
    """Round a limit price to the tick in the passive direction: BUY down, SELL up."""
    if side not in (BUY, SELL):
        raise ValueError(f"side {side!r}: must be BUY or SELL")
    return round_to_tick(price, rules.tick_size, up=side == SELL)


def protective_price(price: Decimal, side: str, rules: SymbolRules) -> Decimal:
    """Round a stop or loss-cut price toward the market: a SELL (guarding a long) up, a BUY (a
    short) down."""
    if side not in (BUY, SELL):
        raise ValueError(f"side {side!r}: must be BUY or SELL")
    return round_to_tick(price, rules.tick_size, up=side == SELL)


def order_price(price: Decimal, side: str, execution_type: str, rules: SymbolRules) -> Decimal:
    """Round an order's price in its safe direction (limits passively, stops toward the market)."""
    if execution_type == STOP:
        return protective_price(price, side, rules)
    return round_price(price, side, rules)


def round_size(size: Decimal, rules: SymbolRules) -> Decimal:
    """Round a size down to the symbol's size step."""
    return floor_to_step(size, rules.size_step)


def is_multiple(value: Decimal, step: Decimal) -> bool:
    """Return True when `value` is an exact multiple of `step`."""
    return value % step == 0


def wire_size(size: Decimal, rules: SymbolRules) -> str:
    """Render a size for GMO: fixed-point with exactly the step's decimals; refuse one off the
    step."""
    if not (size.is_finite() and is_multiple(size, rules.size_step)):
        raise OrderRejected(
            f"{rules.symbol}: size {size} is not a multiple of the step {rules.size_step}",
            reason="invalid_size",
        )
    return format(size.quantize(rules.size_step), "f")


def wire_price(price: Decimal, rules: SymbolRules) -> str:
    """Render a price for GMO: fixed-point with exactly the tick's decimals; refuse one off the
    tick."""
    if not (price.is_finite() and price > 0 and is_multiple(price, rules.tick_size)):
        raise OrderRejected(
            f"{rules.symbol}: price {price} is not a positive multiple of the tick {rules.tick_size}",
            reason="invalid_price",
        )
    return format(price.quantize(rules.tick_size), "f")


def sized_order(size: Decimal, rules: SymbolRules) -> Decimal:
    """Round a size down to the step and refuse it (OrderRejected, reason invalid_size) outside
    [min, max]."""
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
    """Raise OrderRejected unless size is a step multiple within [min, max] and price a positive
    tick multiple."""
    wire_size(size, rules)
    if not rules.min_size <= size <= rules.max_size:
        raise OrderRejected(
            f"{rules.symbol}: size {size} outside [{rules.min_size}, {rules.max_size}]",
            reason="invalid_size",
        )
    if price is not None:
        wire_price(price, rules)


def fee(price: Decimal, size: Decimal, rules: SymbolRules, *, maker: bool) -> Decimal:
    """Return the fee of one fill in JPY: positive is paid, negative is a maker rebate."""
    rate = rules.maker_fee if maker else rules.taker_fee
    return price * size * rate


def net_proceeds(
    price: Decimal, size: Decimal, side: str, rules: SymbolRules, *, maker: bool
) -> Decimal:
    """Return the JPY a spot fill moves: negative for a BUY (paid), positive for a SELL (received),
    fees included."""
    gross = price * size
    paid_fee = fee(price, size, rules, maker=maker)
    return -(gross + paid_fee) if side == BUY else gross - paid_fee


def plan_on_grid(direction: str, values: dict[str, Decimal], rules: SymbolRules) -> dict:
    """Return a trade plan's prices and size (a person's /modify) on the symbol's grid, each the
    safe way: the size down, the entry no worse (a LONG's down, a SHORT's up), the stop toward the
    entry (less risk) and the take-profits toward the entry (reachable)."""
    long = direction == "LONG"
    tick = rules.tick_size
    rounders = {
        "size": lambda v: round_size(v, rules),
        "entry_price": lambda v: round_to_tick(v, tick, up=not long),
        "stop_loss": lambda v: round_to_tick(v, tick, up=long),
        "take_profit_1": lambda v: round_to_tick(v, tick, up=not long),
        "take_profit_2": lambda v: round_to_tick(v, tick, up=not long),
    }
    return {k: rounders[k](v) if k in rounders else v for k, v in values.items()}
