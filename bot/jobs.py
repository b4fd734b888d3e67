"""Periodic work of the bot: announce, expire, deliver alerts, heartbeat and dead-man checks, trades, daily report."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from html import escape

from telegram.error import BadRequest, TelegramError

from bot.charts import equity_chart_png
from bot.desk import Desk, desk_of, on_desk, on_fresh_connection
from bot.send import announce, refresh_announcement, send_text
from bot.views import alert_text, jst, report_text, verdict_footer, yen
from signaldesk import signals
from signaldesk.approvals import expire_stale_signals
from signaldesk.clock import to_db
from signaldesk.execution import manage_trades
from signaldesk.outbox import mark_failed, mark_sent, queue_alert, unsent
from signaldesk.report import (
    daily_report,
    equity_points,
    last_ok_cycle,
    previous_day,
    save_daily_summary,
)
from signaldesk.risk import protection_lines, risk_snapshot
from signaldesk.state import beat, last_beat, trading_state

log = logging.getLogger("bot.jobs")
CHART_DAYS = 30
WAKE_JOB = "manage-now"


@dataclass(frozen=True)
class JobTimes:
    """Seconds between runs of each periodic job (tests shorten them)."""

    announce: float = 5
    sweep: float = 10
    alerts: float = 10
    health: float = 60
    manage: float = 15
    first: float = 1


def schedule_jobs(job_queue, desk: Desk, times: JobTimes) -> None:
    """Put every periodic job and the daily report on the job queue."""
    job_queue.run_repeating(
        announce_job, interval=times.announce, first=times.first, name="announce"
    )
    job_queue.run_repeating(sweep_job, interval=times.sweep, first=times.first, name="sweep")
    job_queue.run_repeating(alerts_job, interval=times.alerts, first=times.first, name="alerts")
    job_queue.run_repeating(health_job, interval=times.health, first=times.first, name="health")
    job_queue.run_repeating(manage_job, interval=times.manage, first=times.first, name="manage")
    report = desk.settings.report
    job_queue.run_daily(
        daily_report_job,
        time(report.time.hour, report.time.minute, tzinfo=report.tz),
        name="report",
    )


async def announce_job(context) -> None:
    """Post each new pending signal once (claimed by compare-and-set; a failed send is released for the next round)."""
    desk = desk_of(context)
    for signal in await on_desk(desk, signals.unannounced, desk.clock()):
        if not await on_desk(desk, signals.claim_announcement, signal.id, desk.clock()):
            continue
        try:
            message = await announce(context.bot, desk, signal)
        except TelegramError as exc:
            log.warning("could not announce signal #%s (will retry): %s", signal.id, exc)
            await on_desk(desk, signals.release_announcement, signal.id)
            return
        await on_desk(
            desk, signals.record_announcement, signal.id, message.chat_id, message.message_id
        )


async def sweep_job(context) -> None:
    """Expire signals past their approval window and take the buttons off their messages."""
    desk = desk_of(context)
    for signal in await on_desk(desk, expire_stale_signals, desk.clock()):
        await refresh_announcement(context.bot, desk, signal, verdict_footer(signal))


async def alerts_job(context) -> None:
    """Deliver queued alerts oldest first; on a network problem keep them queued and stop for this round."""
    desk = desk_of(context)
    for alert in await on_fresh_connection(desk, unsent):  # never waits behind trade management
        if not await deliver_alert(context.bot, desk, alert):
            return


async def deliver_alert(bot, desk: Desk, alert) -> bool:
    """Send one alert (critical and info loudly, warnings silently); return False when it should be retried later."""
    try:
        await send_text(
            bot,
            desk.settings.telegram_chat_id,
            alert_text(alert.severity, alert.kind, alert.text),
            disable_notification=alert.severity == "warning",
        )
    except (
        BadRequest
    ) as exc:  # Telegram will never accept this one: park it instead of retrying forever
        log.error("alert %s refused by Telegram, parked: %s", alert.id, exc)
        await on_fresh_connection(desk, mark_failed, alert.id, str(exc))
        await on_fresh_connection(desk, mark_sent, alert.id, desk.clock(), "parked")
        return True
    except TelegramError as exc:
        log.warning("alert %s not delivered (will retry): %s", alert.id, exc)
        await on_fresh_connection(desk, mark_failed, alert.id, str(exc))
        return False
    await on_fresh_connection(desk, mark_sent, alert.id, desk.clock(), "bot")
    return True


def queue_deadman_alerts(db, health, started_at: datetime, now: datetime) -> list[str]:
    """Queue an alert (once per silence) when no cycle succeeded or the listener did not beat for too long."""
    queued = []
    checks = (
        (
            "cycle",
            last_ok_cycle(db),
            health.cycle_dead_minutes,
            "critical",
            "no cycle has succeeded",
        ),
        (
            "listener",
            last_beat(db, "listener"),
            health.listener_dead_minutes,
            "warning",
            "the liquidation listener has not beaten",
        ),
    )
    for name, last, minutes, severity, words in checks:
        reference = max(last, started_at) if last else started_at
        if now - reference <= timedelta(minutes=minutes):
            continue
        text = f"Dead-man check: {words} since {jst(last)} (limit {minutes} min)."
        if queue_alert(
            db, severity, f"{name}_dead", text, now, dedupe_key=f"{name}_dead:{to_db(reference)}"
        ):
            queued.append(name)
    return queued


async def health_job(context) -> None:
    """Write the bot's heartbeat and run the dead-man checks."""
    desk = desk_of(context)
    now = desk.clock()
    await on_desk(desk, beat, "bot", now)
    await on_desk(
        desk,
        queue_deadman_alerts,
        desk.settings.health,
        context.application.bot_data["started_at"],
        now,
    )


def start_protection(app) -> None:
    """Protect first at start-up: run the first management step at once (not at the next interval) and, on the
    live exchange, follow GMO's private stream so a fill wakes management within a second."""
    desk: Desk = app.bot_data["desk"]
    loop = asyncio.get_running_loop()
    app.bot_data["first_step"] = loop.create_task(run_management(app), name="first-management")
    tokens = desk.exchange if hasattr(desk.exchange, "ws_token") else None
    if tokens is None or not desk.settings.urls.gmo_ws_private:
        return
    from signaldesk.exchange.gmo_stream import PrivateStream

    def on_event(event) -> None:
        """Wake management from the stream's thread (nothing to wake once the bot has stopped)."""
        if not loop.is_closed():
            loop.call_soon_threadsafe(wake_management, app, event.channel)

    stream = PrivateStream(tokens, desk.settings.urls.gmo_ws_private, on_event)
    app.bot_data["private_stream"] = stream
    stream.start()


def stop_protection(app) -> None:
    """Stop following the private stream (after the application stopped); its token is deleted."""
    stream = app.bot_data.pop("private_stream", None)
    if stream is not None:
        stream.close()


def wake_management(app, why: str) -> None:
    """Run a management step now; wakes while one is already waiting to run are folded into it."""
    queue = app.job_queue
    if queue is None or not app.running or app.bot_data.get(WAKE_JOB):
        return
    log.debug("management woken by %s", why)
    app.bot_data[WAKE_JOB] = True
    queue.run_once(woken_job, 0, name=WAKE_JOB, job_kwargs={"misfire_grace_time": None})


async def woken_job(context) -> None:
    """A management step asked for by the private stream (later wakes queue one more step)."""
    context.application.bot_data[WAKE_JOB] = False
    await manage_job(context)


async def run_management(app) -> None:
    """Run one management step outside the job queue (the first one, at start-up)."""

    class Context:
        application = app

    await manage_job(Context())


async def manage_job(context) -> None:
    """Let execution manage open trades; its notices go through the outbox so a network loss loses none."""
    desk = desk_of(context)
    now = desk.clock()
    try:
        notices = await on_desk(desk, manage_trades, desk.exchange, desk.settings, now)
    except (
        Exception
    ) as exc:  # one bad round must not stop trade management; tell the person once an hour
        log.exception("manage_trades raised")
        key = f"manage_trades:{type(exc).__name__}:{now:%Y%m%d%H}"
        await on_desk(
            desk, queue_alert, "warning", "manage_trades", f"{type(exc).__name__}: {exc}", now, key
        )
        return
    for notice in notices:
        await on_desk(desk, queue_alert, "info", "trade", notice, now)


def gather_report(db, desk: Desk, day, now: datetime):
    """Compute the day's report, write its daily_summary row, and return it with equity, risk lines and chart points."""
    report = daily_report(db, day, desk.settings.report.tz)
    state = trading_state(db)
    risk_lines = [f"Risk state: {'HALTED (' + state.reason + ')' if state.halted else 'RUNNING'}"]
    snap = risk_snapshot(db, desk.exchange, desk.settings, now)
    equity = snap.equity_jpy
    risk_lines.append(
        f"Risk budget left: day {yen(snap.budget_day_left_jpy)} · week "
        f"{yen(snap.budget_week_left_jpy)} · month {yen(snap.budget_month_left_jpy)}"
    )
    risk_lines += protection_lines(snap, desk.settings.risk)
    save_daily_summary(db, report, equity, now)
    return report, equity, risk_lines, equity_points(db, now, CHART_DAYS, equity)


async def send_daily_report(bot, desk: Desk, day) -> None:
    """Send one day's report text and its equity chart."""
    report, equity, risk_lines, points = await on_desk(desk, gather_report, desk, day, desk.clock())
    chat = desk.settings.telegram_chat_id
    await send_text(bot, chat, report_text(report, equity, risk_lines))
    title = f"Equity, last {CHART_DAYS} days"
    png = await asyncio.to_thread(equity_chart_png, points, title)
    await bot.send_photo(chat, png, caption=escape(f"{title} (to {day.isoformat()} report)"))


async def daily_report_job(context) -> None:
    """Send the previous JST day's report at the configured time."""
    desk = desk_of(context)
    await send_daily_report(context.bot, desk, previous_day(desk.clock(), desk.settings.report.tz))
