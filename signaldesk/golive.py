"""From paper to live: the paper record, what it still lacks, the gate in front of live mode, the
capital cap.

The design's road to real money is a week of paper trading, then small capital. `paper_record` reads
what the paper desk did (days it ran, trades, P/L after fees, how long positions waited for their
stop, unresolved orders, halts, the person's value added); `missing` says what the settings still
ask for ([golive]). Live processes call `live_refusal` before they start: they refuse until the
record meets the settings, unless the operator recorded an override with `signaldesk golive
--override REASON` (kept in the audit log). In live mode sizes, the position cap and loss limits see
at most `capital_cap_jpy` of equity (`capped_equity`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from signaldesk.clock import JST, from_db, to_db
from signaldesk.ledger import Money, money_between

if TYPE_CHECKING:
    from signaldesk.settings import GoLiveSettings, Settings
    from signaldesk.storage import Database

PAPER = "paper"
OVERRIDE_EVENT = "golive_override"
UNRESOLVED = ("PLACING", "UNKNOWN")


@dataclass(frozen=True)
class Window:
    """How long one position of a trade waited without a stop order on the exchange."""

    trade_id: int
    start: datetime
    length: timedelta


@dataclass(frozen=True)
class PaperRecord:
    """What the paper desk did, from its first cycle to now."""

    first_at: datetime | None
    last_at: datetime | None
    days_run: int
    trades_closed: int
    trades_open: int
    money: Money
    deposit_jpy: Decimal | None
    equity_jpy: Decimal | None
    unprotected: list[Window]
    unresolved_orders: int
    halts: list[tuple[datetime, str]]
    value: object | None = None  # signaldesk.value.Review over the whole record
    missing: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        """Return True when nothing is missing."""
        return not self.missing


def days_run(db: Database) -> tuple[int, datetime | None, datetime | None]:
    """Return the JST days on which the paper desk ran a cycle, and its first and last cycle."""
    rows = db.execute(
        "SELECT taken_at FROM equity_snapshots WHERE mode = ? ORDER BY taken_at", [PAPER]
    ).fetchall()
    moments = [from_db(r[0]) for r in rows]
    days = {m.astimezone(JST).date() for m in moments}
    return len(days), (moments[0] if moments else None), (moments[-1] if moments else None)


def trade_counts(db: Database) -> tuple[int, int]:
    """Return (closed, open or pending) paper trades."""
    rows = dict(
        db.execute(
            "SELECT status, COUNT(*) FROM trades WHERE mode = ? GROUP BY status", [PAPER]
        ).fetchall()
    )
    return rows.get("closed", 0), rows.get("open", 0) + rows.get("pending", 0)


def unresolved_orders(db: Database) -> int:
    """Return how many orders (any mode) have an unknown outcome."""
    marks = ",".join("?" * len(UNRESOLVED))
    return db.execute(
        f"SELECT COUNT(*) FROM orders WHERE status IN ({marks})", list(UNRESOLVED)
    ).fetchone()[0]


def halts(db: Database, since: datetime | None) -> list[tuple[datetime, str]]:
    """Return the halts (time, reason) of the audit log since a moment."""
    rows = db.execute(
        "SELECT at, detail FROM audit_log WHERE event = 'halt' AND at >= ? ORDER BY id",
        [to_db(since) if since else "0"],
    ).fetchall()
    return [(from_db(at), json.loads(detail).get("reason", "")) for at, detail in rows]


def covered(stop_rows, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """Return the parts of [start, end) that some stop order covered, merged and in order."""
    spans = sorted((max(a, start), min(b, end)) for a, b in stop_rows if a < end and b > start)
    merged: list[tuple[datetime, datetime]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def gaps(start: datetime, end: datetime, cover: list[tuple[datetime, datetime]]) -> list:
    """Return the uncovered (start, length) parts of [start, end)."""
    found, moment = [], start
    for a, b in cover:
        if a > moment:
            found.append((moment, a - moment))
        moment = max(moment, b)
    if end > moment:
        found.append((moment, end - moment))
    return found


def unprotected_windows(db: Database, now: datetime) -> list[Window]:
    """Return every stretch a paper position was held without a stop order on the exchange."""
    trades = db.execute(
        "SELECT t.id, MIN(f.executed_at), COALESCE(t.exit_time, ?) FROM trades t JOIN orders o ON "
        "o.trade_id = t.id JOIN fills f ON f.order_id = o.id WHERE t.mode = ? AND o.purpose = "
        "'entry' "
        "GROUP BY t.id ORDER BY t.id",
        [to_db(now), PAPER],
    ).fetchall()
    windows = []
    for trade_id, first, last in trades:
        stops = db.execute(
            "SELECT created_at, CASE WHEN status IN ('OPEN', 'PARTIAL') THEN ? ELSE updated_at END "
            "FROM orders WHERE trade_id = ? AND purpose = 'stop' AND status != 'REJECTED'",
            [to_db(now), trade_id],
        ).fetchall()
        start, end = from_db(first), from_db(last)
        spans = [(from_db(a), from_db(b)) for a, b in stops]
        windows += [Window(trade_id, a, n) for a, n in gaps(start, end, covered(spans, start, end))]
    return windows


def missing(days: int, closed: int, unresolved: int, golive: GoLiveSettings) -> list[str]:
    """Return what a paper record still lacks against the [golive] settings, in words."""
    lacks = []
    if days < golive.min_paper_days:
        lacks.append(
            f"paper trading on {golive.min_paper_days} days (so far {days}; the cycle must run in "
            "paper mode)"
        )
    if closed < golive.min_paper_trades:
        lacks.append(f"{golive.min_paper_trades} closed paper trades (so far {closed})")
    if unresolved:
        lacks.append(
            f"no order with an unknown outcome ({unresolved} now; the bot resolves them at "
            "start-up "
            "and every management step)"
        )
    return lacks


def lacking(db: Database, golive: GoLiveSettings) -> list[str]:
    """Return what the paper record in the database still lacks (the cheap part of the record)."""
    return missing(days_run(db)[0], trade_counts(db)[0], unresolved_orders(db), golive)


def paper_record(db: Database, settings: Settings, now: datetime) -> PaperRecord:
    """Read the paper record and what it lacks."""
    from signaldesk.equity import equity_before, first_deposit
    from signaldesk.value import backtested_hit_rate, review
    from signaldesk.wouldhave import simulate_due

    simulate_due(
        db, settings, now
    )  # the rejected and expired signals' outcomes, for the value added
    days, first, last = days_run(db)
    closed, still_open = trade_counts(db)
    deposit = first_deposit(db, PAPER)
    equity = equity_before(db, PAPER, now + timedelta(microseconds=1))
    start = first or now
    record = PaperRecord(
        first,
        last,
        days,
        closed,
        still_open,
        money_between(db, PAPER, min(start, deposit.at) if deposit else start, now),
        deposit.amount_jpy if deposit else None,
        equity.equity_jpy if equity else None,
        unprotected_windows(db, now),
        unresolved_orders(db),
        halts(db, first),
        review(db, now, None, backtested_hit_rate(db, settings)) if first else None,
    )
    lacks = missing(days, closed, record.unresolved_orders, settings.golive)
    return replace(record, missing=lacks)


def override(db: Database) -> dict | None:
    """Return the latest recorded override of the paper record (audit log), or None."""
    from signaldesk.audit import events

    found = events(db, OVERRIDE_EVENT, limit=1)
    return found[0] if found else None


def record_override(db: Database, reason: str, by: str, record: PaperRecord, now: datetime) -> int:
    """Write the operator's override of a missing paper record to the audit log; return its id."""
    from signaldesk.audit import record as audit

    detail = {"reason": reason, "missing": record.missing, "days_run": record.days_run}
    return audit(db, OVERRIDE_EVENT, by, {**detail, "trades_closed": record.trades_closed}, now)


def live_refusal(db: Database, settings: Settings) -> str | None:
    """Return why live mode may not start (None: it may: paper mode, a ready record, or a recorded
    override)."""
    if settings.mode != "live" or override(db):
        return None
    lacks = lacking(db, settings.golive)
    if not lacks:
        return None
    return (
        "live mode refused: the paper record does not meet [golive] yet. Missing: "
        + "; ".join(lacks)
        + ". Run `signaldesk golive` to see the record; `signaldesk golive --override REASON` "
        "records "
        "an override in the audit log."
    )


def capped_equity(settings: Settings, equity: Decimal) -> Decimal:
    """Return the equity live sizes, the position cap and loss limits may use: at most the capital
    cap."""
    if settings.mode != "live":
        return equity
    return min(equity, settings.golive.capital_cap_jpy)
