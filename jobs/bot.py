"""`signaldesk bot`: refuse without the Telegram settings, compose the desk and poll Telegram until
SIGTERM."""

from __future__ import annotations

from jobs.cli import EXIT_OK, EXIT_USAGE, print_json


def add_arguments(parser) -> None:
    """Add the options of `bot`."""
    parser.add_argument(
        "--check",
        action="store_true",
        help="check the Telegram settings and the desk's wiring, print them, and exit",
    )
    parser.add_argument(
        "--json", action="store_true", help="with --check, print a JSON summary as the last line"
    )


def run(args, settings) -> int:
    """Refuse to start without the Telegram settings; otherwise poll until SIGINT/SIGTERM and exit
    0."""
    from bot.main import (
        build_application,
        compose_desk,
        keep_http_logs_quiet,
        missing_settings,
        run_bot,
    )
    from signaldesk.exchange.factory import build_http
    from signaldesk.golive import live_refusal
    from signaldesk.storage import open_current_db

    missing = missing_settings(settings)
    if missing:
        print(
            "signaldesk bot: refusing to start; fill these settings in .env:\n  "
            + "\n  ".join(missing)
        )
        return EXIT_USAGE
    db, http = open_current_db(settings.db_path), build_http()
    try:
        refusal = live_refusal(db, settings)
        if refusal:
            print(f"signaldesk bot: {refusal}")
            return EXIT_USAGE
        desk = compose_desk(settings, db, http)
        if args.check:
            print(
                f"signaldesk bot: settings ok; {settings.mode} mode, exchange {type(desk.exchange).__name__}"
            )
            if args.json:
                print_json(
                    {
                        "chat_id": settings.telegram_chat_id,
                        "user_ids": list(settings.telegram_user_ids),
                        "exchange": type(desk.exchange).__name__,
                        "mode": settings.mode,
                    }
                )
            return EXIT_OK
        keep_http_logs_quiet()
        run_bot(build_application(settings, desk))
    finally:
        http.close()  # the GMO client (live, or the paper exchange's public feed)
        db.close()
    return EXIT_OK
