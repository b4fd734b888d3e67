"""How money, prices and exit reasons are written for a person, one way everywhere, in each of the
desk's languages: `-¥5,705`, `+¥673`, `¥15,234,000.5` in English; `-5,705円`, `+673円`,
`15,234,000.5円` in Japanese (the sign before the number and 円 after it, as Japanese brokers write
it); "take-profit 2" (translated where it is shown: the words are marked for the catalogs).

Whole yen with thousands separators for amounts; a price keeps its own decimals (an average fill
price is cut to the sen). Used by the bot's views (through `signaldesk.i18n.Words`), the charts and
the plain-text notices that execution sends, so a close notice, a report and a command never
disagree on how an amount looks.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from signaldesk.i18n import N_

YEN = Decimal(1)
SEN = Decimal("0.01")
EXIT_WORDS = {
    "tp1": N_("take-profit 1"),
    "tp2": N_("take-profit 2"),
    "stop_loss": N_("stop-loss"),
    "time_stop": N_("time stop"),
    "manual": N_("manual close"),
    "emergency": N_("emergency stop"),
}


def written(sign: str, digits: str, lang: str) -> str:
    """Put the sign, the digits and the yen mark together the way a language writes them."""
    return f"{sign}{digits}円" if lang == "ja" else f"{sign}¥{digits}"


def yen(amount: Decimal | int | None, signed: bool = False, lang: str = "en") -> str:
    """Render JPY as `¥1,000,000` / `-¥5,705` (with `signed`, `+¥673` for gains), `1,000,000円` /
    `-5,705円` in Japanese; n/a when unknown."""
    if amount is None:
        return "n/a"
    whole = Decimal(amount).quantize(YEN, ROUND_HALF_UP)
    sign = "-" if whole < 0 else "+" if signed and whole > 0 else ""
    return written(sign, f"{abs(whole):,}", lang)


def price(value: Decimal | None, lang: str = "en") -> str:
    """Render a price with its own decimals (`¥15,234,000.5` / `15,234,000.5円`); an average fill
    price is cut to the sen; n/a when unknown."""
    if value is None:
        return "n/a"
    value = Decimal(value)
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > 2:
        value = value.quantize(SEN, ROUND_HALF_UP)
    return written("-" if value < 0 else "", f"{abs(value).normalize():,f}", lang)


def exit_words(reason: str | None) -> str:
    """Return an exit reason as English words (`tp2` -> take-profit 2)."""
    return EXIT_WORDS.get(reason or "", reason or "not closed")
