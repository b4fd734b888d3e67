"""`signaldesk train`: train, evaluate (walk-forward + one-time holdout) and write a new model
version folder."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from jobs.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, print_json
from signaldesk.settings import KNOWN_SYMBOLS, PROJECT_ROOT

log = logging.getLogger("signaldesk.train")
DEMO_PERIOD = ("2025-04-01", "2025-06-30")
# The shared CSV series used with --csv-dir: Binance USDT candles standing in for GMO JPY candles.
CSV_FILES = {
    "BTC_JPY": ("btcusdt_binance_15m.csv.gz", "binance:BTCUSDT 15m (stand-in for GMO BTC_JPY)"),
    "BTC": ("btcusdt_binance_15m.csv.gz", "binance:BTCUSDT 15m (stand-in for GMO BTC)"),
    "ETH_JPY": ("ethusdt_binance_15m.csv.gz", "binance:ETHUSDT 15m (stand-in for GMO ETH_JPY)"),
    "ETH": ("ethusdt_binance_15m.csv.gz", "binance:ETHUSDT 15m (stand-in for GMO ETH)"),
}


def add_arguments(parser) -> None:
    """Add the options of `train`."""
    parser.add_argument(
        "--symbols", required=True, help="comma-separated desk symbols, e.g. BTC_JPY,ETH_JPY"
    )
    parser.add_argument(
        "--since", help="first candle day (UTC, YYYY-MM-DD); default: all stored history"
    )
    parser.add_argument(
        "--until", help="day after the last candle (UTC, YYYY-MM-DD, exclusive); default: all"
    )
    parser.add_argument(
        "--holdout-from",
        help="first day of the untouched holdout, evaluated once "
        "(default: the last 20%% of the time range)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="new model version folder (default: models/<UTC time>); an existing folder is refused",
    )
    parser.add_argument(
        "--csv-dir",
        type=Path,
        help="read the shared 15m CSV files (btcusdt_binance_15m.csv.gz, "
        "ethusdt_...) from DIR instead of the database",
    )
    parser.add_argument(
        "--test-days", type=int, default=91, help="length of each walk-forward test block"
    )
    parser.add_argument(
        "--calibration-days", type=int, default=61, help="calibration slice before each test block"
    )
    parser.add_argument(
        "--min-train-days", type=int, default=180, help="shortest training window of a fold"
    )
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="also refit the retired v1 design on the same folds and compare (doubles the time)",
    )
    parser.add_argument(
        "--params",
        type=Path,
        help="LightGBM parameters as JSON (e.g. the best trial of `signaldesk tune`); default: built in",
    )
    parser.add_argument(
        "--bootstrap",
        type=int,
        default=200,
        help="bootstrap draws over days for the intervals (default 200)",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON summary as the last line")


def parse_day(text: str | None, option: str):
    """Return a UTC midnight Timestamp for YYYY-MM-DD, or None; raise ValueError naming the
    option."""
    import pandas as pd

    if text is None:
        return None
    try:
        return pd.Timestamp(datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC))
    except ValueError:
        raise ValueError(f"{option} {text!r}: expected a day like 2024-01-31") from None


def parse_symbols(text: str) -> list[str]:
    """Return the symbols of a comma-separated list; raise ValueError for unknown ones."""
    symbols = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in symbols if s not in KNOWN_SYMBOLS]
    if not symbols or unknown:
        raise ValueError(f"--symbols {text!r}: allowed symbols are {', '.join(KNOWN_SYMBOLS)}")
    return symbols


def frames_from_csv(folder: Path, symbols: list[str], since, until) -> tuple[dict, dict]:
    """Read the shared CSV series of each symbol; return frames and source descriptions."""
    from signaldesk.candles import read_candle_csv
    from signaldesk.features import candles_to_frame

    frames, sources = {}, {}
    for symbol in symbols:
        name, source = CSV_FILES[symbol]
        if not (folder / name).is_file():
            raise FileNotFoundError(
                f"--csv-dir {folder}: {name} not found (the shared data folder is missing?)"
            )
        frame = candles_to_frame(read_candle_csv(folder / name))
        frames[symbol], sources[symbol] = _clip(frame, since, until), f"{source}, file {name}"
    return frames, sources


def frames_from_db(db_path: Path, symbols: list[str], since, until) -> tuple[dict, dict]:
    """Load stored 15m candles of each symbol; return frames and source descriptions."""
    from signaldesk.candles import load_candles
    from signaldesk.features import candles_to_frame
    from signaldesk.storage import open_current_db

    db = open_current_db(db_path)
    try:
        frames, sources = {}, {}
        for symbol in symbols:
            candles = load_candles(db, symbol, "15m", since, until)
            if not candles:
                raise FileNotFoundError(
                    f"no stored 15m candles for {symbol} in {db_path}; run `signaldesk backfill`"
                )
            rows = db.execute(
                "SELECT DISTINCT source FROM candles WHERE symbol = ? AND interval = '15m'",
                [symbol],
            ).fetchall()
            frames[symbol] = candles_to_frame(candles)
            sources[symbol] = "database candles, source(s): " + ", ".join(r[0] for r in rows)
        return frames, sources
    finally:
        db.close()


def _clip(frame, since, until):
    """Keep the candles in [since, until)."""
    keep = frame["open_time"].notna()
    if since is not None:
        keep &= frame["open_time"] >= since
    if until is not None:
        keep &= frame["open_time"] < until
    return frame[keep].reset_index(drop=True)


def default_holdout(frames: dict):
    """Return the start of the last 20% of the common time range, at midnight UTC."""
    start = max(f["open_time"].iloc[0] for f in frames.values())
    end = min(f["open_time"].iloc[-1] for f in frames.values())
    return (start + (end - start) * 0.8).floor("D")


def run(args, settings) -> int:
    """Load candles, train and evaluate, write the model version with its report, print a
    summary."""
    from signaldesk.model.pipeline import TrainingError

    now = datetime.now(UTC)
    out = args.out or PROJECT_ROOT / "models" / now.strftime("%Y%m%d-%H%M")
    try:
        symbols = parse_symbols(args.symbols)
        since, until = parse_day(args.since, "--since"), parse_day(args.until, "--until")
        holdout_from = parse_day(args.holdout_from, "--holdout-from")
        if args.params:
            read_params(args.params)
    except ValueError as exc:
        print(f"train: {exc}")
        return EXIT_USAGE
    if out.exists():
        print(
            f"train: {out} already exists; model versions are never overwritten, choose a new --out"
        )
        return EXIT_USAGE
    try:
        summary = train_version(args, settings, symbols, since, until, holdout_from, out, now)
    except (FileNotFoundError, TrainingError) as exc:
        print(f"train: {exc}")
        return EXIT_FAILED
    print_summary(summary)
    if args.json:
        print_json(summary)
    return EXIT_OK


def train_version(
    args, settings, symbols, since, until, holdout_from, out: Path, now: datetime
) -> dict:
    """Run the training pipeline and write the model folder; return the summary."""
    from signaldesk.model.artifacts import write_version
    from signaldesk.model.pipeline import train_and_evaluate
    from signaldesk.model.report import write_report

    print(f"train: loading candles for {', '.join(symbols)}", flush=True)
    if args.csv_dir:
        frames, sources = frames_from_csv(args.csv_dir, symbols, since, until)
    else:
        frames, sources = frames_from_db(settings.db_path, symbols, since, until)
    options = training_options(args, settings, holdout_from or default_holdout(frames))
    result = train_and_evaluate(
        frames, sources, options, now, lambda text: print(f"train: {text}", flush=True)
    )
    note = data_note(bool(args.csv_dir), result.metadata["windows"]["calibration"]["end"])
    write_version(
        out, result.model.booster, {"version": out.name, "data_note": note, **result.metadata}
    )
    write_report(out, {"data_note": note, **result.report}, f"Model {out.name}: evaluation report")
    return summary_of(out, result.metadata)


def training_options(args, settings, holdout_from):
    """Return the pipeline's options from the command line and the strategy settings."""
    from signaldesk.labels import LabelSpec
    from signaldesk.model.pipeline import TrainingOptions

    options = TrainingOptions(
        holdout_from=holdout_from,
        label=LabelSpec(settings.strategy.label_horizon_bars, settings.strategy.label_move),
        signals_per_day=settings.strategy.signals_per_day,
        test_days=args.test_days,
        calibration_days=args.calibration_days,
        min_train_days=args.min_train_days,
        baseline=getattr(args, "baseline", False),
        draws=getattr(args, "bootstrap", 200),
    )
    if getattr(args, "params", None):
        params, rounds = read_params(args.params)
        options = replace(options, params=params, rounds=rounds)
    return options


def read_params(path: Path) -> tuple[dict, int]:
    """Return LightGBM parameters (over the built-in ones) and rounds from JSON; raise ValueError if
    unreadable."""
    import json

    from signaldesk.model.training import BOOST_ROUNDS, BOOSTER_PARAMS

    try:
        given = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"--params {path}: not a readable JSON object ({exc})") from None
    if not isinstance(given, dict):
        raise ValueError(f"--params {path}: expected a JSON object of LightGBM parameters")
    rounds = int(given.pop("num_boost_round", BOOST_ROUNDS))
    return {**BOOSTER_PARAMS, **given}, rounds


def summary_of(out: Path, metadata: dict) -> dict:
    """Return the JSON summary of a written model version."""
    return {
        "model": str(out),
        **metadata["metrics"],
        "windows": metadata["windows"],
        "operating_point": metadata["operating_point"],
        "edge": metadata["edge"],
    }


def data_note(from_shared_csv: bool, seen_until: str) -> str:
    """Say plainly what the candles are and whether the bundled demo period is out of sample."""
    import pandas as pd

    note = (
        f"The model saw candles up to {seen_until[:16]} UTC (training + calibration); later candles are out of "
        f"sample. The bundled demo period {DEMO_PERIOD[0]}..{DEMO_PERIOD[1]} is "
        f"{'outside' if pd.Timestamp(seen_until) <= pd.Timestamp(DEMO_PERIOD[0], tz='UTC') else 'INSIDE'} "
        f"the model's training data."
    )
    if from_shared_csv:
        note = (
            "Trained on Binance BTC/USDT and ETH/USDT 15m candles as a stand-in for GMO Coin BTC_JPY/ETH_JPY "
            "(no long public JPY series exists); the features are scale-free. " + note
        )
    return note


def print_summary(summary: dict) -> None:
    """Print the headline numbers."""
    print(f"model written to {summary['model']} (report.md beside it)")
    for block in ("walk_forward", "holdout"):
        m = summary[block]
        print(
            f"  {block:12} sign AUC {m['sign_auc']:.3f} (control {m['control_auc']:.3f})  "
            f"signals/day {m['signals_per_day']:.2f}  hit rate {m['hit_rate'] or 0:.0%}  "
            f"net {m['net_bps'] or 0:+.1f} bps after costs"
        )
    print(f"  {summary['edge']['verdict']}")
