"""`signaldesk golive`: the paper record, what it still lacks before live mode may start, and the
override.

Exit 0 when the record meets [golive] (or an override was recorded now), 1 when something is
missing.
"""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING

from jobs.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, print_json
from signaldesk.money import yen

if TYPE_CHECKING:
    from signaldesk.golive import PaperRecord
    from signaldesk.settings import GoLiveSettings, Settings

MIN_REASON = 10


def add_arguments(parser) -> None:
    """Add the options of `golive`."""
    parser.add_argument(
        "--override",
        metavar="REASON",
        help="let live mode start although the paper record is not complete; the reason, who "
        "and what "
        "was missing go to the audit log (at least 10 characters)",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON summary as the last line")


def duration_text(seconds: float) -> str:
    """Render seconds as `2h 05m`, `12m` or `40s`."""
    minutes, hours = int(seconds // 60) % 60, int(seconds // 3600)
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m" if minutes else f"{int(seconds)}s"


def record_lines(record: PaperRecord, golive: GoLiveSettings) -> list[str]:
    """Render the paper record for the terminal."""
    since = (
        f"{record.first_at:%Y-%m-%d %H:%M} UTC" if record.first_at else "never (no paper cycle yet)"
    )
    longest = max((w.length for w in record.unprotected), default=None)
    lines = [
        f"Paper record since {since}",
        f"  days run          {record.days_run} (needs {golive.min_paper_days})",
        f"  trades            {record.trades_closed} closed (needs {golive.min_paper_trades}), "
        f"{record.trades_open} open",
        f"  P/L after fees    {yen(record.money.net_jpy, signed=True)} (execution fees "
        f"{yen(record.money.execution_fees_jpy)}, leverage fees "
        f"{yen(record.money.leverage_fees_jpy)})",
        f"  equity            {yen(record.equity_jpy)} (deposit {yen(record.deposit_jpy)})",
        f"  protection        {len(record.unprotected)} stretch(es) a position waited for its stop"
        + (f"; longest {duration_text(longest.total_seconds())}" if longest else ""),
        f"  unresolved orders {record.unresolved_orders}",
        f"  halts             {len(record.halts)}"
        + "".join(f"\n    {at:%Y-%m-%d %H:%M} UTC: {why}" for at, why in record.halts[-5:]),
    ]
    return lines + value_lines(record.value)


def value_lines(value) -> list[str]:
    """Render the person's value added over the record."""
    if value is None or value.interval_jpy is None:
        return ["  value added       n/a (no decided signal with a known outcome yet)"]
    low, high = value.interval_jpy
    waiting = sum(g.count - g.resolved for g in (value.rejected, value.expired))
    later = f"; {waiting} not simulated yet" if waiting else ""
    return [
        f"  value added       {yen(value.value_added_jpy, signed=True)} (95% interval "
        f"{yen(low, signed=True)} to {yen(high, signed=True)}; approved {value.approved.count}, "
        f"rejected {value.rejected.count}, expired {value.expired.count}{later})"
    ]


def summary(record: PaperRecord, allowed: bool, overridden: bool) -> dict:
    """Return the machine-readable record."""
    return {
        "allowed": allowed,
        "overridden": overridden,
        "missing": record.missing,
        "days_run": record.days_run,
        "trades_closed": record.trades_closed,
        "pnl_jpy": str(record.money.net_jpy),
        "leverage_fees_jpy": str(record.money.leverage_fees_jpy),
        "unresolved_orders": record.unresolved_orders,
        "halts": len(record.halts),
        "unprotected_windows": len(record.unprotected),
    }


def run(args, settings: Settings) -> int:
    """Print the paper record and the verdict; record an override when asked."""
    from signaldesk.clock import utc_now
    from signaldesk.golive import override, paper_record, record_override
    from signaldesk.storage import open_current_db

    if args.override is not None and len(args.override.strip()) < MIN_REASON:
        print(
            f"golive --override needs a reason of at least {MIN_REASON} characters; nothing "
            "recorded"
        )
        return EXIT_USAGE
    db, now = open_current_db(settings.db_path), utc_now()
    try:
        record = paper_record(db, settings, now)
        print("\n".join(record_lines(record, settings.golive)))
        overridden = False
        if record.missing and args.override:
            record_override(db, args.override.strip(), getpass.getuser(), record, now)
            overridden = True
        allowed = record.ready or overridden or override(db) is not None
    finally:
        db.close()
    print(verdict(record, allowed, overridden))
    if args.json:
        print_json(summary(record, allowed, overridden))
    return EXIT_OK if allowed else EXIT_FAILED


def verdict(record: PaperRecord, allowed: bool, overridden: bool) -> str:
    """Return the last line: allowed, or what is missing."""
    if record.ready:
        return (
            "Ready for live mode: the paper record meets [golive]. Live starts under the capital "
            "cap."
        )
    missing = "; ".join(record.missing)
    if overridden:
        return f"Override recorded in the audit log. Still missing: {missing}."
    if allowed:
        return f"An earlier override (audit log) lets live mode start. Still missing: {missing}."
    return f"Not ready for live mode. Missing: {missing}."
