"""The `signaldesk` command line: one subcommand per process or job, each in its own module,
imported on demand."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

# name -> (module, one-line help). A module provides add_arguments(parser) and run(args, settings)
# -> int.
COMMANDS: dict[str, tuple[str, str]] = {
    "migrate": ("jobs.migrate", "apply pending database migrations, or list them with --list"),
    "backfill": (
        "jobs.backfill",
        "load candles into the database: from GMO klines or from a CSV file",
    ),
    "cycle": (
        "jobs.cycle",
        "run the 15-minute signal cycle once (cron), or --replay it over stored candles",
    ),
    "bot": (
        "jobs.bot",
        "run the Telegram desk (long-running): announce signals, approvals, commands, report, alerts",
    ),
    "listen": (
        "jobs.listen",
        "run the Bybit liquidation listener (long-running; feeds spike flags to the cycle)",
    ),
    "train": (
        "jobs.train",
        "train, evaluate and write a new model version (walk-forward, holdout, report)",
    ),
    "evaluate": (
        "jobs.evaluate",
        "score a model version on stored candles it did not see, per symbol and month",
    ),
    "retrain": (
        "jobs.retrain",
        "backfill, train a candidate, promote it only when it beats the active model (weekly)",
    ),
    "model": (
        "jobs.model_cmd",
        "list the model versions, activate one, or roll back to the previous one",
    ),
    "tune": (
        "jobs.tune",
        "search LightGBM parameters with Optuna over the walk-forward objective (off the VPS)",
    ),
    "demo": (
        "jobs.demo.command",
        "run the desk offline on the bundled real candles (paper mode, no keys needed)",
    ),
    "backtest": (
        "jobs.backtest",
        "replay history through the desk's own code path; trades CSV, summary, charts, report",
    ),
    "backup": (
        "jobs.backup",
        "copy the database with SQLite's online backup API, verify it, keep N days",
    ),
    "restore": (
        "jobs.restore",
        "bring a verified backup back as the database (stop the desk's processes first)",
    ),
    "golive": (
        "jobs.golive",
        "print the paper record and what it lacks before live mode may start (or override it)",
    ),
    "doctor": (
        "jobs.doctor",
        "check settings, files, database, model, Telegram, GMO, clock and headroom; pass/warn/fail",
    ),
}

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NOT_READY = 0, 1, 2, 3
log = logging.getLogger("signaldesk")


def build_parser(chosen: str | None = None) -> argparse.ArgumentParser:
    """Build the parser; only the chosen subcommand's module is imported to add its arguments."""
    parser = argparse.ArgumentParser(
        prog="signaldesk",
        description="signaldesk: a human-approved ML trading desk for GMO Coin. "
        "Settings come from the environment / .env and an optional config.toml.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            importlib.import_module(module_name).add_arguments(command)
    return parser


def chosen_command(argv: Sequence[str]) -> str | None:
    """Return the subcommand named in argv, if any."""
    for arg in argv:
        if not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


def print_json(payload: dict) -> None:
    """Print one machine-readable JSON object as the last line of stdout."""
    sys.stdout.flush()
    print(json.dumps(payload, default=str, sort_keys=True))


def utc_time(text: str):
    """Parse a date or ISO time option as aware UTC (argparse type)."""
    from datetime import UTC, datetime

    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def refuse(command: str, as_json: bool, code: int, reason: str) -> int:
    """Say on stderr why a command did nothing (and as JSON with --json); return the exit code."""
    print(f"signaldesk {command}: {reason}", file=sys.stderr)
    if as_json:
        print_json({"ok": False, "error": reason})
    return code


def exit_at_once(code: int) -> NoReturn:
    """End a one-shot process without interpreter teardown: close the logs, flush the output, then
    exit.

    Tearing down the interpreter (freeing every module and object one by one) costs a cycle ~0.3 s
    of CPU and does nothing the operating system does not do anyway; the command has closed its
    database and clients by now.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, build settings once, set up logging and run the subcommand; return
    the exit code.

    Run as the `signaldesk` process (no `argv`), a command module with `EXIT_AT_ONCE = True` ends
    the process as soon as it returns (`exit_at_once`); called with `argv` (tests, the demo), main
    always returns.
    """
    if argv is not None:
        return run_command(list(argv))
    code = run_command(sys.argv[1:])
    module = COMMANDS.get(chosen_command(sys.argv[1:]) or "", ("",))[0]
    if getattr(sys.modules.get(module), "EXIT_AT_ONCE", False):
        exit_at_once(code)
    return code


def run_command(argv: list[str]) -> int:
    """Parse, build settings and logging, and run the chosen subcommand; return its exit code."""
    from signaldesk.settings import SettingsError, load_settings
    from signaldesk.storage import SchemaError

    name = chosen_command(argv)
    args = build_parser(name).parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"signaldesk {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from signaldesk.logs import setup_logging

    setup_logging(args.command, settings.log_dir, settings.secrets())
    module = importlib.import_module(COMMANDS[args.command][0])
    try:
        return module.run(args, settings)
    except SchemaError as exc:
        print(f"signaldesk {args.command}: {exc}", file=sys.stderr)
        return EXIT_NOT_READY


if __name__ == "__main__":
    raise SystemExit(main())
