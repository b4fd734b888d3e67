"""What the fake GMO sees of protection: for every position, when it was covered by STOP orders, by
its loss-cut, or by nothing, measured on the exchange's side (the desk's own records are not trusted
for this)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class PositionCover:
    """The protection history of one position (times are time.monotonic seconds)."""

    position_id: int
    symbol: str
    opened: float
    closed: float | None = None
    first_stop: float | None = None  # first moment STOP orders covered the whole position
    bare_since: float | None = None  # no stop and no loss-cut since
    stopless_since: float | None = None  # no stop covering it since (a loss-cut may guard it)
    bare: list[tuple[float, float]] = field(default_factory=list)
    stopless: list[tuple[float, float]] = field(default_factory=list)

    def observe(self, now: float, stop: bool, losscut: bool) -> None:
        """Record the position's cover at `now`."""
        if stop and self.first_stop is None:
            self.first_stop = now
        self.bare_since = _track(self.bare, self.bare_since, now, not (stop or losscut))
        self.stopless_since = _track(self.stopless, self.stopless_since, now, not stop)

    def close(self, now: float) -> None:
        """Record that the position is gone (open windows end here)."""
        self.observe(now, True, True)
        self.closed = now

    def longest(self, which: str, now: float) -> float:
        """Return the longest window (seconds) without a stop ('stopless') or without any cover
        ('bare')."""
        windows = list(getattr(self, which))
        since = getattr(self, f"{which}_since")
        if since is not None:
            windows.append((since, now))
        return max((end - start for start, end in windows), default=0.0)


def _track(windows: list, since: float | None, now: float, open_now: bool) -> float | None:
    """Open or close a window; return the new `since`."""
    if open_now and since is None:
        return now
    if not open_now and since is not None:
        windows.append((since, now))
        return None
    return since


class CoverLog:
    """Protection of every position the fake ever had."""

    def __init__(self):
        self.positions: dict[int, PositionCover] = {}

    def observe(self, positions: dict, orders: dict, now: float | None = None) -> None:
        """Record the cover of every open position from the fake's positions and orders."""
        now = time.monotonic() if now is None else now
        for pid, position in positions.items():
            cover = self.positions.setdefault(
                pid, PositionCover(pid, position["symbol"], position.get("opened_mono", now))
            )
            stop = sum(
                (
                    o["remaining"]
                    for o in orders.values()
                    if o["positionId"] == pid
                    and o["executionType"] == "STOP"
                    and o["status"] in ("WAITING", "ORDERED", "MODIFYING")
                ),
                0,
            )
            cover.observe(now, stop >= position["size"], position["losscutPrice"] > 0)
        for pid, cover in self.positions.items():
            if pid not in positions and cover.closed is None:
                cover.close(now)

    def report(self, now: float | None = None) -> dict:
        """Return the figures: longest windows, positions over 10 s, fill -> stop latencies."""
        now = time.monotonic() if now is None else now
        covers = list(self.positions.values())
        latencies = sorted(c.first_stop - c.opened for c in covers if c.first_stop is not None)
        return {
            "positions": len(covers),
            "longest_bare_s": max((c.longest("bare", now) for c in covers), default=0.0),
            "longest_stopless_s": max((c.longest("stopless", now) for c in covers), default=0.0),
            "bare_over_10s": sum(1 for c in covers if c.longest("bare", now) > 10),
            "stopless_over_10s": sum(1 for c in covers if c.longest("stopless", now) > 10),
            "never_stopped": sum(1 for c in covers if c.first_stop is None),
            "fill_to_stop_s": latencies,
        }
