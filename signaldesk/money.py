"""How money and exit reasons are written for a person, one way everywhere: `-¥5,705`, `+¥673`,
"take-profit 2".

Whole yen with thousands separators, the sign before the yen mark (the English convention; the
Japanese catalog of issue 17 will use the brokers' own). Used by the bot's views and by the
plain-text notices that execution sends, so a close notice, a report and a command never disagree on
how an amount looks.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

YEN = Decimal(1)
EXIT_WORDS = {
    "tp1": "take-profit 1",
    "tp2": "take-profit 2",
    "stop_loss": "stop-loss",
    "time_stop": "time stop",
    "manual": "manual close",
    "emergency": "emergency stop",
}


def yen(amount: Decimal | int | None, signed: bool = False) -> str:
    """Render JPY as `¥1,000,000` / `-¥5,705` (with `signed`, `+¥673` for gains); n/a when
    unknown."""
    if amount is None:
        return "n/a"
    whole = Decimal(amount).quantize(YEN, ROUND_HALF_UP)
    sign = "-" if whole < 0 else "+" if signed and whole > 0 else ""
    return f"{sign}¥{abs(whole):,}"


def exit_words(reason: str | None) -> str:
    """Return an exit reason as words (`tp2` -> take-profit 2)."""
    return EXIT_WORDS.get(reason or "", reason or "not closed")
