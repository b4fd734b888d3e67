"""End to end: alerts from the outbox, network loss, 429, heartbeat, dead-man checks, start-up
refusal, quiet logs."""

from __future__ import annotations

import argparse
import asyncio
import logging
from datetime import timedelta

import pytest

from bot.desk import Desk
from bot.jobs import queue_deadman_alerts
from bot.main import build_application, missing_settings
from jobs.bot import run
from signaldesk.clock import to_db, utc_now
from signaldesk.logs import setup_logging
from signaldesk.outbox import queue_alert
from signaldesk.state import beat, last_beat
from tests.bot.harness import ALICE, paper_exchange, running_desk, texts_to
from tests.fakes.telegram_server import fixture, message_update


def outbox_row(db, alert_kind: str) -> tuple:
    """Return (sent_at, sent_via, attempts) of one alert."""
    return db.conn.execute(
        "SELECT sent_at, sent_via, attempts FROM outbox WHERE kind = ?", [alert_kind]
    ).fetchone()


def test_critical_alerts_ring_and_warnings_are_silent(bot_settings, db, fake_telegram):
    now = utc_now()
    queue_alert(db, "critical", "api_failures", "3 consecutive GMO failures: halted", now)
    queue_alert(db, "warning", "price_move", "BTC_JPY moved 5.2% in 15 min <fast>", now)

    async def scenario():
        async with running_desk(bot_settings, db):
            return await fake_telegram.wait_for("sendMessage", n=2)

    critical, warning = asyncio.run(scenario())[:2]
    assert (
        critical.get("disable_notification") in (None, "false")
        and "3 consecutive GMO failures" in critical["text"]
    )
    assert warning["disable_notification"] == "true" and "&lt;fast&gt;" in warning["text"]
    assert outbox_row(db, "price_move")[:2][1] == "bot"


def test_network_loss_keeps_the_alert_queued_until_it_is_sent(bot_settings, db, fake_telegram):
    queue_alert(db, "critical", "cycle_dead", "no cycle", utc_now())
    fake_telegram.fail_next(
        "sendMessage", 502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}
    )

    async def scenario():
        async with running_desk(bot_settings, db):
            return await fake_telegram.wait_for("sendMessage", n=2)

    asyncio.run(scenario())
    sent_at, via, attempts = outbox_row(db, "cycle_dead")
    assert (sent_at is not None, via, attempts) == (True, "bot", 2)


@pytest.mark.filterwarnings(
    "ignore::telegram.warnings.PTBDeprecationWarning"
)  # raised inside AIORateLimiter
def test_telegram_429_is_waited_out_and_the_answer_still_arrives(bot_settings, db, fake_telegram):
    fake_telegram.fail_next(
        "sendMessage", 429, fixture("error_429.json") | {"parameters": {"retry_after": 1}}
    )

    async def scenario():
        async with running_desk(bot_settings, db):
            fake_telegram.push_update(message_update("/help", ALICE, ALICE))
            return await fake_telegram.wait_for("sendMessage", n=2, timeout=8)

    asyncio.run(scenario())
    assert texts_to(fake_telegram, ALICE)[1].startswith("<b>Commands</b>")


def test_the_bot_writes_its_heartbeat(bot_settings, db, fake_telegram):
    async def scenario():
        async with running_desk(bot_settings, db):
            await fake_telegram.wait_for("setMyCommands")

    before = utc_now()
    asyncio.run(scenario())
    assert last_beat(db, "bot") >= before - timedelta(seconds=1)


def test_dead_man_alerts_once_per_silence(db, make_settings):
    health = make_settings().health
    now = utc_now()
    with db.conn:
        db.conn.execute(
            "INSERT INTO runs (kind, started_at, finished_at, status) VALUES ('cycle', ?, ?, 'ok')",
            [to_db(now - timedelta(minutes=40)), to_db(now - timedelta(minutes=36))],
        )
    beat(db, "listener", now - timedelta(minutes=2))
    started = now - timedelta(hours=1)
    first = queue_deadman_alerts(db, health, started, now)
    again = queue_deadman_alerts(db, health, started, now + timedelta(minutes=1))
    assert (first, again) == (["cycle"], [])


def test_dead_man_gives_a_fresh_bot_its_grace_period(db, make_settings):
    now = utc_now()
    assert queue_deadman_alerts(db, make_settings().health, now - timedelta(minutes=2), now) == []


def test_refuses_to_start_and_names_the_missing_settings(make_settings, capsys):
    code = run(
        argparse.Namespace(check=False, json=False),
        make_settings(TELEGRAM_BOT_TOKEN="1:PLACEHOLDER"),
    )
    out = capsys.readouterr().out
    assert code == 2 and "TELEGRAM_USER_IDS" in out and "TELEGRAM_CHAT_ID" in out
    assert "TELEGRAM_BOT_TOKEN" not in out


def test_no_token_is_a_missing_setting(make_settings):
    missing = missing_settings(make_settings(TELEGRAM_CHAT_ID="1", TELEGRAM_USER_IDS="1"))
    assert [m.split()[0] for m in missing] == ["TELEGRAM_BOT_TOKEN"]


def test_building_the_bot_keeps_httpx_logs_quiet(bot_settings, db, tmp_path):
    setup_logging("bot", None, bot_settings.secrets())
    build_application(
        bot_settings, Desk(settings=bot_settings, db=db, exchange=paper_exchange(db, bot_settings))
    )
    assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING


def test_the_daily_report_is_scheduled_at_nine_tokyo_time(bot_settings, db):
    app = build_application(
        bot_settings, Desk(settings=bot_settings, db=db, exchange=paper_exchange(db, bot_settings))
    )
    job = app.job_queue.get_jobs_by_name("report")[0]
    trigger = job.job.trigger
    assert (str(trigger.timezone), str(trigger.fields[5]), str(trigger.fields[6])) == (
        "Asia/Tokyo",
        "9",
        "0",
    )
