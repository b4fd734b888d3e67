"""`signaldesk tune`: Optuna over the walk-forward objective (never the holdout), in RDB storage
shared by workers.

Run the same command on several machines (or in several shells) with one `--storage` URL and
`--study` name: each process is a worker of the same study. SQLite suits one machine; for several,
use PostgreSQL, e.g. `--storage postgresql+psycopg2://user:pass@host/db` (install a driver beside
optuna).
"""

from __future__ import annotations

import json
from pathlib import Path

from jobs.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, print_json
from signaldesk.settings import PROJECT_ROOT

DEFAULT_STORAGE = f"sqlite:///{PROJECT_ROOT / 'var' / 'tune.sqlite3'}"
INSTALL_HINT = "optuna is not installed: pip install 'signaldesk[tune]' (or .[tune] in a checkout)"


class TuningUnavailable(RuntimeError):
    """Optuna is missing; the message says how to install it."""


def add_arguments(parser) -> None:
    """Add the options of `tune`."""
    parser.add_argument("--symbols", required=True, help="comma-separated desk symbols")
    parser.add_argument(
        "--holdout-from",
        required=True,
        help="first day of the holdout (YYYY-MM-DD); no candle from that day on is read",
    )
    parser.add_argument("--since", help="first candle day (UTC); default: all stored history")
    parser.add_argument(
        "--csv-dir",
        type=Path,
        help="read the shared 15m CSV files from DIR instead of the database",
    )
    parser.add_argument(
        "--trials", type=int, default=20, help="trials this worker runs (default 20)"
    )
    parser.add_argument(
        "--storage",
        default=DEFAULT_STORAGE,
        help="Optuna RDB storage URL shared by the workers (default: var/tune.sqlite3)",
    )
    parser.add_argument("--study", default="signaldesk-direction", help="study name")
    parser.add_argument("--seed", type=int, help="sampler seed of this worker (default: random)")
    parser.add_argument("--test-days", type=int, default=91, help="walk-forward test block length")
    parser.add_argument("--calibration-days", type=int, default=61, help="calibration slice")
    parser.add_argument("--min-train-days", type=int, default=180, help="shortest fold training")
    parser.add_argument(
        "--best-out",
        type=Path,
        help="write the study's best parameters here (for `train --params`)",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON summary as the last line")


def run(args, settings) -> int:
    """Load the candles before the holdout, join the study, run this worker's trials, report the
    best."""
    from jobs.train import parse_day, parse_symbols

    try:
        symbols = parse_symbols(args.symbols)
        holdout_from, since = (
            parse_day(args.holdout_from, "--holdout-from"),
            parse_day(args.since, "--since"),
        )
        import_optuna()
    except (ValueError, TuningUnavailable) as exc:
        print(f"tune: {exc}")
        return EXIT_USAGE
    try:
        study = tune(args, settings, symbols, since, holdout_from)
    except (FileNotFoundError, ValueError) as exc:
        print(f"tune: {exc}")
        return EXIT_FAILED
    return report(args, study)


def tune(args, settings, symbols, since, holdout_from):
    """Build the walk-forward objective on candles before the holdout and run the trials; return the
    study."""
    import pandas as pd

    from jobs.train import frames_from_csv, frames_from_db
    from signaldesk.labels import LabelSpec
    from signaldesk.model.training import build_dataset, walk_forward_folds
    from signaldesk.model.tuning import Objective, run_trials

    load = frames_from_csv if args.csv_dir else frames_from_db
    frames, _ = load(args.csv_dir or settings.db_path, symbols, since, holdout_from)
    data = build_dataset(frames, LabelSpec(settings.strategy.label_horizon_bars))
    day = pd.Timedelta(days=1)
    folds = walk_forward_folds(
        data["open_time"].min(),
        holdout_from - day,  # the last labels look an hour ahead: keep them off the holdout
        args.test_days * day,
        args.calibration_days * day,
        args.min_train_days * day,
        day,
    )
    if not folds:
        raise ValueError("not enough history before the holdout for one walk-forward fold")
    data = data[data["open_time"] < holdout_from - day]
    study = open_study(args.storage, args.study, args.seed)
    print(f"tune: {args.trials} trial(s) on study {args.study!r} in {args.storage}", flush=True)
    run_trials(study, Objective(data, folds, holdout_from), args.trials, print)
    return study


def report(args, study) -> int:
    """Print the study's state and best trial; write the best parameters when asked."""
    from signaldesk.model.tuning import best_params

    done = [t for t in study.trials if t.value is not None]
    best = best_params(study)
    workers = sorted({t.user_attrs.get("worker", "?") for t in done})
    print(
        f"tune: study {study.study_name!r} has {len(done)} finished trial(s) from {len(workers)} "
        f"worker(s); best walk-forward sign AUC {study.best_value:.4f} (trial {study.best_trial.number})"
    )
    if args.best_out:
        args.best_out.write_text(
            json.dumps(best, indent=1, sort_keys=True) + "\n", encoding="utf-8"
        )
        print(
            f"tune: best parameters written to {args.best_out} (use with `signaldesk train --params`)"
        )
    if args.json:
        print_json(
            {
                "study": study.study_name,
                "trials": len(done),
                "workers": workers,
                "best_value": study.best_value,
                "best_params": best,
            }
        )
    return EXIT_OK


def open_study(storage_url: str, study_name: str, seed: int | None = None, attempts: int = 5):
    """Create or join a study in RDB storage (SQLite waits for the lock instead of failing).

    Workers started together race to create the storage's tables; the loser retries and joins.
    """
    import time

    from sqlalchemy.exc import SQLAlchemyError

    optuna = import_optuna()
    engine = {"connect_args": {"timeout": 120}} if storage_url.startswith("sqlite") else {}
    for attempt in range(1, attempts + 1):
        try:
            return optuna.create_study(
                study_name=study_name,
                storage=optuna.storages.RDBStorage(storage_url, engine_kwargs=engine),
                direction="maximize",
                sampler=optuna.samplers.TPESampler(seed=seed),
                load_if_exists=True,
            )
        except SQLAlchemyError:
            if attempt == attempts:
                raise
            time.sleep(0.5 * attempt)


def import_optuna():
    """Return the optuna module; raise TuningUnavailable with the install hint when it is
    missing."""
    try:
        import optuna
    except ImportError:
        raise TuningUnavailable(INSTALL_HINT) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna
