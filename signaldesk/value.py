"""What the person adds: approved, rejected and expired signals over a window with their JPY
outcomes, the person's value added with a bootstrap interval, and the model's live hit rate at
its operating point against its backtest.

Value added = what the approved signals made minus what approving every proposal would have
made, i.e. minus the would-have outcomes (signaldesk.wouldhave) of the rejected and expired
ones. It is positive when the signals the person turned down would have lost. Because a model
without an edge after costs loses on average, turning down any share at random also "adds"
value; the random baseline of the same share is shown beside it.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from signaldesk import signals
from signaldesk.clock import to_db
from signaldesk.outcomes import went_its_way
from signaldesk.signals import (
    APPROVED_STATUSES,
    BLOCKED,
    EXPIRED,
    FILTERED,
    LOGGED,
    PROPOSED_STATUSES,
    REJECTED,
)

if TYPE_CHECKING:
    from signaldesk.settings import Settings
    from signaldesk.storage import Database

ZERO = Decimal(0)
RESAMPLES = 2000
SEED = 16
WINDOWS = (7, 30, None)  # days; None = since the first signal


@dataclass(frozen=True)
class Group:
    """Signals of one verdict in a window: how many, how many have an outcome, the outcomes' sum."""

    count: int = 0
    resolved: int = 0
    pnl_jpy: Decimal = ZERO
    not_filled: int = 0


@dataclass(frozen=True)
class Review:
    """The person and the model over one window."""

    days: int | None
    approved: Group
    rejected: Group
    expired: Group
    filtered: Group
    value_added_jpy: Decimal
    interval_jpy: tuple[Decimal, Decimal] | None
    random_baseline_jpy: Decimal | None
    hits: int
    scored: int
    backtest_hit_rate: float | None

    @property
    def hit_rate(self) -> float | None:
        """Return the live hit rate, or None without resolved signals."""
        return self.hits / self.scored if self.scored else None


def outcome_rows(db: Database, start: datetime | None, end: datetime) -> list[tuple]:
    """Return (signal id, status, actual trade status, trade P/L, would-have outcome, would-have
    P/L) in a window."""
    where, params = "s.created_at < ?", [to_db(end)]
    if start is not None:
        where, params = f"{where} AND s.created_at >= ?", [*params, to_db(start)]
    return db.execute(
        "SELECT s.id, s.status, t.status, t.pnl_jpy, w.outcome, w.pnl_jpy FROM signals s "
        "LEFT JOIN trades t ON t.signal_id = s.id LEFT JOIN would_have w ON w.signal_id = s.id "
        f"WHERE {where} AND s.direction IS NOT NULL AND s.status != ? ORDER BY s.id",
        [*params, LOGGED],
    ).fetchall()


def actual(trade_status: str | None, pnl: str | None) -> Decimal | None:
    """Return an approved signal's realised outcome: its closed trade's P/L, 0 without a position,
    None while open."""
    if trade_status in (None, "cancelled"):
        return ZERO
    return Decimal(pnl) if trade_status == "closed" and pnl is not None else None


def group(rows: Sequence[tuple], outcome_of) -> Group:
    """Sum the outcomes of some rows (None = not known yet)."""
    known = [(row, outcome_of(row)) for row in rows]
    done = [(row, value) for row, value in known if value is not None]
    unfilled = sum(1 for row, _ in done if row[2] == "cancelled" or row[4] == "not_filled")
    return Group(len(rows), len(done), sum((v for _, v in done), ZERO), unfilled)


def would(row) -> Decimal | None:
    """Return a row's would-have P/L (None before it is simulated)."""
    return Decimal(row[5]) if row[4] is not None else None


def bootstrap(values: Sequence[Decimal], resamples: int = RESAMPLES, seed: int = SEED):
    """Return the 95% percentile interval of the sum of `values` resampled with replacement (None if
    empty)."""
    if not values:
        return None
    rng, n = random.Random(seed), len(values)
    sums = sorted(sum((values[rng.randrange(n)] for _ in range(n)), ZERO) for _ in range(resamples))
    return sums[int(0.025 * resamples)], sums[int(0.975 * resamples) - 1]


def person_value(rows: Sequence[tuple]) -> tuple[Decimal, tuple | None, Decimal | None]:
    """Return value added, its interval and the random-rejection baseline over resolved
    proposals."""
    items: list[tuple[bool, Decimal]] = []  # (turned down?, outcome had it been approved)
    for row in rows:
        if row[1] in APPROVED_STATUSES:
            value = actual(row[2], row[3])
            if value is not None:
                items.append((False, value))
        elif row[1] in (REJECTED, EXPIRED):
            outcome = would(row)
            if outcome is not None:
                items.append((True, outcome))
    added = [-value if down else ZERO for down, value in items]
    declined = sum(1 for down, _ in items if down)
    total = sum((value for _, value in items), ZERO)
    baseline = -total * declined / len(items) if items else None
    return sum(added, ZERO), bootstrap(added), baseline


def hit_counts(db: Database, start: datetime | None, end: datetime) -> tuple[int, int]:
    """Return (right, resolved) of the model's signals at its operating point in a window."""
    where, params = "status != ? AND direction IS NOT NULL AND outcome_return IS NOT NULL", [LOGGED]
    where, params = f"{where} AND created_at < ?", [*params, to_db(end)]
    if start is not None:
        where, params = f"{where} AND created_at >= ?", [*params, to_db(start)]
    rows = signals.read_columns(db, ("direction", "outcome_return"), where, params)
    hits = sum(went_its_way(d, r) for d, r in rows)
    return hits, len(rows)


def review(
    db: Database, now: datetime, days: int | None, backtest_hit_rate: float | None
) -> Review:
    """Return the review of the `days` before `now` (None: everything)."""
    start = now - timedelta(days=days) if days else None
    rows = outcome_rows(db, start, now)
    proposed = [r for r in rows if r[1] in PROPOSED_STATUSES]
    by = {s: [r for r in rows if r[1] == s] for s in (REJECTED, EXPIRED, FILTERED, BLOCKED)}
    approved = [r for r in proposed if r[1] in APPROVED_STATUSES]
    added, interval, baseline = person_value(proposed)
    hits, scored = hit_counts(db, start, now)
    return Review(
        days,
        group(approved, lambda r: actual(r[2], r[3])),
        group(by[REJECTED], would),
        group(by[EXPIRED], would),
        group(by[FILTERED] + by[BLOCKED], would),
        added,
        interval,
        baseline,
        hits,
        scored,
        backtest_hit_rate,
    )


def backtested_hit_rate(db: Database, settings: Settings) -> float | None:
    """Return the active model's hit rate at its operating point in its own walk-forward
    evaluation."""
    from signaldesk.model.registry import active_folder, describe

    edge = describe(active_folder(db, settings)).metadata.get("edge") or {}
    rate = edge.get("hit_rate")
    return float(rate) if isinstance(rate, (int, float)) else None


def reviews(db: Database, settings: Settings, now: datetime) -> list[Review]:
    """Return the 7-day, 30-day and all-time reviews."""
    rate = backtested_hit_rate(db, settings)
    return [review(db, now, days, rate) for days in WINDOWS]


def unchosen_list(db: Database, start: datetime, end: datetime, limit: int = 20) -> list[tuple]:
    """Return (signal, would-have) of rejected, expired, filtered and blocked signals in a window,
    newest first."""
    from signaldesk.signals import stored_id
    from signaldesk.wouldhave import UNCHOSEN, load_outcomes

    marks = ",".join("?" * len(UNCHOSEN))
    found = signals.select(
        db,
        f"status IN ({marks}) AND direction IS NOT NULL AND created_at >= ? AND created_at < ? "
        "ORDER BY id DESC LIMIT ?",
        [*UNCHOSEN, to_db(start), to_db(end), limit],
    )
    outcomes = load_outcomes(db, [stored_id(s) for s in found])
    return [(s, outcomes.get(stored_id(s))) for s in found]
