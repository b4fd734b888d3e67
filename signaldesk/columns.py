"""Column text: how Decimals, times and JSON are written to SQLite TEXT columns and read back (one
place)."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson

from signaldesk.clock import from_db, to_db

PLAIN = (type(None), str, int, float, bool)


def decimal_text(value: Decimal | int | str | None) -> str | None:
    """Return a Decimal as fixed-point text (never exponent notation: 1E-7 is '0.0000001'); None
    stays None."""
    if value is None:
        return None
    return format(Decimal(value), "f")


def to_column(value: Any) -> Any:
    """Return the database form of a value: Decimals as fixed-point text, aware times as UTC text,
    JSON text."""
    if type(value) in PLAIN:  # most columns: written as they are, without the checks below
        return value
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, datetime):
        return to_db(value)
    if isinstance(value, (dict, list, tuple)):
        return json_text(value)
    return value


def json_text(value: dict | list | tuple) -> str:
    """Return compact JSON text (orjson: NaN and infinities are written as null, which JSON has).

    What orjson refuses but the standard library writes (a float subclass such as numpy's float64,
    an integer beyond 64 bits) is written by the standard library, as before orjson.
    """
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(value)


def decimal_or_none(text: str | None) -> Decimal | None:
    """Return a Decimal from a TEXT column; None for NULL or empty text."""
    return None if text in (None, "") else Decimal(text)


def time_or_none(text: str | None) -> datetime | None:
    """Return an aware UTC datetime from a TEXT column; None for NULL or empty text."""
    return from_db(text) if text else None


def json_or(text: str | None, empty: dict | list) -> Any:
    """Return the JSON value of a TEXT column when it has the type of `empty`, else `empty` (bad or
    NULL)."""
    try:
        value = json.loads(text) if text else empty
    except json.JSONDecodeError:
        return empty
    return value if isinstance(value, type(empty)) else empty
