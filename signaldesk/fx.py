"""A yen-scale stand-in for JPY markets: Binance USDT candles times the Fed's monthly USD/JPY
averages.

No long public JPY series from a Japanese exchange exists, so the demo runs on Binance BTC/USDT and
ETH/USDT candles converted to a yen price scale. Each month's average rate is placed at the month's
midpoint and the rate between two midpoints is interpolated linearly, so a month boundary never
plants a jump in the candles. Prices are rounded to whole yen (GMO's tick for BTC_JPY and ETH_JPY);
volumes stay in coins. Whatever this makes is labelled as converted, never as GMO prices.
"""

from __future__ import annotations

import bisect
import csv
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

from signaldesk.candles import Candle

YEN = Decimal(1)
RATE_DIGITS = Decimal("0.0001")
CONVERTED_LABEL = "converted stand-in: Binance {pair} x Fed monthly USD/JPY (not GMO prices)"


class FxError(ValueError):
    """The rate file is missing, malformed, or does not cover the candles; the message says
    which."""


@dataclass(frozen=True)
class MonthlyRates:
    """Monthly average rates placed at the midpoints of their months, oldest first."""

    midpoints: tuple[datetime, ...]
    rates: tuple[Decimal, ...]

    def at(self, moment: datetime) -> Decimal:
        """Return the rate at a moment, linear between month midpoints; raise FxError outside the
        first/last."""
        if not self.midpoints[0] <= moment <= self.midpoints[-1]:
            raise FxError(
                f"{moment:%Y-%m-%d %H:%M} UTC is outside the rates' midpoints "
                f"{self.midpoints[0]:%Y-%m-%d} .. {self.midpoints[-1]:%Y-%m-%d}"
            )
        right = max(1, bisect.bisect_left(self.midpoints, moment))
        start, end = self.midpoints[right - 1], self.midpoints[right]
        weight = Decimal((moment - start).total_seconds()) / Decimal((end - start).total_seconds())
        rate = self.rates[right - 1] + (self.rates[right] - self.rates[right - 1]) * weight
        return rate.quantize(RATE_DIGITS)


def month_midpoint(month: str) -> datetime:
    """Return the midpoint (UTC) of a 'YYYY-MM' month: halfway between its first and the next
    month's first."""
    year, number = (int(p) for p in month.split("-"))
    first = datetime(year, number, 1, tzinfo=UTC)
    following = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)
    return first + (following - first) / 2


def read_monthly_rates(path: Path) -> MonthlyRates:
    """Read `month,usd_jpy` rows (one per month, in order, no gaps); raise FxError naming the
    problem."""
    try:
        with Path(path).open(newline="", encoding="utf-8") as handle:
            rows = [(r["month"], Decimal(r["usd_jpy"])) for r in csv.DictReader(handle)]
        months = [month for month, _ in rows]
        consecutive = all(next_month(a) == b for a, b in zip(months, months[1:], strict=False))
        midpoints = tuple(map(month_midpoint, months))
    except (OSError, KeyError, ValueError, ArithmeticError) as exc:
        raise FxError(f"{path}: cannot read month,usd_jpy rows ({exc})") from exc
    if len(rows) < 2 or not consecutive:
        raise FxError(f"{path}: needs two or more consecutive months, in order, without gaps")
    return MonthlyRates(midpoints, tuple(rate for _, rate in rows))


def next_month(month: str) -> str:
    """Return the 'YYYY-MM' after a 'YYYY-MM'."""
    year, number = (int(p) for p in month.split("-"))
    return f"{year + number // 12:04d}-{number % 12 + 1:02d}"


def to_yen(candles: Sequence[Candle], rates: MonthlyRates) -> list[Candle]:
    """Return the candles at a yen price scale: one rate per candle (at its open), prices to whole
    yen."""
    converted = []
    for c in candles:
        rate = rates.at(c.open_time)
        prices = ("open", "high", "low", "close")
        yen = {k: (getattr(c, k) * rate).quantize(YEN, ROUND_HALF_EVEN) for k in prices}
        converted.append(replace(c, **yen))
    return converted
