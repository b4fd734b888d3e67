"""GMO's leverage position fee, pure: one charge per open position per 06:00 JST it is held across.

GMO Coin charges 0.04 % a day of a leverage position's value for every position held across 06:00
JST (the end of its trading day), longs and shorts alike, booked outside executions (spec §10). The
value is the position's size at that moment times the trading day's close (GMO: 当取引日の終値から計算した評価価額),
at the rate in force that trading day. Both the paper exchange (its ledger) and the desk's own books
(paper and live) call `position_fee` so the two agree to the yen.

[inference] GMO does not publish how it rounds the fee; JPY balances move in whole yen, and Japanese
brokers cut fractions of a yen, so each charge is rounded down to the yen. The live desk checks
itself against GMO's `/v1/account/margin` once a day and alerts on a difference (signaldesk.equity).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from signaldesk.exchange.tradingday import fee_boundaries, trading_day

YEN = Decimal(1)
ZERO = Decimal(0)
# (first trading day, rate per day): the rate in force from that trading day on (newest last).
LEVERAGE_FEE_RATES: tuple[tuple[date, Decimal], ...] = ((date.min, Decimal("0.0004")),)


@dataclass(frozen=True)
class FeeCharge:
    """One leverage fee: a position's size held across one 06:00 JST boundary, valued at the day's
    close."""

    boundary: datetime
    trading_day: date
    size: Decimal
    close: Decimal
    rate: Decimal
    amount: Decimal


def rate_on(day: date, rates: tuple[tuple[date, Decimal], ...] = LEVERAGE_FEE_RATES) -> Decimal:
    """Return the leverage fee rate per day in force on a GMO trading day."""
    return [rate for first, rate in rates if first <= day][-1]


def position_fee(size: Decimal, close: Decimal, rate: Decimal) -> Decimal:
    """Return one day's fee in whole yen (rounded down) for `size` valued at `close`."""
    return (abs(size) * close * rate).quantize(YEN, ROUND_DOWN)


def boundaries_held(opened_at: datetime, closed_at: datetime | None, now: datetime) -> list:
    """Return the 06:00 JST boundaries between a position's opening and its close (or `now`).

    Fills are stamped at (or before) the moment they happened, so a position opened exactly at a
    boundary was not held across it, and one closed exactly at a boundary was.
    """
    return fee_boundaries(opened_at, now if closed_at is None else min(now, closed_at))


def charges(
    moments: list[datetime],
    size_at: Callable[[datetime], Decimal],
    close_at: Callable[[datetime], Decimal | None],
) -> list[FeeCharge]:
    """Return the fee of each boundary crossed with a size and a known close (later boundaries wait
    for theirs)."""
    due = []
    for moment in moments:
        size, close = size_at(moment), close_at(moment)
        if close is None:
            break
        if size <= 0:
            continue
        day = trading_day(moment - timedelta(microseconds=1))
        rate = rate_on(day)
        due.append(FeeCharge(moment, day, size, close, rate, position_fee(size, close, rate)))
    return due
