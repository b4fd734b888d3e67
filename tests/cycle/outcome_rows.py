"""Rows for the outcome tests: a LOGGED prediction per real candle, with seeded random
probabilities (synthetic scores on real prices, for the bookkeeping only)."""

from __future__ import annotations

import random
from datetime import timedelta

from signaldesk.signals import LOGGED, Signal

STEP = timedelta(minutes=15)


def prediction(symbol: str, candle, rng: random.Random) -> Signal:
    """Return a LOGGED row for a candle with seeded random probabilities (synthetic)."""
    long, short = rng.random(), rng.random()
    return Signal(
        created_at=candle.open_time + STEP,
        symbol=symbol,
        candle_time=candle.open_time,
        direction="LONG" if long >= short else "SHORT",
        prob_long=long,
        prob_short=short,
        confidence=max(long, short),
        model_version="m1",
        status=LOGGED,
        close_price=candle.close,
    )
