"""The news calendar the operator maintains (CSV `time_utc,title`) and the blackout rule around its
events."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path


class CalendarError(ValueError):
    """The news calendar file is malformed; the message names the line."""


@dataclass(frozen=True)
class NewsEvent:
    """One scheduled event (aware UTC time) that moves markets."""

    at: datetime
    title: str


def read_calendar(path: Path) -> list[NewsEvent]:
    """Read the calendar (missing file = no events); raise CalendarError on a bad line."""
    if not path.is_file():
        return []
    events = []
    with path.open(newline="", encoding="utf-8") as handle:
        rows = (row for row in csv.reader(handle) if row and not row[0].lstrip().startswith("#"))
        for line, row in enumerate(rows, start=1):
            if line == 1 and row[0].strip() == "time_utc":
                continue
            events.append(_event(row, path, line))
    return sorted(events, key=lambda e: e.at)


def _event(row: list[str], path: Path, line: int) -> NewsEvent:
    """Parse one calendar row."""
    try:
        at = datetime.fromisoformat(row[0].strip())
    except ValueError:
        raise CalendarError(
            f"{path} row {line}: {row[0]!r} is not an ISO time like 2026-12-10T13:30:00+00:00"
        ) from None
    if at.tzinfo is None:
        raise CalendarError(
            f"{path} row {line}: {row[0]!r} has no time zone; write it in UTC with +00:00"
        )
    return NewsEvent(at, ",".join(row[1:]).strip() or "(untitled)")


def blackout_event(events: list[NewsEvent], now: datetime, minutes: int) -> NewsEvent | None:
    """Return the event within +-minutes of now, if any."""
    window = timedelta(minutes=minutes)
    return next((e for e in events if abs(e.at - now) <= window), None)


def future_events(events: list[NewsEvent], now: datetime) -> list[NewsEvent]:
    """Return events still ahead of now."""
    return [e for e in events if e.at > now]
