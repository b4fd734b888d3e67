"""The desk's words in the trader's language: gettext catalogs, and numbers, money and times written
the way each language writes them.

Messages are English in the code, marked for extraction (`words.t("...")`, `words.tn(...)`, `N_`),
and translated through the standard library's gettext from the compiled catalog in
`signaldesk/locale/<lang>/LC_MESSAGES/signaldesk.mo` (Babel extracts and compiles; see README,
"Languages"). Placeholders are named (`{price}`) so a translation may put them in any order. Values
are HTML-escaped as they go in, unless they are `Html` already, so a message is always valid
Telegram HTML. Conventions: money in `signaldesk.money`'s one format, per language (`-¥5,705` in
English, `-5,705円` in Japanese); times in JST.
"""

from __future__ import annotations

import gettext
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from html import escape, unescape
from pathlib import Path

from signaldesk.clock import JST

DOMAIN = "signaldesk"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"


def N_(message: str) -> str:
    """Mark a message for extraction where it is defined; it is translated where it is shown."""
    return message


class Html(str):
    """Text that is already HTML (escaped where needed): goes into a message as it is."""


def plain_text(text: str) -> str:
    """Return HTML text as plain text (tags dropped, entities read)."""
    return unescape(re.sub(r"<[^>]+>", "", text))


def _safe(value) -> str:
    """Return a placeholder value as HTML: Html as it is, anything else escaped."""
    if isinstance(value, Html):
        return value
    return escape(str(value), quote=False)


class _Escaped(dict):
    """Format values escaped on the way in (ints and Decimals keep their format specs)."""

    def __init__(self, values: dict):
        super().__init__(
            {k: v if isinstance(v, int | float | Decimal) else _safe(v) for k, v in values.items()}
        )


@dataclass(frozen=True)
class Words:
    """Messages, numbers, money and times in one language (`ja` or `en`)."""

    lang: str
    catalog: gettext.NullTranslations

    def t(self, message: str, **values) -> Html:
        """Return a message in this language with its values put in (escaped)."""
        return Html(self.catalog.gettext(message).format_map(_Escaped(values)))

    def tn(self, singular: str, plural: str, n: int, **values) -> Html:
        """Return the singular or plural form of a message for n (Japanese has one form)."""
        text = self.catalog.ngettext(singular, plural, n)
        return Html(text.format_map(_Escaped({"n": n, **values})))

    def plain(self, message: str, **values) -> str:
        """Return a message as plain text (chart labels, logs): values put in unescaped."""
        return self.catalog.gettext(message).format(**values)

    # ---- numbers and money ----------------------------------------------------------------------

    def number(self, value: Decimal | int | float | None, places: int | None = None) -> str:
        """Return a number with thousands separators (its own decimals, or `places`)."""
        if value is None:
            return self.t("n/a")
        value = Decimal(str(value))
        if places is not None:
            value = value.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
        text = f"{value.normalize() if places is None else value:,f}"
        return text

    def yen(self, amount: Decimal | int | None, signed: bool = False) -> Html:
        """Return whole yen in this language's money format (signaldesk.money): `¥1,000` /
        `-¥5,705` / `+¥673` (en), `1,000円` / `-5,705円` (ja)."""
        from signaldesk import money  # money marks its words with N_ from here

        if amount is None:
            return self.t("n/a")
        return Html(escape(money.yen(amount, signed, self.lang)))

    def price(self, value: Decimal | None) -> Html:
        """Return a price in yen with its own decimals (`¥15,234,000.5` / `15,234,000.5円`)."""
        from signaldesk import money

        if value is None:
            return self.t("n/a")
        return Html(escape(money.price(value, self.lang)))

    def percent(self, value: float | Decimal | None, places: int = 2, signed: bool = False) -> str:
        """Return a percentage given in percent (1.71 -> `1.71%`)."""
        if value is None:
            return self.t("n/a")
        return f"{float(value):{'+' if signed else ''}.{places}f}%"

    # ---- times ----------------------------------------------------------------------------------

    def when(self, moment: datetime | None, now: datetime | None = None) -> Html:
        """Return a time in JST: `06-17 09:15 JST` / `6月17日 09:15` (just the clock on `now`'s
        day)."""
        if moment is None:
            return self.t("never")
        local = moment.astimezone(JST)
        clock = f"{local:%H:%M}"
        if now is not None and now.astimezone(JST).date() == local.date():
            return self.t("{time} JST", time=clock)
        return self.t("{month:02d}-{day:02d} {time} JST", month=local.month, day=local.day,
                      time=clock)  # fmt: skip

    def day(self, day) -> Html:
        """Return a calendar day: `2025-06-17` / `2025年6月17日`."""
        return self.t("{year}-{month:02d}-{day:02d}", year=day.year, month=day.month, day=day.day)

    def age(self, delta: timedelta) -> Html:
        """Return an age in whole days when at least a day (`168 days` / `168日`), else a
        duration."""
        if delta >= timedelta(days=1):
            return self.tn("{n} day", "{n} days", delta.days)
        return self.duration(delta)

    def span(self, delta: timedelta) -> Html:
        """Return a horizon in whole hours when it is one (`1 hour` / `1時間`), else a duration."""
        seconds = int(delta.total_seconds())
        if seconds >= 3600 and seconds % 3600 == 0:
            return self.tn("{n} hour", "{n} hours", seconds // 3600)
        return self.duration(delta)

    def duration(self, delta: timedelta) -> Html:
        """Return a duration: `2d 3h`, `3h 05m`, `12m`, `45s` (ja: `2日3時間`, `3時間05分`...)."""
        seconds = max(int(delta.total_seconds()), 0)
        minutes, hours, days = seconds // 60 % 60, seconds // 3600 % 24, seconds // 86400
        if seconds < 60:
            return self.t("{seconds}s", seconds=seconds)
        if days:
            return self.t("{days}d {hours}h", days=days, hours=hours)
        if hours:
            return self.t("{hours}h {minutes:02d}m", hours=hours, minutes=minutes)
        return self.t("{minutes}m", minutes=minutes)


@lru_cache(maxsize=4)
def words(lang: str) -> Words:
    """Return the words of a language (English is the language of the code: no catalog needed)."""
    catalog = gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang], fallback=lang == "en")
    return Words(lang, catalog)
