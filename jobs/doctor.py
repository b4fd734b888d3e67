"""`signaldesk doctor`: run the pre-flight checks, print a table (and --json), exit 1 when any check
fails."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from jobs.cli import EXIT_FAILED, EXIT_OK, print_json
from signaldesk import doctor
from signaldesk.clock import utc_now

NETWORK_TIMEOUT_SECONDS = 5.0
GMO_READ_ATTEMPTS = (
    2  # one retry of a temporary failure, then report it: a pre-flight check should not linger
)


def add_arguments(parser) -> None:
    """Add the options of `doctor`."""
    parser.add_argument(
        "--offline",
        action="store_true",
        help="skip the checks that talk to Telegram and GMO (reported as SKIP)",
    )
    parser.add_argument(
        "--json", action="store_true", help='print {"checks": [...], "ok": bool} as the last line'
    )


def run(args, settings) -> int:
    """Run every check, print the table, and exit 1 when any check failed (warnings allowed)."""
    checks = diagnose(settings, env_file=Path.cwd() / ".env", offline=args.offline)
    print(doctor.render_table(checks))
    if args.json:
        print_json(doctor.summary(checks))
    return EXIT_FAILED if doctor.failed(checks) else EXIT_OK


def diagnose(
    settings, *, env_file: Path, offline: bool = False, clock: Callable[[], datetime] = utc_now
) -> list[doctor.Check]:
    """Return the verdict of every check; `env_file` is the .env load_settings read (the working
    directory's)."""
    named = doctor.local_checks(settings, env_file, clock()) + telegram_checks(settings, offline)
    if offline:
        return doctor.run_checks(
            named + doctor.skipped(doctor.GMO_CHECKS, "--offline"), settings.secrets()
        )
    from signaldesk.exchange.factory import build_gmo, build_http

    with build_http(NETWORK_TIMEOUT_SECONDS) as http:
        gmo = build_gmo(settings, http, clock=clock, read_attempts=GMO_READ_ATTEMPTS)
        return doctor.run_checks(
            named + doctor.gmo_checks(settings, gmo, http, clock), settings.secrets()
        )


def telegram_checks(settings, offline: bool) -> list[tuple[str, doctor.CheckFn]]:
    """Return the Telegram checks: settings always; getMe and getChat unless offline or there is no
    token."""
    named = [
        (
            "telegram settings",
            lambda: doctor.telegram_settings_check(settings, missing_telegram(settings)),
        )
    ]
    if offline:
        return named + doctor.skipped(doctor.TELEGRAM_CHECKS, "--offline")
    if not settings.telegram_bot_token:
        return named + doctor.skipped(
            doctor.TELEGRAM_CHECKS, "no TELEGRAM_BOT_TOKEN (see telegram settings)"
        )
    return named + [
        (
            "telegram bot",
            lambda: doctor.telegram_verdicts(
                asyncio.run(probe_telegram(settings, NETWORK_TIMEOUT_SECONDS)),
                settings.telegram_chat_id,
            ),
        )
    ]


def probe_telegram(settings, timeout: float):
    """Return the coroutine that asks Telegram getMe and getChat (python-telegram-bot lives in
    bot/)."""
    from bot.check import probe_telegram as probe

    return probe(settings, timeout)


def missing_telegram(settings) -> list[str]:
    """Return the Telegram settings the bot refuses to start without (its own rule, imported only
    when checked)."""
    from bot.main import missing_settings

    return missing_settings(settings)
