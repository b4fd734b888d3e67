"""The cycle as a job: model and exchange at the edge, run records, health alerts, failure streaks,
replays."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from signaldesk import outbox, state
from signaldesk.clock import JST, to_db
from signaldesk.health import api_failure_alert, live_auc_alert, memory_alert, memory_used_fraction
from signaldesk.runs import finish_run, start_run

if TYPE_CHECKING:
    from signaldesk.exchange.base import Exchange
    from signaldesk.model.inference import LoadedModel
    from signaldesk.news import NewsEvent
    from signaldesk.settings import Settings
    from signaldesk.storage import Database

log = logging.getLogger("signaldesk.cycle")
FAILURES_KEY = "cycle_api_failures"
LIVE_AUC_KEY = "live_auc_checked"  # "<model version> <JST date>" of the last live-AUC check
REPLAY_FEED_LOOKBACK = timedelta(days=1)


@dataclass
class JobOutcome:
    """What a cycle run did, for the log line, the exit code and `--json`."""

    ok: bool
    line: str
    summary: dict = field(default_factory=dict)


def load_active_model(settings: Settings, now: datetime, db: Database | None = None) -> LoadedModel:
    """Load the active model version (see signaldesk.model.registry); raises ModelMissing /
    ModelMismatch."""
    from signaldesk.model.inference import load_model
    from signaldesk.model.registry import active_folder

    return load_model(active_folder(db, settings), now, settings.health.model_max_age_days)


def raise_alert(db: Database, settings: Settings, alert, now: datetime) -> None:
    """Queue a health alert for the bot; a halting one also halts trading."""
    outbox.queue_alert(db, alert.severity, alert.kind, alert.text, now, alert.dedupe_key)
    if alert.halts:
        state.halt(db, alert.text, now, "cycle")


def run_live_cycle(
    db: Database,
    settings: Settings,
    now: datetime,
    *,
    exchange: Exchange | None = None,
    model: LoadedModel | None = None,
) -> JobOutcome:
    """Run one recorded cycle: model, exchange, rules, health; never leaves a partial write
    behind."""
    from signaldesk.exchange.errors import ExchangeError, Maintenance
    from signaldesk.model.artifacts import ModelMismatch, ModelMissing
    from signaldesk.news import CalendarError, read_calendar

    run_id = start_run(db, "cycle", now, settings.strategy.symbols)
    http = None
    try:
        started = time.perf_counter()
        model = model or load_active_model(settings, now, db)
        loading = time.perf_counter() - started
        calendar = read_calendar(settings.strategy.news_calendar)
        if exchange is None:
            exchange, http = _build_exchange(settings, db)
        outcome = _scored(db, settings, now, run_id, exchange, model, calendar, loading)
    except (ModelMissing, ModelMismatch, CalendarError) as exc:
        outcome = _failed(db, settings, now, run_id, "configuration", str(exc), critical=True)
    except Maintenance as exc:
        outcome = _failed(
            db, settings, now, run_id, "maintenance", str(exc), critical=False, status="skipped"
        )
    except ExchangeError as exc:
        outcome = _exchange_failed(db, settings, now, run_id, exc)
    finally:
        if http is not None:
            http.close()
    deliver_when_bot_is_down(db, settings, now)
    return outcome


def _build_exchange(settings: Settings, db: Database):
    """Return the configured exchange (live client, or paper on live public data) and the HTTP
    client it uses, which the caller closes."""
    from signaldesk.exchange.factory import build_exchange, build_http

    http = build_http()
    return build_exchange(settings, db, http=http), http


def _scored(
    db: Database,
    settings: Settings,
    now: datetime,
    run_id: int,
    exchange: Exchange,
    model: LoadedModel,
    calendar: list[NewsEvent],
    model_seconds: float,
) -> JobOutcome:
    """Run the cycle proper and record success, alerts and outcomes."""
    from signaldesk.cycle import run_cycle

    result = run_cycle(db, exchange, model, settings, now, calendar)
    result.timings["model_load"] = model_seconds
    state.set_value(db, FAILURES_KEY, "0", now, "cycle")
    for alert in result.alerts:
        raise_alert(db, settings, alert, now)
    check_memory(db, settings, now)
    resolved = resolve_and_score(db, settings, model.version, now)
    check_firing_rate(db, settings, model, now)
    counts = {
        "written": result.written,
        "fetched": result.fetched,
        "resolved": resolved,
        **result.statuses,
    }
    finish_run(
        db,
        run_id,
        "ok",
        now,
        candle_time=result.candle_time,
        counts=counts,
        durations={k: round(v, 4) for k, v in result.timings.items()},
    )
    line = (
        f"cycle {result.candle_time:%Y-%m-%d %H:%M} UTC: "
        + ", ".join(f"{s} {v}" for s, v in result.statuses.items())
        + f"; {result.written} row(s) written"
    )
    return JobOutcome(
        True,
        line,
        {
            "candle_time": result.candle_time,
            "statuses": result.statuses,
            **counts,
            "durations": result.timings,
            "model": model.version,
        },
    )


def check_memory(db: Database, settings: Settings, now: datetime) -> None:
    """Warn over 80% memory use; over 90% halt trading and raise a critical alert."""
    alert = memory_alert(
        memory_used_fraction(),
        settings.health.memory_warning,
        settings.health.memory_critical,
        now.astimezone(JST).strftime("%Y-%m-%dT%H"),
    )
    if alert:
        raise_alert(db, settings, alert, now)


def resolve_and_score(db: Database, settings: Settings, model_version: str, now: datetime) -> int:
    """Resolve matured predictions, update model_performance and, once a day, check the live AUC;
    return the (date, model, symbol) groups touched."""
    from signaldesk.outcomes import resolve_outcomes, update_performance
    from signaldesk.storage import writing

    with writing(db):  # one commit: the outcomes and their scores land together
        touched = resolve_outcomes(db, settings.strategy.label_horizon_bars, now)
        update_performance(db, touched, now)
    check_live_auc(db, settings, model_version, now)
    return len(touched)


def check_live_auc(db: Database, settings: Settings, model_version: str, now: datetime) -> None:
    """On a model's first cycle of each JST day, warn when its live AUC over the trailing window is
    weak.

    A weak AUC is a slow signal (weeks of outcomes; the alert is once a day anyway), so the cycle
    computes it once a day instead of every 15 minutes.
    """
    from signaldesk.outcomes import trailing_auc

    day = now.astimezone(JST).date().isoformat()
    checked = f"{model_version} {day}"
    if state.get_value(db, LIVE_AUC_KEY) == checked:
        return
    auc = trailing_auc(db, model_version, now - timedelta(days=settings.health.live_auc_days))
    alert = live_auc_alert(auc, settings.health.min_live_auc, model_version, day)
    if alert:
        raise_alert(db, settings, alert, now)
    state.set_value(db, LIVE_AUC_KEY, checked, now, "cycle")


def check_firing_rate(db: Database, settings: Settings, model: LoadedModel, now: datetime) -> None:
    """Warn when the model's live firing rate has left its band around the operating point's
    rate."""
    from signaldesk.health import firing_rate_alert
    from signaldesk.outcomes import firing_counts

    point = getattr(model, "operating_point", None)
    if settings.strategy.threshold_source != "model" or point is None:
        return
    days = settings.health.firing_rate_days
    fired, scored = firing_counts(db, model.version, now - timedelta(days=days))
    trained_on = len(model.metadata.get("symbols") or settings.strategy.symbols)
    alert = firing_rate_alert(
        fired,
        scored,
        point.signals_per_day / (96 * trained_on),
        days,
        len(settings.strategy.symbols),
        settings.health.firing_rate_band,
        f"{model.version}:{now.astimezone(JST).date().isoformat()}",
    )
    if alert:
        raise_alert(db, settings, alert, now)


def _failed(
    db: Database,
    settings: Settings,
    now: datetime,
    run_id: int,
    kind: str,
    error: str,
    *,
    critical: bool,
    status: str = "failed",
) -> JobOutcome:
    """Record a failed (or skipped) run and queue an alert once per JST day and kind."""
    severity = "critical" if critical else "warning"
    outbox.queue_alert(
        db,
        severity,
        kind,
        f"cycle {status}: {error}",
        now,
        f"cycle-{kind}:{now.astimezone(JST).date().isoformat()}",
    )
    finish_run(db, run_id, status, now, error=error)
    log.error("cycle %s: %s", status, error)
    return JobOutcome(
        status == "skipped", f"cycle {status}: {error}", {"status": status, "error": error}
    )


def _exchange_failed(
    db: Database, settings: Settings, now: datetime, run_id: int, exc: Exception
) -> JobOutcome:
    """Count a failed API run; at the configured streak, halt trading with a critical alert."""
    failures = int(state.get_value(db, FAILURES_KEY) or 0) + 1
    state.set_value(db, FAILURES_KEY, str(failures), now, "cycle")
    alert = api_failure_alert(failures, settings.health.api_failures_to_halt, str(exc))
    if alert:
        raise_alert(db, settings, alert, now)
    finish_run(db, run_id, "failed", now, error=str(exc), counts={"api_failures": failures})
    log.error("cycle failed (%d in a row): %s", failures, exc)
    return JobOutcome(
        False,
        f"cycle failed ({failures} in a row): {exc}",
        {"status": "failed", "error": str(exc), "api_failures": failures},
    )


def deliver_when_bot_is_down(db: Database, settings: Settings, now: datetime) -> int:
    """Send unsent critical alerts straight to Telegram when the bot's heartbeat is stale; return
    how many."""
    beat = state.last_beat(db, "bot")
    if beat is not None and now - beat <= timedelta(
        minutes=settings.health.bot_heartbeat_stale_minutes
    ):
        return 0
    critical = [a for a in outbox.unsent(db, 50) if a.severity == "critical"]
    if not critical or not (settings.telegram_bot_token and settings.telegram_chat_id is not None):
        return 0
    from signaldesk.notifier import send_alert_direct

    sent = 0
    for alert in critical:
        delivery = send_alert_direct(
            settings, f"[signaldesk cycle; the bot is silent] {alert.text}"
        )
        if not delivery.ok:
            outbox.mark_failed(db, alert.id, delivery.error)
            log.error("direct alert %d not delivered: %s", alert.id, delivery.error)
            continue
        sent += outbox.mark_sent(db, alert.id, now, "direct")
    return sent


def run_replay(
    db: Database, settings: Settings, since: datetime, until: datetime, spread_bps: Decimal
) -> JobOutcome:
    """Replay one cycle per 15-minute candle in [since, until) on the paper exchange over the stored
    candles."""
    from signaldesk.cycle import run_cycle
    from signaldesk.exchange.factory import build_exchange
    from signaldesk.exchange.feed import CandleFeed
    from signaldesk.news import read_calendar

    settings = replace(settings, mode="paper")  # a replay never reaches a real exchange
    model = load_active_model(settings, until, db)
    start, stored = replay_candles(db, settings, since, until)
    missing = [s for s, rows in stored.items() if not rows]
    if missing:
        line = (
            f"replay refused: no stored 15m candles for {', '.join(missing)} between "
            f"{to_db(start)} and {to_db(until)}; load them with "
            "`signaldesk backfill --symbol SYMBOL ...`"
        )
        return JobOutcome(False, line, {"error": line})
    feed = CandleFeed(stored, spread_bps=spread_bps)
    exchange = build_exchange(settings, db, feed=feed)
    calendar = read_calendar(settings.strategy.news_calendar)
    totals: dict[str, int] = {}
    moment, cycles, written = since, 0, 0
    while moment < until:
        now = moment + timedelta(minutes=15, seconds=settings.strategy.candle_publish_delay_seconds)
        feed.advance_to(now)
        result = run_cycle(db, exchange, model, settings, now, calendar, fetch=False)
        resolve_and_score(db, settings, model.version, now)
        for status in result.statuses.values():
            totals[status] = totals.get(status, 0) + 1
        cycles, written, moment = (
            cycles + 1,
            written + result.written,
            moment + timedelta(minutes=15),
        )
    line = f"replayed {cycles} cycle(s) {to_db(since)} .. {to_db(until)}: {written} row(s) written; {totals}"
    return JobOutcome(
        True,
        line,
        {"cycles": cycles, "written": written, "statuses": totals, "model": model.version},
    )


def replay_candles(
    db: Database, settings: Settings, since: datetime, until: datetime
) -> tuple[datetime, dict]:
    """Return where the replay's window opens and the stored candles its paper exchange needs, per
    symbol: a bounded window, whatever the database holds.

    The window opens a day before `since` (the ticker's 24 hours) or, when the paper account still
    has working orders, when the oldest of them was placed (the bars it has not been compared with);
    the cycle itself reads its own `LIVE_FETCH_BARS` candles from the database at every step.
    """
    from signaldesk.candles import load_candles
    from signaldesk.execution.records import UNRESOLVED, WORKING, orders_with_status

    start = since - REPLAY_FEED_LOOKBACK
    working = orders_with_status(db, settings.mode, WORKING + UNRESOLVED)
    if working:
        start = min(start, min(o.created_at for o in working) - REPLAY_FEED_LOOKBACK)
    symbols = settings.strategy.symbols
    return start, {s: load_candles(db, s, "15m", since=start, until=until) for s in symbols}
