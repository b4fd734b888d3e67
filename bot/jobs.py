"""Periodic work of the bot: announce, expire, deliver alerts, heartbeat and dead-man checks,
trades, the daily report, the Monday review and (live) the daily margin check."""

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
from bot.money_views import weekly_review_text
from bot.report_view import chart_title, protection_lines, report_text, risk_lines
from bot.send import announce, send_text, tell
from bot.trade_thread import show_notices
from bot.trade_view import alert_body
from bot.views import alert_text, deadman_text, held_footer
from signaldesk import signals
from signaldesk.approvals import expire_stale_signals
from signaldesk.clock import to_db
from signaldesk.execution import manage_trades
from signaldesk.i18n import plain_text, words
from signaldesk.outbox import mark_failed, mark_sent, queue_alert, unsent
from signaldesk.report import (
    chart_data,
    daily_report,
    day_bounds,
    previous_day,
    save_daily_summary,
)
from signaldesk.risk import risk_snapshot
from signaldesk.runs import last_success
from signaldesk.state import beat, last_beat, trading_state

log = logging.getLogger("bot.jobs")
CHART_DAYS = 30
WEEKLY_WEEKDAY = (
    0  # Monday (datetime.weekday): the design's weekly review follows that morning's report
)
MARGIN_CHECK = time(6, 30)  # JST: after GMO charged the day's leverage fees at 06:00


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
    """Put every periodic job, the morning report (and Monday review) and the margin check on the
    job queue."""
    job_queue.run_repeating(
        announce_job, interval=times.announce, first=times.first, name="announce"
    )
    job_queue.run_repeating(sweep_job, interval=times.sweep, first=times.first, name="sweep")
    job_queue.run_repeating(alerts_job, interval=times.alerts, first=times.first, name="alerts")
    job_queue.run_repeating(health_job, interval=times.health, first=times.first, name="health")
    job_queue.run_repeating(manage_job, interval=times.manage, first=times.first, name="manage")
    report = desk.settings.report
    at = time(report.time.hour, report.time.minute, tzinfo=report.tz)
    job_queue.run_daily(morning_job, at, name="report")
    job_queue.run_daily(
        margin_check_job, MARGIN_CHECK.replace(tzinfo=report.tz), name="margin_check"
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
    """Deliver queued alerts oldest first; on a network problem keep them queued and stop for this
    round."""
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
            desk.chat_id,
            alert_text(desk.words, alert.severity, alert.kind, alert_body(desk.words, alert)),
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
    """Queue an alert (once per silence) when no cycle succeeded or the listener did not beat for
    too long."""
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


def start_protection(app) -> None:
    """Protect first at start-up: queue the first management step on the lane at once (ahead of the
    start-up repair, not at the next interval) and, on the live exchange, follow GMO's private
    stream so a fill wakes management within a second."""
    desk: Desk = app.bot_data["desk"]
    queue_management(desk, app.bot)
    tokens = desk.exchange if hasattr(desk.exchange, "ws_token") else None
    if tokens is None or not desk.settings.urls.gmo_ws_private:
        return
    from signaldesk.exchange.gmo_stream import PrivateStream

    loop = asyncio.get_running_loop()

    def on_event(event) -> None:
        """Wake management from the stream's thread (nothing to wake once the bot has stopped)."""
        if not loop.is_closed():
            loop.call_soon_threadsafe(wake_management, desk, app.bot, event.channel)

    stream = PrivateStream(tokens, desk.settings.urls.gmo_ws_private, on_event)
    app.bot_data["private_stream"] = stream
    stream.start()


def stop_protection(app) -> None:
    """Stop following the private stream (blocking: joins its thread and deletes its token)."""
    stream = app.bot_data.pop("private_stream", None)
    if stream is not None:
        stream.close()


def wake_management(desk: Desk, bot, why: str) -> None:
    """Run a management step now; wakes while one is already waiting on the lane are folded into
    it."""
    if queue_management(desk, bot) is not None:
        log.debug("management woken by %s", why)


def queue_management(desk: Desk, bot):
    """Queue one management step on the exchange lane (key "manage": never two waiting); its notices
    are threaded under their trades by `bot`. Return its future, or None when one is already waiting
    or the lane has stopped."""
    now = desk.clock()
    return desk.lane.submit(
        manage_trades,
        desk.settings,
        now,
        then=partial(queue_trade_notices, bot, desk, now),
        key="manage",
    )


async def manage_job(context) -> None:
    """Queue one management step on the exchange lane; its notices go under their trades."""
    queue_management(desk_of(context), context.bot)


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
    """Simulate what is due, compute the day's report, write its daily_summary row; return it
    with risk lines (the risk state now) and the chart data (equity snapshots to the day's end).

    `snap` is the risk snapshot read on the exchange lane, or None when the exchange could not be
    seen.
    """
    from signaldesk.wouldhave import simulate_due

    settings = desk.settings
    simulate_due(db, settings, now)
    report = daily_report(db, day, settings)
    lines = risk_lines(desk.words, trading_state(db), snap)
    save_daily_summary(db, report, now)
    start, end = day_bounds(day, settings.report.tz)
    held = signals.held(db, start, end)
    if snap is not None:
        lines += protection_lines(desk.words, snap, settings.risk)
    return report, lines, chart_data(db, settings.mode, end, CHART_DAYS), held


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
    report, lines, chart, held = await on_desk(desk, gather_report, desk, day, now, snap)
    if level == "off":
        return
    chat, quiet, settings = desk.chat_id, notify.quietly(level), desk.settings
    text = report_text(w, report, lines, settings.health.live_auc_days, settings.price_note, held)
    await send_text(bot, chat, text, disable_notification=quiet)
    title = chart_title(w, day, CHART_DAYS)
    png = await asyncio.to_thread(equity_chart_png, chart, plain_text(title), w)
    await bot.send_photo(chat, png, caption=title, disable_notification=True)


async def morning_job(context) -> None:
    """At the report time: the previous JST day's report, and on Mondays the weekly review after
    it."""
    desk = desk_of(context)
    await send_morning(context.bot, desk, previous_day(desk.clock(), desk.settings.report.tz))


def gather_weekly_review(db, desk: Desk, day, now: datetime):
    """Return what the Monday review shows, up to the end of `day` (Sunday): the week's profit, the
    7-day, 30-day and all-time reviews, and the week's unchosen signals."""
    from signaldesk.periods import profit
    from signaldesk.value import reviews, unchosen_list
    from signaldesk.wouldhave import simulate_due

    simulate_due(db, desk.settings, now)
    end = day_bounds(day, desk.settings.report.tz)[1]
    week = profit(db, desk.settings.mode, end, 7)
    return week, reviews(db, desk.settings, end), unchosen_list(db, end - timedelta(days=7), end)


async def send_weekly_review(bot, desk: Desk, day) -> None:
    """Send the weekly review of the 7 days to the end of `day` (the design's Monday review)."""
    level = notify.level(desk.settings, "report", desk.clock())
    week, found, unchosen = await on_desk(desk, gather_weekly_review, desk, day, desk.clock())
    if level == "off":
        return
    text = weekly_review_text(desk.words, day, found, week, unchosen)
    await send_text(bot, desk.chat_id, text,
                    disable_notification=notify.quietly(level))  # fmt: skip


async def send_morning(bot, desk: Desk, day) -> None:
    """Send what the morning brings: the daily report and, on Mondays, the weekly review."""
    await send_daily_report(bot, desk, day)
    if desk.clock().astimezone(desk.settings.report.tz).weekday() == WEEKLY_WEEKDAY:
        await send_weekly_review(bot, desk, day)


async def margin_check_job(context) -> None:
    """Live mode: compare the desk's books with GMO's /v1/account/margin once a day; alert on a
    difference."""
    from signaldesk.equity import check_margin

    desk = desk_of(context)
    if desk.settings.mode != "live":
        return
    try:
        await on_desk(desk, check_margin, desk.exchange, desk.settings, desk.clock())
    except Exception:  # a failed check must not stop the bot; the next day checks again
        log.exception("margin check failed")
