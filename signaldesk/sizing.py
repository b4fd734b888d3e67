"""Position sizing and price levels: size from risk, capped by the position limit, on the symbol's
size step and tick (rounded by `signaldesk.exchange.precision`, the one place that rounds)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from signaldesk.exchange.model import SymbolRules
from signaldesk.exchange.precision import floor_to_step, round_to_tick

LONG, SHORT = "LONG", "SHORT"


@dataclass(frozen=True)
class TradeLevels:
    """Entry, stop-loss and take-profit prices of one trade, on the tick grid."""

    entry: Decimal
    stop_loss: Decimal
    take_profit_1: Decimal
    take_profit_2: Decimal

    @property
    def stop_distance(self) -> Decimal:
        """Return the distance between entry and stop (always > 0 for valid levels)."""
        return abs(self.entry - self.stop_loss)


@dataclass(frozen=True)
class Sizing:
    """A size for a trade, or the reason there is none (`size == 0` and `refusal` set)."""

    size: Decimal
    risk_jpy: Decimal
    notional_jpy: Decimal
    refusal: str = ""

    @property
    def ok(self) -> bool:
        """Return True when the size can be traded."""
        return not self.refusal


def direction_sign(direction: str) -> int:
    """Return +1 for LONG and -1 for SHORT."""
    if direction not in (LONG, SHORT):
        raise ValueError(f"direction {direction!r}: allowed LONG or SHORT")
    return 1 if direction == LONG else -1


def trade_levels(direction: str, entry: Decimal, atr: Decimal, tick: Decimal, risk) -> TradeLevels:
    """Return stop and take-profit prices around entry, rounded toward entry so risk never grows.

    `risk` is `settings.risk`. Rounding toward entry keeps the stop no further than planned (the
    loss per unit never exceeds the plan) and the take-profits no further than planned (they stay
    reachable). Raises ValueError when ATR is not positive or a level would not be a positive price
    away from entry.
    """
    if atr <= 0:
        raise ValueError(f"ATR must be positive to place a stop (got {atr})")
    sign = direction_sign(direction)
    long = sign == 1
    stop = round_to_tick(entry - sign * risk.stop_atr_multiple * atr, tick, up=long)
    tp1 = round_to_tick(entry + sign * risk.take_profit_1_atr_multiple * atr, tick, up=not long)
    tp2 = round_to_tick(entry + sign * risk.take_profit_2_atr_multiple * atr, tick, up=not long)
    levels = TradeLevels(entry, stop, tp1, tp2)
    if stop <= 0 or tp1 <= 0 or tp2 <= 0 or (stop - entry) * sign >= 0 or (tp1 - entry) * sign <= 0:
        raise ValueError(
            f"ATR {atr} is too small (or too large) for a tick of {tick}: levels {levels}"
        )
    return levels


def size_for_risk(
    equity: Decimal, levels: TradeLevels, rules: SymbolRules, risk, room_jpy: Decimal | None = None
) -> Sizing:
    """Return the size risking `risk.risk_per_trade` of equity over the stop distance, within every
    limit.

    `room_jpy` is what the position limit still allows after the desk's other trades (default: the
    whole limit); the size is capped so the position is worth no more than that at its entry price.
    """
    if equity <= 0:
        return Sizing(
            Decimal(0), Decimal(0), Decimal(0), f"equity is {equity} JPY; nothing can be risked"
        )
    cap = equity * risk.max_position_fraction
    room = cap if room_jpy is None else min(room_jpy, cap)
    by_risk = equity * risk.risk_per_trade / levels.stop_distance
    by_position = room / levels.entry
    size = floor_to_step(min(by_risk, by_position, rules.max_size), rules.size_step)
    if size >= rules.min_size:
        return Sizing(size, size * levels.stop_distance, size * levels.entry)
    if by_position < rules.min_size <= by_risk and room < cap:
        why = (
            f"no room under the position limit: the desk's open trades already hold "
            f"{cap - room:,.0f} of {cap:,.0f} JPY ({risk.max_position_fraction:.0%} of equity)"
        )
    else:
        why = (
            f"the size this risk allows ({min(by_risk, by_position):.8f} {rules.symbol}) is below the "
            f"minimum order of {rules.min_size}; equity {equity:,.0f} JPY is too small for this stop"
        )
    return Sizing(Decimal(0), Decimal(0), Decimal(0), why)
