"""`signaldesk evaluate`: score a model version on stored candles it did not see, per symbol and
month."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from jobs.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, print_json
from jobs.train import frames_from_csv, frames_from_db, parse_day, parse_symbols


def add_arguments(parser) -> None:
    """Add the options of `evaluate`."""
    parser.add_argument(
        "--model",
        type=Path,
        help="model version folder (default: the active model, SIGNALDESK_MODEL)",
    )
    parser.add_argument(
        "--symbols", required=True, help="comma-separated desk symbols, e.g. BTC_JPY,ETH_JPY"
    )
    parser.add_argument("--since", required=True, help="first scored candle day (UTC, YYYY-MM-DD)")
    parser.add_argument(
        "--until", help="day after the last scored candle (UTC, exclusive); default: all"
    )
    parser.add_argument(
        "--csv-dir",
        type=Path,
        help="read the shared 15m CSV files from DIR instead of the database",
    )
    parser.add_argument(
        "--allow-overlap",
        action="store_true",
        help="score even when the window overlaps the model's training data (numbers then flatter it)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the full metrics as JSON on the last line"
    )


def run(args, settings) -> int:
    """Load the model and the candles, score them, print per-symbol metrics at the model's operating
    point."""
    from signaldesk.model.artifacts import ModelMismatch, ModelMissing
    from signaldesk.model.evaluation import TradeCosts
    from signaldesk.model.inference import load_model
    from signaldesk.model.pipeline import TrainingError, evaluate_model, training_overlap

    try:
        symbols = parse_symbols(args.symbols)
        since, until = parse_day(args.since, "--since"), parse_day(args.until, "--until")
        model = load_model(
            args.model or settings.model_dir, datetime.now(UTC), settings.health.model_max_age_days
        )
    except (ValueError, ModelMissing, ModelMismatch) as exc:
        print(f"evaluate: {exc}")
        return EXIT_USAGE
    overlap = training_overlap(model.metadata, since, until)
    if overlap and not args.allow_overlap:
        print(
            f"evaluate: the window overlaps the model's training data: {overlap}; choose --since after it "
            f"(or pass --allow-overlap to score anyway, knowing the numbers flatter the model)"
        )
        return EXIT_USAGE
    warm_up = since - timedelta(days=7)  # features need ~500 earlier candles (5.2 days); not scored
    try:
        load = frames_from_csv if args.csv_dir else frames_from_db
        frames, sources = load(args.csv_dir or settings.db_path, symbols, warm_up, until)
        result = evaluate_model(model, frames, since, TradeCosts())
    except (FileNotFoundError, TrainingError) as exc:
        print(f"evaluate: {exc}")
        return EXIT_FAILED
    result.update(sources=sources, overlap_with_training=overlap)
    print_evaluation(result)
    if args.json:
        print_json(result)
    return EXIT_OK


def print_evaluation(result: dict) -> None:
    """Print one line per symbol with sign AUC and the operating point's rate, hit rate and edge."""
    if result["overlap_with_training"]:
        print(f"WARNING: scored window overlaps training data: {result['overlap_with_training']}")
    print(f"model {result['model']}: {result['label']['definition']}")
    print(f"costs: {result['costs']['definition']}")
    for name, block in result["overall"].items():
        p = block["operating_point"]
        print(
            f"  {name:8} rows {block['rows']:6}  sign AUC {_num(block['sign_auc'])}{_ci(block['sign_auc_ci'])}"
            f"  signals/day {p['per_day'] or 0:.2f} (long {p['long_per_day'] or 0:.2f}, short "
            f"{p['short_per_day'] or 0:.2f})  hit rate {_num(p['hit_rate'])}  net {_bps(p['net_bps'])} bps"
            f"{_ci(p['net_ci_bps'], '+.1f')}"
        )


def _num(value) -> str:
    """Format an optional ratio."""
    return "-" if value is None else f"{value:.3f}"


def _ci(interval, spec: str = ".3f") -> str:
    """Format an optional 95% interval."""
    return "" if not interval else f" [{interval[0]:{spec}}, {interval[1]:{spec}}]"


def _bps(value) -> str:
    """Format optional basis points with a sign."""
    return "-" if value is None else f"{value:+.1f}"
