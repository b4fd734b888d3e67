"""Equity through time: snapshots the cycle writes every 15 minutes, read back at any past moment;
the deposit; and, in live mode, the daily check of the desk's own books against GMO's
`/v1/account/margin`.

The cycle owns the snapshots (it computes a risk snapshot every run anyway); a report for a JST
day reads the last snapshot taken before the day ended, never the equity of the moment the
report is sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from signaldesk.clock import from_db, to_db
from signaldesk.columns import decimal_text
from signaldesk.storage import writing

if TYPE_CHECKING:
    from signaldesk.exchange.base import Exchange
    from signaldesk.settings import Settings
    from signaldesk.storage import Database

ZERO = Decimal(0)
MARGIN_KEY = (
    "margin_check"  # system_state: the last check's time, GMO equity and desk unrealised P/L
)


@dataclass(frozen=True)
class EquitySnapshot:
    """Equity at one moment with the unrealised part and the open positions behind it."""

    taken_at: datetime
    equity_jpy: Decimal
    unrealised_jpy: Decimal
    positions: list = field(default_factory=list)


def positions_json(exposures) -> str:
    """Return open exposures (signaldesk.risk.OpenExposure) as JSON for the snapshot."""
    return json.dumps(
        [
            {
                "trade_id": x.trade_id,
                "symbol": x.symbol,
                "direction": x.direction,
                "size": decimal_text(x.size),
                "entry_price": decimal_text(x.entry_price),
                "mark_price": decimal_text(x.mark_price),
                "unrealised_jpy": decimal_text(x.unrealised_jpy),
            }
            for x in exposures
        ]
    )


def record_snapshot(db: Database, mode: str, risk, source: str = "cycle") -> None:
    """Write the equity of a risk snapshot (signaldesk.risk.RiskSnapshot); a second one at the same
    moment is kept out."""
    record_snapshots(db, mode, [(risk.at, risk)], source)


def record_snapshots(db: Database, mode: str, taken, source: str = "cycle") -> None:
    """Write the equity of risk snapshots, each as of its moment ((moment, snapshot) pairs), in one
    statement, in order (the backtest's bulk bookkeeping); one at a moment already written is kept
    out."""
    with writing(db):
        db.conn.executemany(
            "INSERT OR IGNORE INTO equity_snapshots (taken_at, mode, equity_jpy, "
            "unrealised_jpy, positions, source) VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    to_db(at),
                    mode,
                    decimal_text(risk.account_equity_jpy or risk.equity_jpy),
                    decimal_text(risk.unrealised_jpy),
                    positions_json(risk.open_positions),
                    source,
                )
                for at, risk in taken
            ],
        )


def _snapshot(row) -> EquitySnapshot:
    """Build a snapshot from (taken_at, equity, unrealised, positions)."""
    return EquitySnapshot(from_db(row[0]), Decimal(row[1]), Decimal(row[2]), json.loads(row[3]))


SNAPSHOT = "SELECT taken_at, equity_jpy, unrealised_jpy, positions FROM equity_snapshots"


def _last(db: Database, mode: str, comparison: str, moment: datetime) -> EquitySnapshot | None:
    """Return the last snapshot taken `comparison` (<= or <) a moment, or None."""
    row = db.execute(
        f"{SNAPSHOT} WHERE mode = ? AND taken_at {comparison} ? ORDER BY taken_at DESC LIMIT 1",
        [mode, to_db(moment)],
    ).fetchone()
    return _snapshot(row) if row else None


def equity_at(db: Database, mode: str, moment: datetime) -> EquitySnapshot | None:
    """Return the last snapshot taken at or before `moment`, or None."""
    return _last(db, mode, "<=", moment)


def equity_before(db: Database, mode: str, end: datetime) -> EquitySnapshot | None:
    """Return the last snapshot taken before `end`: the equity at the end of a period."""
    return _last(db, mode, "<", end)


def equity_series(
    db: Database, mode: str, start: datetime, end: datetime
) -> list[tuple[datetime, Decimal]]:
    """Return (time, equity) of every snapshot in [start, end), oldest first."""
    rows = db.execute(
        "SELECT taken_at, equity_jpy FROM equity_snapshots WHERE mode = ? AND taken_at >= ? "
        "AND taken_at < ? ORDER BY taken_at",
        [mode, to_db(start), to_db(end)],
    ).fetchall()
    return [(from_db(t), Decimal(e)) for t, e in rows]


@dataclass(frozen=True)
class Deposit:
    """Where the desk's money started: the amount and when."""

    at: datetime
    amount_jpy: Decimal


def first_deposit(db: Database, mode: str, account: str = "paper") -> Deposit | None:
    """Return the paper account's starting balance, or (live) the first equity snapshot; None before
    either."""
    if mode == "paper":
        row = db.execute(
            "SELECT created_at, starting_jpy FROM paper_accounts WHERE account = ?", [account]
        ).fetchone()
        if row:
            return Deposit(from_db(row[0]), Decimal(row[1]))
    row = db.execute(
        "SELECT taken_at, equity_jpy FROM equity_snapshots WHERE mode = ? "
        "ORDER BY taken_at LIMIT 1",
        [mode],
    ).fetchone()
    return Deposit(from_db(row[0]), Decimal(row[1])) if row else None


# ---- live: the desk's books against GMO's margin, once a day -------------------------------------


@dataclass(frozen=True)
class MarginCheck:
    """One comparison of the desk's books with GMO's account valuation since the previous check."""

    since: datetime
    at: datetime
    gmo_change_jpy: Decimal
    desk_change_jpy: Decimal

    @property
    def difference_jpy(self) -> Decimal:
        """Return how much GMO's valuation moved beyond what the desk's books explain."""
        return self.gmo_change_jpy - self.desk_change_jpy


def margin_check(
    previous: tuple[datetime, Decimal, Decimal],
    gmo_equity: Decimal,
    realised_since: Decimal,
    unrealised_now: Decimal,
    now: datetime,
) -> MarginCheck:
    """Compare GMO's equity change since the last check with the desk's realised P/L and unrealised
    change."""
    at, gmo_before, unrealised_before = previous
    desk = realised_since + unrealised_now - unrealised_before
    return MarginCheck(at, now, gmo_equity - gmo_before, desk)


def margin_alert_text(check: MarginCheck, tolerance: Decimal) -> str | None:
    """Return the alert text when the difference is beyond the tolerance, else None."""
    from signaldesk.money import yen

    if abs(check.difference_jpy) <= tolerance:
        return None
    return (
        "GMO's account valuation (/v1/account/margin) moved "
        f"{yen(check.gmo_change_jpy, signed=True)} "
        f"since {check.since:%Y-%m-%d %H:%M} UTC, but the desk's books explain "
        f"{yen(check.desk_change_jpy, signed=True)} (difference "
        f"{yen(check.difference_jpy, signed=True)}, "
        f"tolerance {yen(tolerance)}). A deposit or withdrawal, a fee the desk did not book, or a "
        "trade "
        "made outside the desk; compare GMO's account history with /trades."
    )


def check_margin(
    db: Database, exchange: Exchange, settings: Settings, now: datetime
) -> MarginCheck | None:
    """Compare the desk with GMO's margin since the last check, alert on a difference; None on the
    first check."""
    from signaldesk.ledger import money_between
    from signaldesk.outbox import queue_alert
    from signaldesk.risk import open_exposures
    from signaldesk.state import get_value, set_value

    gmo = exchange.margin().actual_profit_loss
    unrealised = sum((x.unrealised_jpy for x in open_exposures(db, exchange, settings.mode)), ZERO)
    stored = get_value(db, MARGIN_KEY)
    set_value(db, MARGIN_KEY, json.dumps([to_db(now), str(gmo), str(unrealised)]), now, "bot")
    if not stored:
        return None
    at, before, unrealised_before = json.loads(stored)
    since = from_db(at)
    realised = money_between(db, settings.mode, since, now).net_jpy
    check = margin_check(
        (since, Decimal(before), Decimal(unrealised_before)), gmo, realised, unrealised, now
    )
    text = margin_alert_text(check, settings.golive.margin_tolerance_jpy)
    if text:
        queue_alert(
            db, "warning", "margin_check", text, now, dedupe_key=f"margin_check:{to_db(now)}"
        )
    return check
