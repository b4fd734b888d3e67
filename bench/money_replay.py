"""Figures for the money told truly: a replay with positions held across several 06:00 JST
boundaries, compared with the paper exchange's ledger to the yen (trade P/L, daily reports, loss
limits, equity at each day's end).

Run:  .venv/bin/python bench/money_replay.py [--out DIR] The replay is the one of
tests/money/test_fee_replay.py: 2025-06-20 .. 06-27 on the bundled candles at a yen scale (converted
stand-in, not GMO prices), every signal approved, stops 6 x ATR, take-profits 12 / 24 x ATR and a
72-hour time stop so positions live for days. It prints one line per trade and per JST day.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from signaldesk.backtest.engine import ApprovalPolicy  # noqa: E402
from signaldesk.clock import to_db  # noqa: E402
from signaldesk.equity import equity_before  # noqa: E402
from signaldesk.money import yen  # noqa: E402
from signaldesk.report import daily_report, day_bounds  # noqa: E402
from signaldesk.risk import pnl_events, realised_between  # noqa: E402
from signaldesk.settings import load_settings  # noqa: E402
from signaldesk.storage import apply_migrations, open_db  # noqa: E402
from tests.money.replay import replay  # noqa: E402
from tests.money.test_fee_replay import CONFIG, report_days, trade_ledger_sum  # noqa: E402

SINCE, UNTIL = datetime(2025, 6, 20, tzinfo=UTC), datetime(2025, 6, 27, tzinfo=UTC)
ZERO = Decimal(0)


def ledger_between(db, start: datetime, end: datetime, kinds=("pnl", "fee", "leverage_fee")):
    """Return the paper ledger's sum of some kinds in [start, end)."""
    marks = ",".join("?" * len(kinds))
    rows = db.execute(
        f"SELECT amount FROM paper_ledger WHERE kind IN ({marks}) AND at >= ? AND at < ?",
        [*kinds, to_db(start), to_db(end)],
    ).fetchall()
    return sum((Decimal(a) for (a,) in rows), ZERO)


def print_trades(db) -> None:
    """Print each closed trade: boundaries crossed, its fees and P/L, and the ledger's sum for
    it."""
    rows = db.execute(
        "SELECT t.id, t.symbol, t.direction, t.entry_time, t.exit_time, t.exit_reason, t.pnl_jpy, "
        "t.fees_jpy, (SELECT COUNT(*) FROM position_fees p WHERE p.trade_id = t.id), "
        "(SELECT COALESCE(SUM(CAST(fee_jpy AS INTEGER)), 0) FROM position_fees p "
        "WHERE p.trade_id = t.id) FROM trades t WHERE t.status = 'closed' ORDER BY t.id"
    ).fetchall()
    for tid, sym, dirn, entry, exit_, why, pnl, fees, n, lev in rows:
        ledger = trade_ledger_sum(db, tid)
        print(
            f"trade #{tid} {sym} {dirn} {entry[:16]} -> {exit_[:16]} UTC ({why}): {n} boundaries, "
            f"leverage fees {yen(Decimal(lev))}, fees {yen(Decimal(fees))}, P/L "
            f"{yen(Decimal(pnl), signed=True)}; paper ledger for it {yen(ledger, signed=True)}; "
            f"equal to the yen: {Decimal(pnl) == ledger}"
        )


def print_days(db, settings) -> None:
    """Print each JST day: report P/L and fees, ledger, loss-limit realised, equity vs the
    snapshot."""
    for day in report_days():
        start, end = day_bounds(day)
        r = daily_report(db, day, settings)
        ledger = ledger_between(db, start, end)
        fees = -ledger_between(db, start, end, ("leverage_fee",))
        limits = realised_between(
            pnl_events(db, settings.mode, start), start, end - timedelta(microseconds=1)
        )
        snap = equity_before(db, "paper", end)
        print(
            f"{day}: report P/L {yen(r.money.net_jpy, signed=True)} (leverage fees "
            f"{yen(r.money.leverage_fees_jpy)}), ledger {yen(ledger, signed=True)} (leverage "
            f"{yen(fees)}), loss limits {yen(limits, signed=True)}; report equity "
            f"{yen(r.equity.equity_jpy)} = snapshot at {snap.taken_at:%H:%M} UTC "
            f"{yen(snap.equity_jpy)}: {r.equity == snap}"
        )


def main() -> None:
    """Replay, then print the comparisons."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="keep the replay database in this folder")
    args = parser.parse_args()
    folder = args.out or Path(tempfile.mkdtemp(prefix="money_replay_"))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.toml").write_text(CONFIG, encoding="utf-8")
    env = {
        "SIGNALDESK_DB": str(folder / "replay.sqlite3"),
        "SIGNALDESK_LOG_DIR": str(folder / "log"),
        "SIGNALDESK_CONFIG": str(folder / "config.toml"),
    }
    settings = load_settings(environ=env, env_file=folder / "no.env")
    db = open_db(settings.db_path)
    apply_migrations(db)
    started = time.perf_counter()
    replay(db, settings, SINCE, UNTIL, ApprovalPolicy(1.0))
    print(f"replayed {SINCE:%Y-%m-%d} .. {UNTIL:%Y-%m-%d} in {time.perf_counter() - started:.0f} s")
    print_trades(db)
    print_days(db, settings)
    print(f"database: {settings.db_path}")
    db.close()


if __name__ == "__main__":
    main()
