"""`signaldesk backtest`: replay history through the desk's own code on the paper exchange and write
a report."""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

from jobs.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, print_json, utc_time
from signaldesk.exchange.feed import REPLAY_SPREAD_BPS

EXIT_AT_ONCE = True  # a one-shot process: end without interpreter teardown (jobs.cli.exit_at_once)


def add_arguments(parser) -> None:
    """Add the options of `backtest`."""
    parser.add_argument(
        "--since", required=True, type=utc_time, help="first candle (UTC), YYYY-MM-DD or ISO time"
    )
    parser.add_argument(
        "--until", required=True, type=utc_time, help="end (exclusive, UTC), YYYY-MM-DD or ISO time"
    )
    parser.add_argument(
        "--approve",
        default="all",
        help="approval policy: 'all', or a fraction in (0, 1] approved at random (the rest rejected)",
    )
    parser.add_argument(
        "--seed", type=int, default=7, help="seed of the random approvals (default 7)"
    )
    parser.add_argument(
        "--out", type=Path, help="output folder (default: var/backtests/<since>_<until>)"
    )
    parser.add_argument(
        "--candles",
        type=Path,
        metavar="DIR",
        help="read 15m candle CSVs (btcusdt_binance_15m*.csv.gz, ethusdt_...) from DIR instead of "
        "the desk database, e.g. data/ (bundled) or ../shared/data",
    )
    parser.add_argument(
        "--thresholds",
        metavar="LONG,SHORT",
        help="override strategy.long_threshold and short_threshold for this run, e.g. 0.50,0.45",
    )
    parser.add_argument(
        "--walk-forward",
        action="store_true",
        help="retrain on a rolling window before each block and trade only that block",
    )
    parser.add_argument(
        "--train-days", type=int, default=365, help="walk-forward: training window (days)"
    )
    parser.add_argument(
        "--retrain-days", type=int, default=30, help="walk-forward: block length between retrains"
    )
    parser.add_argument(
        "--every-step",
        action="store_true",
        help="run the desk's whole step at every candle instead of only where something can happen "
        "(the same result, much slower: the fast path's reference)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--json", action="store_true", help="print the JSON summary as the last line"
    )


def parse_thresholds(text: str | None) -> tuple[float, float] | None:
    """Parse LONG,SHORT probabilities in (0, 1); raise ValueError naming the option."""
    if text is None:
        return None
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 2 or not all(0 < v < 1 for v in values):
        raise ValueError(
            f"--thresholds {text!r}: give two probabilities in (0, 1) as LONG,SHORT, e.g. 0.50,0.45"
        )
    return values


def build_plan(args, settings):
    """Return the backtest plan and the settings it runs with; raise ValueError on a bad option."""
    from signaldesk.backtest.engine import parse_policy
    from signaldesk.backtest.run import BacktestPlan, WalkForward, strategy_with

    if not args.since < args.until:
        raise ValueError(
            f"--since {args.since:%Y-%m-%d} must be before --until {args.until:%Y-%m-%d}"
        )
    if args.walk_forward and (args.train_days < 60 or args.retrain_days < 1):
        raise ValueError("--train-days must be >= 60 and --retrain-days >= 1")
    out = (
        args.out
        or settings.db_path.parent / "backtests" / f"{args.since:%Y%m%d}_{args.until:%Y%m%d}"
    )
    plan = BacktestPlan(
        args.since,
        args.until,
        parse_policy(args.approve, args.seed),
        out,
        REPLAY_SPREAD_BPS,
        args.candles,
        WalkForward(args.train_days, retrain_days=args.retrain_days) if args.walk_forward else None,
        args.every_step,
    )
    return plan, strategy_with(settings, parse_thresholds(args.thresholds))


def run(args, settings) -> int:
    """Run the backtest, write trades.csv, summary.json, charts and report.md, and print the
    headline."""
    from signaldesk.backtest.engine import BacktestError
    from signaldesk.backtest.report import write_outputs
    from signaldesk.backtest.run import run_backtest
    from signaldesk.model.artifacts import ModelMismatch, ModelMissing

    try:
        plan, settings = build_plan(args, settings)
    except ValueError as exc:
        print(f"backtest: {exc}")
        return EXIT_USAGE
    print(
        f"backtest {plan.since:%Y-%m-%d %H:%M} .. {plan.until:%Y-%m-%d %H:%M} UTC, {plan.policy.describe()}, "
        f"thresholds long {settings.strategy.long_threshold} / short {settings.strategy.short_threshold}"
    )
    logging.getLogger("signaldesk.audit").setLevel(
        logging.WARNING
    )  # every verdict is in the scratch audit_log
    try:
        result = run_backtest(plan, settings, None if args.quiet else sys.stderr)
    except (BacktestError, ModelMissing, ModelMismatch) as exc:
        print(f"backtest: {exc}")
        return EXIT_FAILED
    started = time.perf_counter()
    paths = write_outputs(result, plan.out_dir)
    print(f"report written in {time.perf_counter() - started:.1f} s")
    summary = json.loads(paths["summary_json"].read_text(encoding="utf-8"))
    hold = summary["buy_and_hold"]
    print(
        f"{summary['trades']['closed']} closed trade(s), return {summary['total_return_pct']}% "
        f"(max drawdown {summary['max_drawdown_pct']}%) vs buy-and-hold {hold['total_return_pct']}%; "
        f"report {paths['report_md']}"
    )
    if args.json:
        print_json(
            {**summary, "out": str(plan.out_dir), "files": {k: str(v) for k, v in paths.items()}}
        )
    return EXIT_OK
