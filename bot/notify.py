"""How loudly each message reaches the trader: the per-event setting, quiet hours, active hours.

Levels are "on" (with sound), "silent" (no sound) and "off" (no message). Within the quiet hours
(JST) every "on" becomes "silent" except critical alerts, which always ring. Signals are offered
for approval only within the active hours (JST).
"""

from __future__ import annotations

from datetime import datetime

from signaldesk.clock import JST
from signaldesk.settings import within

ORDER = ("off", "silent", "on")


def jst_minute(now: datetime) -> int:
    """Return the minute of the JST day."""
    local = now.astimezone(JST)
    return local.hour * 60 + local.minute


def in_active_hours(settings, now: datetime) -> bool:
    """Return True when signals may be offered for approval now."""
    return within(settings.telegram.active_hours, jst_minute(now))


def in_quiet_hours(settings, now: datetime) -> bool:
    """Return True within the quiet hours."""
    return within(settings.telegram.quiet_hours, jst_minute(now))


def level(settings, event: str, now: datetime) -> str:
    """Return how a message of this event goes out now: on, silent or off."""
    chosen = getattr(settings.notify, event)
    if event != "alert" and chosen == "on" and in_quiet_hours(settings, now):
        return "silent"
    return chosen


def loudest(settings, events, now: datetime) -> str:
    """Return the loudest level among several events (a step that did several things)."""
    levels = [level(settings, event, now) for event in events] or ["off"]
    return max(levels, key=ORDER.index)


def quietly(lvl: str) -> bool:
    """Return the disable_notification flag of a level."""
    return lvl != "on"
