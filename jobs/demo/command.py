"""`signaldesk demo`: the whole desk offline on the bundled real candles, with a local Telegram
printed to the terminal.

A fresh database gets the bundled candles; then, one 15-minute step at a time over the last days of
the data, the cycle scores the market with the default model, the real bot (python-telegram-bot,
over HTTP to a local Bot API) announces signals, a seeded "person" taps Approve or Reject, approved
signals become post-only orders on the paper exchange, trades are managed to their exits, and a
report goes out every morning at 09:00 JST. At the end the backtest report of the same run is
written beside the database.
"""

from __future__ import annotations

import dataclasses
import html
import re
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from jobs.cli import EXIT_OK, EXIT_USAGE, print_json
from signaldesk import signals
from signaldesk.candles import (
    candle_summary,
    find_gaps,
    load_candles,
    read_candle_csv,
    save_candles,
)
from signaldesk.clock import JST
from signaldesk.fx import CONVERTED_LABEL, read_monthly_rates, to_yen
from signaldesk.money import yen
from signaldesk.storage import apply_migrations, open_db

BUNDLED = {
    "BTC_JPY": ("btcusdt_binance_15m_2025-04_2025-06.csv.gz", "BTC/USDT"),
    "ETH_JPY": ("ethusdt_binance_15m_2025-04_2025-06.csv.gz", "ETH/USDT"),
}
RATES_FILE = "usdjpy_monthly_fed.csv"
CLOSING_COMMANDS = ("/profit", "/balance", "/daily 7", "/performance", "/stats")
DEMO_TOKEN = "1000000001:DEMO-LOCAL-PLACEHOLDER-NOT-A-TOKEN"
DEMO_PERSON = 1001  # the one allowed user id, in its private chat
DEMO_BOT = {
    "id": 1000000001,
    "is_bot": True,
    "first_name": "signaldesk demo",
    "username": "signaldesk_demo_bot",
}


def add_arguments(parser) -> None:
    """Add the options of `demo`."""
    parser.add_argument(
        "--db",
        type=Path,
        help="demo database file (default: var/demo/signaldesk-demo.sqlite3, "
        "recreated on every run)",
    )
    parser.add_argument(
        "--days", type=int, default=14, help="replay the last DAYS days of the bundled data (1-60)"
    )
    parser.add_argument(
        "--approve",
        type=float,
        default=0.8,
        help="share of signals the simulated person approves (seeded; the rest rejected)",
    )
    parser.add_argument("--seed", type=int, default=7, help="seed of the simulated person's taps")
    parser.add_argument("--quiet", action="store_true", help="do not print the Telegram messages")
    parser.add_argument(
        "--language",
        choices=("ja", "en"),
        help="the trader's language (default: [telegram] language, Japanese)",
    )
    parser.add_argument(
        "--transcript",
        type=Path,
        help="write every Bot API call (replay time, method, parameters) to this JSON-lines file",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON summary as the last line")


def demo_db_path(settings, requested: Path | None) -> Path:
    """Return the demo database path, kept apart from the real one."""
    return requested or settings.db_path.parent / "demo" / "signaldesk-demo.sqlite3"


def fresh_database(path: Path):
    """Delete any previous demo database and return a freshly migrated one."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    db = open_db(path)
    applied = apply_migrations(db)
    print(
        f"signaldesk demo: fresh database {path} ({len(applied)} migrations applied), paper mode, offline"
    )
    return db


def source_label(symbol: str) -> str:
    """Return how the demo's candles of a symbol are labelled everywhere: converted, not GMO
    prices."""
    return f"{CONVERTED_LABEL.format(pair=BUNDLED[symbol][1])} for {symbol}"


def import_bundled(db, settings) -> list[dict]:
    """Import the bundled candles at a yen scale (USDT x the Fed's USD/JPY), print what the
    database holds, and return the summary rows."""
    rates = read_monthly_rates(settings.data_dir / RATES_FILE)
    for symbol, (file_name, _pair) in BUNDLED.items():
        candles = to_yen(read_candle_csv(settings.data_dir / file_name), rates)
        save_candles(db, symbol, "15m", candles, source_label(symbol))
    summary = candle_summary(db)
    for row in summary:
        stored = load_candles(db, row["symbol"], row["interval"])
        gaps = find_gaps([c.open_time for c in stored], row["interval"])
        row["gaps"], row["last_close"] = len(gaps), str(stored[-1].close)
        print(
            f"  {row['symbol']:8} {row['interval']:4} {row['rows']:6} candles  {row['first'][:16]} .. "
            f"{row['last'][:16]} UTC  last close {row['last_close']}  gaps {row['gaps']}  [{row['sources']}]"
        )
    return summary


def demo_settings(settings, db_path: Path, api_url: str, language: str | None = None):
    """Return embedded demo settings: paper, the demo database, the model's own operating point, the
    local Telegram, one person."""
    from signaldesk.settings import Secret

    strategy = dataclasses.replace(
        settings.strategy, symbols=tuple(BUNDLED), threshold_source="model"
    )
    if language:
        settings = dataclasses.replace(
            settings, telegram=dataclasses.replace(settings.telegram, language=language)
        )
    urls = dataclasses.replace(settings.urls, telegram_api=api_url)
    return dataclasses.replace(
        settings,
        mode="paper",
        db_path=db_path,
        strategy=strategy,
        urls=urls,
        telegram_bot_token=Secret(DEMO_TOKEN),
        telegram_chat_id=DEMO_PERSON,
        telegram_user_ids=frozenset({DEMO_PERSON}),
        price_note=", ".join(p for _f, p in BUNDLED.values()),  # the bot names the conversion
    )


class Terminal:
    """Prints what the local Bot API receives, as the person would see it in Telegram, stamped with
    replay time (and writes every call to a transcript, when asked)."""

    def __init__(self, clock, quiet: bool, transcript=None):
        self.clock, self.quiet, self.transcript = clock, quiet, transcript
        self.counts: dict[str, int] = {}
        self.lock = threading.Lock()  # the local Bot API answers on several threads

    def __call__(self, method: str, params: dict) -> None:
        """Print one Bot API call (messages, edits, photos, tap answers)."""
        self.counts[method] = self.counts.get(method, 0) + 1
        if self.transcript is not None:
            self.record(method, params)
        if self.quiet or method not in SHOWN:
            return
        stamp = f"{self.clock.now.astimezone(JST):%m-%d %H:%M} JST"
        sound = " (silent)" if str(params.get("disable_notification")).lower() == "true" else ""
        reply = " (reply in the thread)" if params.get("reply_parameters") else ""
        print(f"\n[{stamp}] telegram {SHOWN[method]}{sound}{reply}:\n" + indent(plain(params)))

    def record(self, method: str, params: dict) -> None:
        """Write one call to the transcript (photos as their size)."""
        import json

        shown = {k: f"<{len(v)} bytes>" if isinstance(v, bytes) else v for k, v in params.items()}
        at = self.clock.now.isoformat() if self.clock.now else None
        row = {"at": at, "method": method, "params": shown}
        line = json.dumps(row, default=str, ensure_ascii=False) + "\n"
        with self.lock:
            self.transcript.write(line)

    def typed(self, text: str) -> None:
        """Print a command the simulated person sends."""
        if not self.quiet:
            print(f"   >> the person sends {text}")

    def tap(self, signal_id: int, approved: bool) -> None:
        """Print the simulated person's tap."""
        if not self.quiet:
            print(
                f"   >> the person taps {'Approve' if approved else 'Reject'} on signal #{signal_id}"
            )


SHOWN = {
    "sendmessage": "message",
    "editmessagetext": "edited message",
    "sendphoto": "photo",
    "answercallbackquery": "tap answered",
}


def plain(params: dict) -> str:
    """Return the visible text of a Bot API call (HTML tags removed; buttons and photos
    described)."""
    text = params.get("text") or params.get("caption") or ""
    text = html.unescape(re.sub(r"<[^>]+>", "", str(text)))
    if isinstance(params.get("photo"), bytes):
        text = f"(chart, {len(params['photo']) // 1024} KB PNG) {text}"
    buttons = [
        b.get("text")
        for row in (params.get("reply_markup") or {}).get("inline_keyboard", [])
        for b in row
    ]
    return text + (f"\n[{'] ['.join(buttons)}]" if buttons else "")


def indent(text: str) -> str:
    """Indent a message for the terminal."""
    return "\n".join("   " + line for line in text.splitlines())


def replay_days(db, settings, args, terminal_clock, terminal, api=None):
    """Run the desk over the last days of the data through the real bot; return the records for the
    report."""
    from jobs.demo.lockstep import LockstepBot
    from signaldesk.backtest.engine import ApprovalPolicy, run_steps, step_times
    from signaldesk.backtest.run import BacktestPlan, collect
    from signaldesk.exchange.factory import build_exchange
    from signaldesk.exchange.feed import REPLAY_SPREAD_BPS, CandleFeed
    from signaldesk.model.inference import load_model
    from signaldesk.news import read_calendar

    candles = {s: load_candles(db, s, "15m") for s in settings.strategy.symbols}
    until = min(rows[-1].open_time for rows in candles.values()) + timedelta(minutes=15)
    since = until - timedelta(days=args.days)
    feed = CandleFeed(
        candles, spread_bps=REPLAY_SPREAD_BPS, start=since
    )  # the deposit: at the start
    exchange = build_exchange(settings, db, feed=feed)
    model = load_model(settings.model_dir, until, float("inf"))
    policy = ApprovalPolicy(args.approve, args.seed)
    terminal_clock.now = since
    bot = LockstepBot(
        settings, db, exchange, terminal_clock, policy.chooser(), terminal.tap, api=api
    )
    try:
        opens = step_times(since, until)
        steps = run_steps(
            db,
            exchange,
            feed,
            lambda _t: model,
            settings,
            read_calendar(settings.strategy.news_calendar),
            bot,
            opens,
        )
        for text in CLOSING_COMMANDS:  # the person looks at the money before the demo ends
            terminal.typed(text)
            bot.ask(text, terminal_clock.now)
    finally:
        bot.close()
    plan = BacktestPlan(
        since, until, policy, Path(settings.db_path).parent / "report", REPLAY_SPREAD_BPS
    )
    return collect(
        db, plan, settings, candles, steps, demo_meta(model, policy, settings, steps, len(opens))
    ), plan


def demo_meta(model, policy, settings, steps, cycles: int) -> dict:
    """Return the facts of the demo run for its report."""
    return {
        "model": model.version,
        "policy": policy.describe(),
        "approve_fraction": policy.fraction,
        "seed": policy.seed,
        "thresholds": {
            "source": "the model's operating point",
            "long": model.operating_point.long_cutoff,
            "short": model.operating_point.short_cutoff,
            "top_fraction": settings.strategy.top_fraction,
        },
        "data_source": {s: source_label(s) for s in BUNDLED},
        "cycles": cycles,
        "timings_seconds": {k: round(v, 2) for k, v in steps.seconds.items()},
        "database": str(settings.db_path),
        "caveats": [
            f"Model {model.version}: {(model.metadata.get('edge') or {}).get('verdict', 'edge not measured')}"
            f" (see {model.folder}/report.md)."
        ],
    }


def run(args, settings) -> int:
    """Build the demo database, replay the last days through the real desk, print a summary and the
    paths."""
    from jobs.demo.lockstep import ReplayClock
    from jobs.demo.telegram_api import LocalBotApi
    from signaldesk.backtest.report import write_outputs

    if not 1 <= args.days <= 60:
        print(f"demo: --days {args.days}: allowed 1 to 60 (the bundled data holds about 90 days)")
        return EXIT_USAGE
    if not 0 < args.approve <= 1:
        print(f"demo: --approve {args.approve}: allowed a fraction in (0, 1], e.g. 0.8")
        return EXIT_USAGE
    started = time.perf_counter()
    path = demo_db_path(settings, args.db)
    db = fresh_database(path)
    clock = ReplayClock(datetime.fromtimestamp(0, UTC))  # the replay sets it before any reading
    transcript = args.transcript.open("w", encoding="utf-8") if args.transcript else None
    terminal = Terminal(clock, args.quiet, transcript)
    api = LocalBotApi(DEMO_TOKEN, DEMO_BOT, on_call=terminal)
    try:
        candles = import_bundled(db, settings)
        settings = demo_settings(settings, path, api.url, args.language)
        print(
            f"replaying the last {args.days} day(s) with the default model at its own operating point "
            f"(the cutoffs stored with it, no hand-lowered thresholds), the person "
            f"approves {args.approve:.0%} (seed {args.seed}); Telegram is a local server, printed below"
        )
        result, plan = replay_days(db, settings, args, clock, terminal, api)
        paths = write_outputs(result, plan.out_dir)
        summary = demo_summary(
            db, result, paths, path, terminal.counts, time.perf_counter() - started
        )
    finally:
        api.close()
        db.close()
        if transcript is not None:
            transcript.close()
    summary["refused_by_telegram"] = len(api.refused)
    print_summary(summary)
    if args.json:
        print_json({**summary, "candles": candles})
    return EXIT_OK


def demo_summary(db, result, paths: dict, path: Path, calls: dict, seconds: float) -> dict:
    """Return what the run did: signals by verdict, taps, trades, P/L, messages and where things
    are."""
    from signaldesk.ledger import money_between

    taps = signals.status_counts(db, approved_by=str(DEMO_PERSON))
    closed = [t for t in result.trades if t.status == "closed"]
    money = money_between(
        db, "paper", result.since - timedelta(days=1), result.until + timedelta(days=1)
    )
    kinds = sorted({f"{t.symbol} {t.direction}" for t in result.trades if t.status != "cancelled"})
    return {
        "seconds": round(seconds, 1),
        "cycles": len(result.equity),
        "verdicts": result.verdicts,
        "decided_by_person": taps,
        "trades": len(result.trades),
        "closed": len(closed),
        "open": sum(t.status == "open" for t in result.trades),
        "missed_entries": result.missed_entries,
        "realised_pnl_jpy": str(round(money.net_jpy, 0)),
        "fees_jpy": str(round(money.fees_jpy, 0)),
        "leverage_fees_jpy": str(money.leverage_fees_jpy),
        "traded": kinds,
        "equity_start": str(result.starting_equity),
        "equity_end": str(round(result.equity[-1][1], 0)),
        "telegram_messages": calls.get("sendmessage", 0),
        "telegram_photos": calls.get("sendphoto", 0),
        "daily_reports": db.execute("SELECT COUNT(*) FROM daily_summary").fetchone()[0],
        "db": str(path),
        "report": str(paths["report_md"]),
    }


def print_summary(s: dict) -> None:
    """Print the closing summary."""
    print("\n" + "=" * 78)
    print(
        f"demo finished in {s['seconds']} s: {s['cycles']} cycles; signals by verdict {s['verdicts']}"
    )
    print(
        f"the person decided {sum(s['decided_by_person'].values())} in Telegram; {s['trades']} trade(s): "
        f"{s['closed']} closed, {s['open']} open, {s['missed_entries']} entries never filled"
    )
    print(
        f"realised P/L {yen(Decimal(s['realised_pnl_jpy']), signed=True)} after fees "
        f"{yen(Decimal(s['fees_jpy']))} (leverage {yen(Decimal(s['leverage_fees_jpy']))}); paper "
        "equity "
        f"{yen(Decimal(s['equity_start']))} -> {yen(Decimal(s['equity_end']))}"
    )
    print(
        f"traded: {', '.join(s['traded']) or 'nothing'}; {s['telegram_messages']} messages and "
        f"{s['telegram_photos']} charts sent; {s['daily_reports']} daily report(s)"
    )
    print(f"prices: {CONVERTED_LABEL.format(pair='BTC/USDT, ETH/USDT')}")
    print(f"database left at {s['db']}\nreport written to {s['report']}")
