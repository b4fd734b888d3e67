"""`signaldesk retrain`: backfill the newest candles, train a candidate, score it and the active
model on the same newest out-of-sample block, promote it only when better by a margin with its
checks passed; tell the bot."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from jobs.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, print_json, utc_time


def add_arguments(parser) -> None:
    """Add the options of `retrain`."""
    parser.add_argument(
        "--symbols", help="comma-separated desk symbols (default: the strategy's symbols)"
    )
    parser.add_argument(
        "--eval-days",
        type=int,
        default=28,
        help="the newest block, out of sample for both models, that decides (default 28 days)",
    )
    parser.add_argument(
        "--history-days",
        type=int,
        default=730,
        help="candles the candidate learns from (default 730)",
    )
    parser.add_argument(
        "--margin",
        type=float,
        default=0.002,
        help="sign AUC the candidate must gain over the active model on the block (default 0.002)",
    )
    parser.add_argument("--test-days", type=int, default=91, help="walk-forward test block length")
    parser.add_argument("--calibration-days", type=int, default=61, help="calibration slice")
    parser.add_argument("--min-train-days", type=int, default=180, help="shortest fold training")
    parser.add_argument("--bootstrap", type=int, default=200, help="bootstrap draws over days")
    parser.add_argument(
        "--no-backfill", action="store_true", help="use the stored candles as they are (offline)"
    )
    parser.add_argument(
        "--at", type=utc_time, metavar="TIME", help="run as if the clock read TIME (tests, replays)"
    )
    parser.add_argument("--json", action="store_true", help="print a JSON summary as the last line")


def run(args, settings) -> int:
    """Backfill, train, judge, write the candidate version, promote or refuse, queue the alert."""
    from jobs.train import parse_symbols
    from signaldesk.clock import utc_now
    from signaldesk.storage import open_current_db

    now = args.at or utc_now()
    try:
        symbols = parse_symbols(args.symbols or ",".join(settings.strategy.symbols))
    except ValueError as exc:
        print(f"retrain: {exc}")
        return EXIT_USAGE
    db = open_current_db(settings.db_path)
    try:
        if not args.no_backfill:
            backfill(db, settings, symbols, now, args.history_days)
        return retrain(db, settings, args, symbols, now)
    finally:
        db.close()


def backfill(db, settings, symbols: list[str], now: datetime, history_days: int) -> None:
    """Pull the GMO klines missing since the newest stored candle of each symbol (the backfill
    command's code)."""
    from signaldesk.candles import load_candles
    from signaldesk.exchange.errors import ExchangeError
    from signaldesk.exchange.factory import build_gmo, build_http
    from signaldesk.exchange.history import backfill_klines
    from signaldesk.exchange.tradingday import trading_day

    with build_http() as http:
        source = build_gmo(settings, http)
        for symbol in symbols:
            stored = load_candles(db, symbol, "15m", limit=1)
            start = stored[-1].open_time if stored else now - timedelta(days=history_days)
            try:
                report = backfill_klines(
                    source, db, symbol, trading_day(start), trading_day(now), now
                )
            except ExchangeError as exc:
                print(f"retrain: backfill of {symbol} stopped ({exc}); training on what is stored")
                continue
            print(
                f"retrain: backfilled {symbol}: {report.added} new candles, {len(report.gaps)} gap(s)"
            )


def retrain(db, settings, args, symbols: list[str], now: datetime) -> int:
    """Train the candidate and judge it against the active model; return the exit code."""
    from signaldesk.model.pipeline import TrainingError

    name = now.strftime("%Y%m%d-%H%M")
    try:
        result = train_candidate(settings, args, symbols, now)
    except (FileNotFoundError, TrainingError, ValueError) as exc:
        refuse_untrained(db, settings, name, str(exc), now)
        print(f"retrain: no candidate: {exc}")
        if args.json:
            print_json({"promoted": False, "version": None, "error": str(exc)})
        return EXIT_FAILED
    return decide(db, settings, args, name, result, now)


def train_candidate(settings, args, symbols, now: datetime):
    """Return the training result of a candidate whose holdout is the newest `eval_days` of
    candles."""
    import pandas as pd

    from jobs.train import frames_from_db, training_options
    from signaldesk.model.pipeline import train_and_evaluate

    since = pd.Timestamp(now - timedelta(days=args.history_days))
    frames, sources = frames_from_db(settings.db_path, symbols, since, pd.Timestamp(now))
    newest = min(f["open_time"].iloc[-1] for f in frames.values()) + pd.Timedelta(minutes=15)
    holdout_from = (newest - pd.Timedelta(days=args.eval_days)).floor("D")
    options = training_options(args, settings, holdout_from)
    return train_and_evaluate(
        frames, sources, options, now, lambda text: print(f"retrain: {text}", flush=True)
    )


def load_active(db, settings, now: datetime):
    """Return (the active model or None, why it cannot be scored or None)."""
    from signaldesk.model.artifacts import ModelMismatch, ModelMissing
    from signaldesk.model.inference import load_model
    from signaldesk.model.registry import active_folder

    try:
        return load_model(active_folder(db, settings), now, float("inf")), None
    except (ModelMissing, ModelMismatch) as exc:
        return None, str(exc)


def decide(db, settings, args, name: str, result, now: datetime) -> int:
    """Compare, write the candidate version, promote or refuse, alert; return the exit code."""
    from signaldesk.model.evaluation import Scoring, TradeCosts
    from signaldesk.model.registry import active_name, retrained_root
    from signaldesk.model.retraining import GateRules, compare, judge

    active, problem = load_active(db, settings, now)
    how = Scoring(TradeCosts(), settings.strategy.label_horizon_bars, args.bootstrap)
    verdict = judge(compare(result, active, how), problem, GateRules(margin=args.margin))
    folder = write_candidate(retrained_root(settings) / name, result, verdict)
    previous = active_name(db, settings)
    promoted, verdict = promote(db, settings, name, verdict, now)
    announce(db, name, previous, verdict, promoted, now)
    print(f"retrain: candidate written to {folder}; {'PROMOTED' if promoted else 'not promoted'}")
    for reason in verdict.reasons:
        print(f"  {reason}")
    if args.json:
        print_json(
            {
                "promoted": promoted,
                "version": name,
                "previous": previous,
                "figures": verdict.figures,
                "reasons": list(verdict.reasons),
            }
        )
    return EXIT_OK


def write_candidate(folder: Path, result, verdict) -> Path:
    """Write the candidate version (kept whether promoted or not) with its report and the gate's
    figures."""
    from signaldesk.model.artifacts import write_version
    from signaldesk.model.report import write_report

    gate = {"promoted": verdict.promote, "reasons": list(verdict.reasons), **verdict.figures}
    metadata = {"version": folder.name, "retrain": gate, **result.metadata}
    write_version(folder, result.model.booster, metadata)
    write_report(
        folder, result.report, f"Model {folder.name}: evaluation report (retrain candidate)"
    )
    return folder


def promote(db, settings, name: str, verdict, now: datetime):
    """Activate the candidate when the verdict says so (and no SIGNALDESK_MODEL pin forbids it)."""
    from dataclasses import replace

    from signaldesk.model.registry import ActivationError, activate

    if not verdict.promote:
        return False, verdict
    try:
        activate(db, settings, name, now, "retrain", "retrain", {"gate": verdict.figures})
    except ActivationError as exc:
        return False, replace(verdict, promote=False, reasons=(*verdict.reasons, str(exc)))
    return True, verdict


def announce(db, name: str, previous: str, verdict, promoted: bool, now: datetime) -> None:
    """Queue the alert the bot delivers: a promotion or a refusal, with the figures."""
    from signaldesk import outbox
    from signaldesk.model.retraining import alert_text

    failed_checks = any("refusing" in reason for reason in verdict.reasons)
    severity = "warning" if failed_checks else "info"
    outbox.queue_alert(
        db, severity, "model_retrain", alert_text(name, previous, verdict, promoted), now
    )


def refuse_untrained(db, settings, name: str, error: str, now: datetime) -> None:
    """Queue a warning when no candidate could be trained (data missing, look-ahead found, ...)."""
    from signaldesk import outbox
    from signaldesk.model.registry import active_name

    outbox.queue_alert(
        db,
        "warning",
        "model_retrain",
        f"Retrain: no candidate {name} could be trained ({error}); {active_name(db, settings)} stays "
        f"active.",
        now,
    )
