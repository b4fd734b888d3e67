"""Periodic work of the bot: announce, expire, deliver alerts, heartbeat and dead-man checks, trades, daily report."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import partial

from telegram.error import BadRequest, TelegramError

from bot import notify
from bot.charts import equity_chart_png
from bot.desk import Desk, desk_of, on_desk, on_exchange
from bot.report_view import chart_caption, chart_title, report_text, risk_lines
from bot.send import announce, send_text, tell
from bot.trade_thread import show_notices
from bot.views import alert_text, deadman_text, held_footer
from signaldesk import signals
from signaldesk.approvals import expire_stale_signals
from signaldesk.clock import jst_day_start, to_db
from signaldesk.execution import manage_trades
from signaldesk.i18n import plain_text, words
from signaldesk.outbox import mark_failed, mark_sent, queue_alert, unsent
from signaldesk.report import (
    daily_report,
    equity_points,
    previous_day,
    save_daily_summary,
)
from signaldesk.risk import risk_snapshot
from signaldesk.runs import last_success
from signaldesk.state import beat, last_beat, trading_state

log = logging.getLogger("bot.jobs")
CHART_DAYS = 30


@dataclass(frozen=True)
class JobTimes:
    """Seconds between runs of each periodic job (tests shorten them)."""

    announce: float = 5
    sweep: float = 10
    alerts: float = 10
    health: float = 60
    manage: float = 15
    watch: float = 5
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
    """Post each new pending signal once (claimed by compare-and-set; a failed send is released for
    the next round); outside the active hours hold it, or post it silently (a setting)."""
    desk = desk_of(context)
    for signal in await on_desk(desk, signals.unannounced, desk.clock()):
        now, footer = desk.clock(), None
        quiet = notify.quietly(notify.level(desk.settings, "signal", now))
        if not notify.in_active_hours(desk.settings, now):
            if desk.settings.telegram.outside_active_hours == "hold":
                await on_desk(desk, signals.hold, signal.id, now, hold_note(desk))
                continue
            quiet, footer = True, held_footer(desk.words, desk.settings.telegram.active_hours)
        if not await on_desk(desk, signals.claim_announcement, signal.id, now):
            continue
        try:
            message = await announce(context.bot, desk, signal, quiet, footer)
        except TelegramError as exc:
            log.warning("could not announce signal #%s (will retry): %s", signal.id, exc)
            await on_desk(desk, signals.release_announcement, signal.id)
            return
        await on_desk(
            desk, signals.record_announcement, signal.id, message.chat_id, message.message_id
        )


def hold_note(desk: Desk) -> str:
    """Return the decision note of a held signal."""
    return f"held: outside the active hours {desk.settings.telegram.active_hours} JST"


async def sweep_job(context) -> None:
    """Expire signals past their approval window; their cards lose the buttons through the reply
    queue."""
    desk = desk_of(context)
    for signal in await on_desk(desk, expire_stale_signals, desk.clock()):
        desk.replies.put(partial(tell, context.bot, desk, signal.id))


async def alerts_job(context) -> None:
    """Deliver queued alerts oldest first; on a network problem keep them queued and stop for this round."""
    desk = desk_of(context)
    for alert in await on_desk(desk, unsent):
        if not await deliver_alert(context.bot, desk, alert):
            return


def alert_level(desk: Desk, severity: str) -> str:
    """Return how an alert goes out: critical ones always ring; the rest follow [notify] warning."""
    event = "alert" if severity == "critical" else "warning"
    return notify.level(desk.settings, event, desk.clock())


async def deliver_alert(bot, desk: Desk, alert) -> bool:
    """Send one alert (critical always with sound; others as [notify] warning says); return False
    when it should be retried later."""
    level = alert_level(desk, alert.severity)
    if level == "off":
        await on_desk(desk, mark_sent, alert.id, desk.clock(), "off")
        return True
    try:
        await send_text(
            bot,
            desk.settings.telegram_chat_id,
            alert_text(desk.words, alert.severity, alert.kind, alert.text),
            disable_notification=notify.quietly(level),
        )
    except (
        BadRequest
    ) as exc:  # Telegram will never accept this one: park it instead of retrying forever
        log.error("alert %s refused by Telegram, parked: %s", alert.id, exc)
        await on_desk(desk, mark_failed, alert.id, str(exc))
        await on_desk(desk, mark_sent, alert.id, desk.clock(), "parked")
        return True
    except TelegramError as exc:
        log.warning("alert %s not delivered (will retry): %s", alert.id, exc)
        await on_desk(desk, mark_failed, alert.id, str(exc))
        return False
    await on_desk(desk, mark_sent, alert.id, desk.clock(), "bot")
    return True


def queue_deadman_alerts(db, health, started_at: datetime, now: datetime, w=None) -> list[str]:
    """Queue an alert (once per silence) when no cycle succeeded or the listener did not beat for too long."""
    queued = []
    checks = (
        ("cycle", last_success(db, "cycle"), health.cycle_dead_minutes, "critical"),
        ("listener", last_beat(db, "listener"), health.listener_dead_minutes, "warning"),
    )
    for name, last, minutes, severity in checks:
        reference = max(last, started_at) if last else started_at
        if now - reference <= timedelta(minutes=minutes):
            continue
        text = plain_text(deadman_text(w or words("en"), name, last, minutes))
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
        desk.words,
    )


async def manage_job(context) -> None:
    """Queue one management step on the exchange lane (never two waiting); its notices go to the
    outbox."""
    desk = desk_of(context)
    now = desk.clock()
    desk.lane.submit(
        manage_trades,
        desk.settings,
        now,
        then=partial(queue_trade_notices, context.bot, desk, now),
        key="manage",
    )


async def queue_trade_notices(bot, desk: Desk, now: datetime, notices, error) -> None:
    """Thread a management step's notices under their trades (the rows are the truth: a lost
    message is redrawn by the watch job); notices about no trade go to the outbox."""
    if (
        error is not None
    ):  # one bad round must not stop trade management; tell the person once an hour
        log.error("manage_trades raised %s: %s", type(error).__name__, error)
        key = f"manage_trades:{type(error).__name__}:{now:%Y%m%d%H}"
        text = f"{type(error).__name__}: {error}"
        await on_desk(desk, queue_alert, "warning", "manage_trades", text, now, key)
        return
    await show_notices(bot, desk, notices)


REPORT_EXCHANGE_WAIT = 30.0  # seconds the report waits for the lane's account figures


def gather_report(db, desk: Desk, day, now: datetime, snap):
    """Compute the day's report, write its daily_summary row, and return it with equity, risk lines
    and chart points.

    `snap` is the risk snapshot read on the exchange lane, or None when the exchange could not be
    seen.
    """
    report = daily_report(db, day, desk.settings.report.tz)
    lines = risk_lines(desk.words, trading_state(db), snap)
    equity = snap.equity_jpy if snap is not None else None
    save_daily_summary(db, report, equity, now)
    start = jst_day_start(datetime.combine(day, time(12), tzinfo=desk.settings.report.tz))
    held = signals.held(db, start, start + timedelta(days=1))
    return report, equity, lines, equity_points(db, now, CHART_DAYS, equity), held


async def account_snapshot(desk: Desk, now: datetime, timeout: float):
    """Return the risk snapshot read on the exchange lane, or None when it is not there in time."""
    try:
        return await on_exchange(desk, risk_snapshot, desk.settings, now, timeout=timeout)
    except (
        Exception
    ) as exc:  # maintenance, unreadable answer, busy lane: the report goes out without it
        log.warning("account figures unavailable for the report: %s: %s", type(exc).__name__, exc)
        return None


async def send_daily_report(bot, desk: Desk, day) -> None:
    """Send one day's report text and its equity chart (as [notify] report says)."""
    now, w = desk.clock(), desk.words
    level = notify.level(desk.settings, "report", now)
    snap = await account_snapshot(desk, now, REPORT_EXCHANGE_WAIT)
    report, equity, lines, points, held = await on_desk(desk, gather_report, desk, day, now, snap)
    if level == "off":
        return
    chat, quiet = desk.settings.telegram_chat_id, notify.quietly(level)
    text = report_text(w, report, equity, lines, held)
    await send_text(bot, chat, text, disable_notification=quiet)
    png = await asyncio.to_thread(equity_chart_png, points, chart_title(w, CHART_DAYS), w)
    caption = chart_caption(w, CHART_DAYS, day)
    await bot.send_photo(chat, png, caption=caption, disable_notification=True)


async def daily_report_job(context) -> None:
    """Send the previous JST day's report at the configured time."""
    desk = desk_of(context)
    await send_daily_report(context.bot, desk, previous_day(desk.clock(), desk.settings.report.tz))
