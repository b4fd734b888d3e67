"""Pre-flight checks (`signaldesk doctor`): PASS/WARN/FAIL/SKIP per check with what to do; none
stops the others."""

from __future__ import annotations

import json
import shutil
import sqlite3
import stat
import textwrap
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from functools import partial
from itertools import zip_longest
from pathlib import Path

PASS, WARN, FAIL, SKIP = "PASS", "WARN", "FAIL", "SKIP"
MB = 1024 * 1024
# Free disk where the database lives: SQLite refuses writes on a full disk, and the WAL, the
# verified backups and 7 days of logs live beside it. Under 1 GB leaves about a week of backups;
# under 200 MB one backup may not fit.
DISK_WARN_BYTES, DISK_FAIL_BYTES = 1024 * MB, 200 * MB
# Available memory: bot + listener + cycle are budgeted at 400 MB together (ARCHITECTURE.md §8). The
# cycle starts afresh every 15 minutes and peaks at up to 250 MB alone, so below that the next cycle
# may be OOM-killed.
MEMORY_WARN_BYTES, MEMORY_FAIL_BYTES = 400 * MB, 250 * MB
# Clock skew against GMO: the allowed API-TIMESTAMP window is undocumented (specs/gmo-coin-api.md §3
# and §13: ERR-5008 ahead / ERR-5009 behind; the official sample signs whole seconds, so sub-second
# accuracy is not needed). 2 s is well beyond honest NTP error (and GMO's stamp may itself be ~0.5 s
# stale behind its CDN); 30 s is our guess at where signed requests start to be refused
# (tests/fakes/gmo_server.py refuses beyond 30 s too).
SKEW_WARN_SECONDS, SKEW_FAIL_SECONDS = 2.0, 30.0
GMO_CHECKS = ("gmo status", "gmo tickers", "clock skew", "gmo private")
TELEGRAM_CHECKS = ("telegram bot", "telegram chat")
WIDTHS = {"detail": 64, "fix": 46}

CheckFn = Callable[[], "Check | list[Check]"]


@dataclass(frozen=True)
class Check:
    """The verdict of one check: its name, PASS/WARN/FAIL/SKIP, what was found and what to do about
    it."""

    name: str
    status: str
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class TelegramProbe:
    """What getMe and getChat answered (plain text), filled in by the composition root that owns
    Telegram."""

    bot: str | None = None
    bot_error: str | None = None
    token_rejected: bool = False
    chat: str | None = None
    chat_error: str | None = None


# -- running and showing
# ---------------------------------------------------------------------------------------


def run_checks(named: Sequence[tuple[str, CheckFn]], secrets: Sequence[str] = ()) -> list[Check]:
    """Run every check; a check that raises becomes a FAIL naming the error; secrets are redacted
    from all text."""
    from signaldesk.logs import RedactSecrets

    redact = RedactSecrets(tuple(secrets)).redact
    results: list[Check] = []
    for name, check in named:
        try:
            outcome = check()
        except Exception as exc:  # the boundary: one broken check must not hide the others
            outcome = Check(
                name,
                FAIL,
                f"the check itself failed: {type(exc).__name__}: {exc}",
                "fix what the error names, then run `signaldesk doctor` again",
            )
        for verdict in outcome if isinstance(outcome, list) else [outcome]:
            results.append(
                Check(verdict.name, verdict.status, redact(verdict.detail), redact(verdict.fix))
            )
    return results


def skipped(names: Sequence[str], why: str) -> list[tuple[str, CheckFn]]:
    """Return checks that only report SKIP with the reason."""
    return [(name, partial(Check, name, SKIP, why)) for name in names]


def failed(checks: Sequence[Check]) -> bool:
    """Return True when any check failed."""
    return any(c.status == FAIL for c in checks)


def summary(checks: Sequence[Check]) -> dict:
    """Return the machine-readable result: every check and whether the desk may run."""
    return {"checks": [asdict(c) for c in checks], "ok": not failed(checks)}


def render_table(checks: Sequence[Check]) -> str:
    """Return the checks as an aligned text table (long cells wrapped) with a one-line count
    below."""
    name_width = max([len("check"), *(len(c.name) for c in checks)])
    header = _row(("check", "status", "detail", "what to do"), name_width)
    lines = [header[0], "-" * len(header[0])]
    for check in checks:
        lines.extend(_row((check.name, check.status, check.detail, check.fix), name_width))
    counts = {s: sum(1 for c in checks if c.status == s) for s in (PASS, WARN, FAIL, SKIP)}
    verdict = "ready" + (" (read the warnings)" if counts[WARN] else "")
    verdict = "NOT READY: fix the FAIL lines" if counts[FAIL] else verdict
    lines.append(
        f"{counts[PASS]} passed, {counts[WARN]} warnings, {counts[FAIL]} failed, {counts[SKIP]} skipped: "
        f"{verdict}"
    )
    return "\n".join(lines)


def _row(cells: tuple[str, str, str, str], name_width: int) -> list[str]:
    """Return the text lines of one table row, detail and fix wrapped to their column widths."""
    name, status, detail, fix = cells
    detail_lines = textwrap.wrap(detail, WIDTHS["detail"], break_on_hyphens=False) or [""]
    fix_lines = textwrap.wrap(fix, WIDTHS["fix"], break_on_hyphens=False) or [""]
    lines = []
    for i, (detail_line, fix_line) in enumerate(zip_longest(detail_lines, fix_lines, fillvalue="")):
        left = (name, status) if i == 0 else ("", "")
        lines.append(
            f"{left[0]:<{name_width}}  {left[1]:<6}  {detail_line:<{WIDTHS['detail']}}  {fix_line}".rstrip()
        )
    return lines


# -- the checks that need no network
# ---------------------------------------------------------------------------


def local_checks(settings, env_file: Path, now: datetime) -> list[tuple[str, CheckFn]]:
    """Return the checks that need no network: settings, files, database, headroom, model, calendar,
    processes."""
    return [
        ("settings", lambda: settings_check(settings, env_file)),
        (".env file", lambda: env_file_check(env_file, settings.mode)),
        ("database", lambda: database_check(settings.db_path)),
        ("disk", lambda: disk_check(settings.db_path)),
        ("memory", lambda: memory_check(Path("/proc/meminfo"), settings.health)),
        (
            "model",
            lambda: model_check(
                active_model_dir(settings), now, settings.health.model_max_age_days
            ),
        ),
        ("news calendar", lambda: calendar_check(settings.strategy.news_calendar, now, settings)),
        ("liquidation feed", lambda: liquidation_feed_check(settings, now)),
        ("post-only", lambda: post_only_check(settings.strategy.symbols)),
        ("processes", lambda: processes_check(settings.db_path, now, settings.health)),
    ]


def settings_check(settings, env_file: Path) -> Check:
    """Report what the (already validated) settings say: mode, files and symbols."""
    config = settings.config_path or "none (built-in defaults)"
    env = env_file if env_file.is_file() else "none (process environment only)"
    return Check(
        "settings",
        PASS,
        f"mode {settings.mode}; config {config}; .env {env}; db {settings.db_path}; "
        f"model {settings.model_dir}; symbols {', '.join(settings.strategy.symbols)}",
    )


def env_file_check(env_file: Path, mode: str) -> Check:
    """Check that the .env holding the secrets exists and is readable by its owner only (0600 or
    0400)."""
    if not env_file.is_file():
        status = FAIL if mode == "live" else WARN
        return Check(
            ".env file",
            status,
            f"no {env_file}: live mode needs the GMO keys and the Telegram token "
            f"from a .env readable by the desk's user only",
            f"cp .env.example {env_file} && chmod 600 {env_file}, then fill in the secrets",
        )
    bits = stat.S_IMODE(env_file.stat().st_mode)
    if bits & 0o077:
        return Check(
            ".env file",
            FAIL,
            f"{env_file} has mode {bits:04o}: other users on this machine can read "
            f"the GMO keys and the bot token",
            f"chmod 600 {env_file}",
        )
    return Check(".env file", PASS, f"{env_file} has mode {bits:04o} (owner only)")


@contextmanager
def read_only(db_path: Path) -> Iterator:
    """Open the database read-only (never created, never switched to WAL by the doctor itself)."""
    from signaldesk.storage import Database

    conn = sqlite3.connect(Path(db_path).resolve().as_uri() + "?mode=ro", uri=True, timeout=5)
    try:
        yield Database(conn)
    finally:
        conn.close()


def database_check(db_path: Path) -> Check:
    """Check that the database exists, is in WAL mode, passes quick_check and has no pending or
    unknown migrations."""
    from signaldesk.storage import pending_migrations

    if not db_path.is_file():
        return Check(
            "database",
            FAIL,
            f"no database at {db_path}",
            "signaldesk migrate (creates and migrates it)",
        )
    with read_only(db_path) as db:
        journal = db.execute("PRAGMA journal_mode").fetchone()[0]
        integrity = db.execute("PRAGMA quick_check").fetchone()[0]
        pending = pending_migrations(db)
        newer = "" if pending else _newer_schema(db, db_path)
    size = f"{db_path.stat().st_size / MB:.1f} MB"
    if integrity != "ok":
        return Check(
            "database",
            FAIL,
            f"{db_path}: quick_check says {integrity!r}",
            "stop the desk and `signaldesk restore <latest verified backup>`",
        )
    if pending:
        return Check(
            "database",
            FAIL,
            f"{db_path}: {len(pending)} pending migration(s): {', '.join(pending)}; "
            f"every process refuses to start",
            "signaldesk migrate",
        )
    if newer:
        return Check(
            "database", FAIL, newer, "install the signaldesk version that migrated this database"
        )
    if journal != "wal":
        return Check(
            "database",
            WARN,
            f"{db_path}: journal mode {journal}, not wal: the three processes would "
            f"block each other",
            "signaldesk migrate (opens it in WAL mode)",
        )
    return Check(
        "database", PASS, f"{db_path} ({size}): WAL, quick_check ok, no pending migrations"
    )


def _newer_schema(db, db_path: Path) -> str:
    """Return why a database without pending migrations is still not current (migrated by newer
    code), or ""."""
    from signaldesk.storage import SchemaError, require_current_schema

    try:
        require_current_schema(db, db_path)
    except SchemaError as exc:
        return str(exc)
    return ""


def disk_check(db_path: Path) -> Check:
    """Check free disk space on the filesystem that holds the database."""
    where = next(
        p for p in (Path(db_path).resolve().parent, *Path(db_path).resolve().parents) if p.exists()
    )
    return disk_verdict(shutil.disk_usage(where).free, where)


def disk_verdict(free_bytes: int, where: Path) -> Check:
    """Return FAIL under 200 MB free, WARN under 1 GB, else PASS."""
    detail = (
        f"{free_bytes / MB:,.0f} MB free on the filesystem of {where} (warn < {DISK_WARN_BYTES // MB:,} MB, "
        f"fail < {DISK_FAIL_BYTES // MB} MB)"
    )
    fix = f"free space on that disk (old logs, old backups) or move SIGNALDESK_DB; `du -sh {where}/*` shows what is big"
    if free_bytes < DISK_FAIL_BYTES:
        return Check("disk", FAIL, detail, fix)
    if free_bytes < DISK_WARN_BYTES:
        return Check("disk", WARN, detail, fix)
    return Check("disk", PASS, detail)


def memory_check(meminfo: Path, health) -> Check:
    """Check available memory (/proc/meminfo) against the desk's budget and the cycle's halt
    threshold."""
    fields = dict(line.split(":", 1) for line in meminfo.read_text().splitlines() if ":" in line)
    total_kb, available_kb = (int(fields[key].split()[0]) for key in ("MemTotal", "MemAvailable"))
    return memory_verdict(
        total_kb * 1024, available_kb * 1024, health.memory_warning, health.memory_critical
    )


def memory_verdict(total: int, available: int, warning: float, critical: float) -> Check:
    """Return FAIL under 250 MB available or at the halt level, WARN under 400 MB or at the warning
    level."""
    used = 1 - available / total
    detail = (
        f"{available / MB:,.0f} MB available of {total / MB:,.0f} MB ({used:.0%} used); the desk needs "
        f"{MEMORY_WARN_BYTES // MB} MB for bot + listener + cycle, {MEMORY_FAIL_BYTES // MB} MB for one cycle; "
        f"the cycle warns at {warning:.0%} used and halts trading at {critical:.0%}"
    )
    fix = "stop other programs on this machine or move to a machine with more memory (1 GB is comfortable)"
    if available < MEMORY_FAIL_BYTES or used >= critical:
        return Check("memory", FAIL, detail, fix)
    if available < MEMORY_WARN_BYTES or used >= warning:
        return Check("memory", WARN, detail, fix)
    return Check("memory", PASS, detail)


def active_model_dir(settings) -> Path:
    """Return the active model version's folder: the database's record when it can be read, else the
    setting."""
    import sqlite3

    from signaldesk.model.registry import active_folder
    from signaldesk.storage import open_db

    if not settings.db_path.is_file():
        return settings.model_dir
    db = open_db(settings.db_path)
    try:
        return active_folder(db, settings)
    except sqlite3.Error:  # not migrated yet: the database check says so
        return settings.model_dir
    finally:
        db.close()


def model_check(model_dir: Path, now: datetime, max_age_days: float) -> Check:
    """Check that the model loads, matches the code's features, and is not older than allowed."""
    from signaldesk.features import FEATURE_NAMES
    from signaldesk.model.artifacts import ModelMismatch, ModelMissing
    from signaldesk.model.inference import load_model

    try:
        model = load_model(model_dir, now, max_age_days)
    except ModelMissing as exc:
        return Check(
            "model",
            FAIL,
            str(exc),
            "signaldesk train --symbols BTC_JPY,ETH_JPY --out models/<version>, "
            "or set SIGNALDESK_MODEL to an existing version",
        )
    except ModelMismatch as exc:
        return Check(
            "model",
            FAIL,
            str(exc),
            "retrain (signaldesk train) or point SIGNALDESK_MODEL at a matching one",
        )
    trained = now - timedelta(days=model.age_days)
    verdict = (model.metadata.get("edge") or {}).get("verdict", "edge after costs not measured")
    detail = (
        f"version {model.version} ({model_dir}) loads; its {len(FEATURE_NAMES)} features match "
        f"signaldesk/features.py; learned from candles up to {trained:%Y-%m-%d %H:%M} UTC, "
        f"{model.age_days:.0f} days ago (limit {max_age_days:g}); {verdict}"
    )
    if model.age_days > max_age_days:
        return Check(
            "model",
            WARN,
            detail,
            "retrain on recent candles: signaldesk retrain (promotes the new version only when "
            "it scores better)",
        )
    return Check("model", PASS, detail)


def calendar_check(path: Path, now: datetime, settings=None) -> Check:
    """Check that the news calendar exists, parses and lists at least one event still ahead; where a
    missing or expired calendar filters every signal (live mode by default), that is a FAIL."""
    from signaldesk.cycle import news_filters

    check = calendar_state(path, now)
    if check.status == WARN and settings is not None and news_filters(settings):
        detail = (
            check.detail + f"; in {settings.mode} mode every signal is filtered until it is fixed"
        )
        return Check(check.name, FAIL, detail, check.fix)
    return check


def calendar_state(path: Path, now: datetime) -> Check:
    """Return PASS for a calendar with an event ahead, WARN when missing or expired, FAIL when
    unreadable."""
    from signaldesk.news import CalendarError, future_events, read_calendar

    fix = (
        f"add upcoming FOMC/CPI/BoJ times to {path} as `time_utc,title` lines, e.g. "
        f"2026-12-16T19:00:00+00:00,FOMC decision"
    )
    if not path.is_file():
        return Check(
            "news calendar", WARN, f"no calendar at {path}: the news blackout never applies", fix
        )
    try:
        events = read_calendar(path)
    except CalendarError as exc:
        return Check(
            "news calendar",
            FAIL,
            f"{exc}; every cycle fails on it (critical alert)",
            "fix that line",
        )
    ahead = future_events(events, now)
    if not ahead:
        last = (
            f"; the last was {events[-1].title} at {events[-1].at:%Y-%m-%d %H:%M} UTC"
            if events
            else ""
        )
        return Check(
            "news calendar", WARN, f"{path}: {len(events)} event(s), none ahead{last}", fix
        )
    return Check(
        "news calendar",
        PASS,
        f"{path}: {len(ahead)} event(s) ahead, next {ahead[0].title} at "
        f"{ahead[0].at:%Y-%m-%d %H:%M} UTC",
    )


def liquidation_feed_check(settings, now: datetime) -> Check:
    """Check that the liquidation listener is feeding the desk (its heartbeat is fresh); without it
    every signal is filtered, so in live mode a missing feed is a FAIL."""
    from signaldesk.cycle import LISTENER_SILENCE
    from signaldesk.state import last_beat
    from signaldesk.storage import pending_migrations

    name, path = "liquidation feed", settings.db_path
    if not settings.strategy.liquidation_feed_required:
        return Check(
            name, WARN, "[strategy] liquidation_feed_required = false: the spike rule may be blind"
        )
    if not path.is_file():
        return Check(name, SKIP, "no database (see database)")
    with read_only(path) as db:
        if pending_migrations(db):
            return Check(name, SKIP, "database not migrated (see database)")
        beat = last_beat(db, "listener")
    if beat is not None and now - beat <= LISTENER_SILENCE:
        return Check(name, PASS, f"listener heartbeat {_ago(now - beat)} ago")
    seen = "never" if beat is None else f"{_ago(now - beat)} ago"
    status = FAIL if settings.mode == "live" else WARN
    return Check(
        name,
        status,
        f"listener heartbeat {seen}: every signal is filtered (liquidation feed unavailable)",
        "systemctl start signaldesk-listener (journalctl -u signaldesk-listener for errors)",
    )


def post_only_check(symbols: Sequence[str]) -> Check:
    """Check that every configured symbol accepts post-only (SOK) orders, per the code's table from
    the spec."""
    from signaldesk.exchange.model import accepts_post_only

    without = [s for s in symbols if not accepts_post_only(s)]
    if not without:
        return Check(
            "post-only",
            PASS,
            f"{', '.join(symbols)}: GMO accepts post-only (SOK) limits (gmo-coin-api.md §7.3)",
        )
    return Check(
        "post-only",
        WARN,
        f"{', '.join(without)}: GMO takes no post-only (SOK) order there (gmo-coin-api.md §7.3: all spot "
        f"symbols; leverage only BTC_JPY, DOT_JPY, ATOM_JPY, ADA_JPY, LINK_JPY, DOGE_JPY, SOL_JPY, as of "
        f"2024-06-01). Entries there go out as a passive FAS limit at the best bid/ask, which fills at once "
        f"as taker if the market moved through it, instead of expiring like a post-only order",
        "accept occasional taker entries, or trade a symbol with SOK instead ([strategy] symbols in "
        "config.toml, e.g. BTC_JPY, or spot ETH long-only)",
    )


def processes_check(db_path: Path, now: datetime, health) -> Check:
    """Check the bot's and listener's heartbeats and the last successful cycle (only on a ready
    database)."""
    from signaldesk.runs import last_success
    from signaldesk.state import last_beat
    from signaldesk.storage import pending_migrations

    if not db_path.is_file():
        return Check("processes", SKIP, "no database (see database)")
    with read_only(db_path) as db:
        if pending_migrations(db):
            return Check("processes", SKIP, "database not migrated (see database)")
        seen = {
            "bot": last_beat(db, "bot"),
            "listener": last_beat(db, "listener"),
            "cycle": last_success(db, "cycle"),
        }
    limits = {
        "bot": health.bot_heartbeat_stale_minutes,
        "listener": health.listener_dead_minutes,
        "cycle": health.cycle_dead_minutes,
    }
    return liveness_verdict(seen, limits, now)


def liveness_verdict(
    seen: dict[str, datetime | None], limits: dict[str, int], now: datetime
) -> Check:
    """Return WARN naming every process whose last sign of life is missing or older than its
    limit."""
    parts, stale = [], []
    for process, moment in seen.items():
        label = "last ok cycle" if process == "cycle" else f"{process} heartbeat"
        if moment is None:
            parts.append(f"{label} never")
            stale.append(process)
            continue
        age = now - moment
        parts.append(f"{label} {_ago(age)} ago (limit {limits[process]} min)")
        if age > timedelta(minutes=limits[process]):
            stale.append(process)
    if stale:
        return Check(
            "processes",
            WARN,
            "; ".join(parts) + f": {', '.join(stale)} not running (normal before the first start)",
            "systemctl start signaldesk-bot signaldesk-listener; install the cycle schedule "
            "(crontab.example or signaldesk-cycle.timer); then journalctl -u <unit> for errors",
        )
    return Check("processes", PASS, "; ".join(parts))


def _ago(age: timedelta) -> str:
    """Render a duration for a person: seconds, minutes, hours or days."""
    seconds = age.total_seconds()
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.0f} h" if seconds < 172800 else f"{seconds / 86400:.0f} days"


# -- Telegram verdicts (the probe itself lives with the Telegram owner)
# -----------------------------------------


def telegram_settings_check(settings, missing: Sequence[str]) -> Check:
    """Check that token, chat id and allowed user ids are all set (the bot denies everything
    otherwise)."""
    if missing:
        return Check(
            "telegram settings",
            FAIL,
            f"missing {'; '.join(missing)}: the bot refuses to start (deny by default)",
            "fill them in .env",
        )
    return Check(
        "telegram settings",
        PASS,
        f"token set; chat {settings.telegram_chat_id}; "
        f"{len(settings.telegram_user_ids)} allowed user id(s)",
    )


def telegram_verdicts(probe: TelegramProbe, chat_id: int | None) -> list[Check]:
    """Return the verdicts of getMe (the token works) and getChat (the bot can reach the configured
    chat)."""
    if probe.bot_error:
        fix = (
            "copy the token again from @BotFather into TELEGRAM_BOT_TOKEN (and check TELEGRAM_API_URL)"
            if probe.token_rejected
            else "check TELEGRAM_API_URL and that this machine reaches it over HTTPS"
        )
        bot = Check("telegram bot", FAIL, f"getMe: {probe.bot_error}", fix)
        return [bot, Check("telegram chat", SKIP, "needs a working token (see telegram bot)")]
    bot = Check("telegram bot", PASS, f"getMe: {probe.bot}")
    if chat_id is None:
        return [
            bot,
            Check("telegram chat", SKIP, "TELEGRAM_CHAT_ID is not set (see telegram settings)"),
        ]
    if probe.chat_error:
        return [
            bot,
            Check(
                "telegram chat",
                FAIL,
                f"getChat {chat_id}: {probe.chat_error}",
                "check TELEGRAM_CHAT_ID; in a private chat send /start to the bot first, in a group "
                "add the bot to it",
            ),
        ]
    return [bot, Check("telegram chat", PASS, f"getChat {chat_id}: {probe.chat}")]


# -- GMO (network)
# ---------------------------------------------------------------------------------------------


def gmo_checks(settings, gmo, http, clock: Callable[[], datetime]) -> list[tuple[str, CheckFn]]:
    """Return the GMO checks: exchange status, tickers, clock skew and the private API."""
    return [
        ("gmo status", lambda: gmo_status_check(gmo)),
        ("gmo tickers", lambda: gmo_tickers_check(gmo, settings.strategy.symbols)),
        ("clock skew", lambda: clock_skew_check(http, settings.urls.gmo_public, clock)),
        ("gmo private", lambda: gmo_private_check(gmo, settings)),
    ]


def gmo_status_check(gmo) -> Check:
    """Check GET /public/v1/status: OPEN passes, MAINTENANCE or PREOPEN warns."""
    from signaldesk.exchange.errors import ExchangeError, Maintenance

    wait = "nothing to do: cycles are skipped while GMO is not OPEN and resume on their own; run doctor again later"
    try:
        status = gmo.status()
    except Maintenance as exc:
        return Check("gmo status", WARN, f"GMO is in maintenance: {exc}", wait)
    except ExchangeError as exc:
        return Check(
            "gmo status", FAIL, str(exc), "check GMO_PUBLIC_URL and this machine's network"
        )
    if status == "OPEN":
        return Check("gmo status", PASS, "GMO Coin is OPEN")
    return Check("gmo status", WARN, f"GMO Coin is {status}: orders are refused until OPEN", wait)


def gmo_tickers_check(gmo, symbols: Sequence[str]) -> Check:
    """Check that GMO quotes every configured symbol."""
    from signaldesk.exchange.errors import ExchangeError

    quotes = []
    for symbol in symbols:
        try:
            ticker = gmo.ticker(symbol)
        except ExchangeError as exc:
            return Check(
                "gmo tickers",
                FAIL,
                f"{symbol}: {exc}",
                "check [strategy] symbols (GMO spells them BTC_JPY, BTC, ...) and GMO_PUBLIC_URL",
            )
        quotes.append(f"{symbol} bid {ticker.bid} / ask {ticker.ask}")
    return Check("gmo tickers", PASS, "; ".join(quotes))


def clock_skew_check(http, public_url: str, clock: Callable[[], datetime]) -> Check:
    """Compare the local clock with the `responsetime` of GET /public/v1/status (midpoint of the
    round trip)."""
    sent = clock()
    try:
        response = http.get(f"{public_url}/v1/status")
    except (
        Exception
    ) as exc:  # the transport's own errors (httpx is the exchange module's to import)
        return Check(
            "clock skew",
            FAIL,
            f"GET /public/v1/status: {type(exc).__name__}: {exc}",
            "check GMO_PUBLIC_URL and this machine's network",
        )
    received = clock()
    server = response_time(response.content)
    if server is None:
        return Check(
            "clock skew",
            WARN,
            f"GMO answered HTTP {response.status_code} without a responsetime; skew not measured",
            "run `signaldesk doctor` again later; keep NTP on",
        )
    round_trip = (received - sent).total_seconds()
    skew = (sent + (received - sent) / 2 - server).total_seconds()
    return skew_verdict(skew, round_trip)


def response_time(content: bytes) -> datetime | None:
    """Return GMO's `responsetime` from an answer (success or error envelope), or None when
    absent."""
    try:
        text = json.loads(content).get("responsetime")
        return (
            datetime.fromisoformat(text.replace("Z", "+00:00")) if isinstance(text, str) else None
        )
    except (ValueError, AttributeError):
        return None


def skew_verdict(skew_seconds: float, round_trip_seconds: float) -> Check:
    """Return FAIL beyond 30 s, WARN beyond 2 s; positive skew means the local clock is ahead of
    GMO."""
    side = "ahead of" if skew_seconds > 0 else "behind"
    detail = (
        f"local clock {abs(skew_seconds):.2f} s {side} GMO's responsetime (round trip {round_trip_seconds:.2f} "
        f"s); warn > {SKEW_WARN_SECONDS:g} s, fail > {SKEW_FAIL_SECONDS:g} s: GMO refuses signed requests "
        f"too far off (ERR-5008/5009), window undocumented (gmo-coin-api.md §3)"
    )
    fix = "turn on time sync: timedatectl set-ntp true (systemd-timesyncd or chrony), then check timedatectl status"
    if abs(skew_seconds) > SKEW_FAIL_SECONDS:
        return Check("clock skew", FAIL, detail, fix)
    if abs(skew_seconds) > SKEW_WARN_SECONDS:
        return Check("clock skew", WARN, detail, fix)
    return Check("clock skew", PASS, detail)


AUTH_FIXES = {
    "ERR-5008": "the local clock is ahead of GMO: turn on time sync (timedatectl set-ntp true)",
    "ERR-5009": "the local clock is behind GMO: turn on time sync (timedatectl set-ntp true)",
    "ERR-5010": "GMO_API_SECRET does not belong to GMO_API_KEY: copy both again from the GMO member site",
    "ERR-5011": "set GMO_API_KEY in .env",
    "ERR-5012": "check GMO_API_KEY, the key's permissions and its IP allow-list on the GMO member site",
    "ERR-5014": "complete the membership agreement on the GMO member site",
    "ERR-5125": "GMO restricts API trading on this account: ask GMO support",
    "ERR-5127": "GMO restricts API connections on this account (IP allow-list?): check the member site",
}


def private_reads(gmo, symbols: Sequence[str]) -> list[tuple[str, Callable[[], object]]]:
    """Return the read-only private calls the desk relies on, labelled (nothing here places or
    cancels anything)."""
    from signaldesk.exchange.model import is_leverage

    reads = [("assets", gmo.assets), ("margin", gmo.margin)]
    for symbol in symbols:
        reads.append((f"activeOrders {symbol}", lambda s=symbol: gmo.active_orders(s)))
        reads.append((f"latestExecutions {symbol}", lambda s=symbol: gmo.latest_executions(s)))
        if is_leverage(symbol):
            reads.append((f"openPositions {symbol}", lambda s=symbol: gmo.open_positions(s)))
    return reads


def gmo_private_check(gmo, settings) -> Check:
    """Check the GMO keys with read-only private calls; say which permissions could not be
    verified."""
    from signaldesk.exchange.errors import ExchangeError

    key, secret = bool(settings.gmo_api_key), bool(settings.gmo_api_secret)
    if not (key or secret):
        return Check(
            "gmo private",
            SKIP,
            "paper mode without GMO keys: the desk sends nothing to the private API",
        )
    if not (key and secret):
        return Check(
            "gmo private",
            FAIL,
            f"{'GMO_API_SECRET' if key else 'GMO_API_KEY'} is empty while the other is set",
            "set both GMO_API_KEY and GMO_API_SECRET in .env",
        )
    verified: list[str] = []
    for label, read in private_reads(gmo, settings.strategy.symbols):
        try:
            read()
        except ExchangeError as exc:
            before = f" (worked before it: {', '.join(verified)})" if verified else ""
            return Check("gmo private", FAIL, f"{label}: {exc}{before}", _private_fix(exc))
        verified.append(label)
    return private_verdict(settings.mode, verified)


def _private_fix(exc) -> str:
    """Return what to do about a failed private read: the auth code's remedy, or check the URL and
    network."""
    from signaldesk.exchange.errors import AuthError

    if isinstance(exc, AuthError):
        return AUTH_FIXES.get(exc.code, "check GMO_API_KEY and GMO_API_SECRET in .env")
    return "check GMO_PRIVATE_URL and this machine's network"


def private_verdict(mode: str, verified: Sequence[str]) -> Check:
    """Return PASS in paper mode (no orders go to GMO); in live mode WARN that order permissions are
    unverified."""
    reads = f"read access works: {', '.join(verified)}"
    if mode != "live":
        return Check("gmo private", PASS, f"{reads}; paper mode sends no orders to GMO")
    return Check(
        "gmo private",
        WARN,
        f"{reads}. Not verified: placing, changing and cancelling orders, closing positions and moving the "
        f"loss-cut price; GMO exposes no read-only way to test those permissions, and the doctor never "
        f"sends an order",
        "on the GMO member site, confirm this API key may place, change and cancel orders and close "
        "positions; then approve one minimum-size trade and watch it",
    )
