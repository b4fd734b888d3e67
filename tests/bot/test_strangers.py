"""A flood of strangers: nothing changes, nothing is sent back, and the audit log grows by one row
per stranger-hour."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

from signaldesk.audit import audit_strangers, count_stranger, events
from signaldesk.clock import utc_now
from tests.bot.harness import ALICE, running_desk, seed_signal, signal_row, state_of
from tests.fakes.telegram_server import callback_update, message_update

STRANGERS = [900000000 + n for n in range(20)]


def stranger_updates(count: int, signal_id: int, card: int) -> list[dict]:
    """Return `count` updates from 20 strangers: commands, taps on the real card, chatter
    (seeded)."""
    chooser, updates = random.Random(15), []
    for _ in range(count):
        who = chooser.choice(STRANGERS)
        kind = chooser.random()
        if kind < 0.4:
            updates.append(callback_update(f"approve:{signal_id}", who, ALICE, card))
        elif kind < 0.8:
            updates.append(
                message_update(f"/approve_{signal_id}", who, chooser.choice((who, ALICE)))
            )
        else:
            updates.append(message_update("/stop flatten", who, who))
    return updates


def test_a_thousand_stranger_updates_change_nothing_send_nothing_and_audit_one_row_each(
    bot_settings, db, fake_telegram
):
    signal_id = seed_signal(db, utc_now())

    async def scenario():
        async with running_desk(bot_settings, db):
            while signal_row(db, signal_id)["telegram_message_id"] is None:
                await asyncio.sleep(0.02)
            before = state_of(db)
            calls_before = len(fake_telegram.calls)
            for update in stranger_updates(
                1000, signal_id, signal_row(db, signal_id)["telegram_message_id"]
            ):
                fake_telegram.push_update(update)
            while fake_telegram.pending_updates():
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)  # a few more job rounds
            return before, fake_telegram.calls[calls_before:]

    before, calls = asyncio.run(scenario())
    talking = [m for m, _ in calls if m not in ("getupdates",)]
    assert talking == []  # no message, no tap answer, no edit: a stranger hears nothing
    assert state_of(db) == before
    tally = db.execute("SELECT COUNT(*), SUM(dropped) FROM stranger_drops").fetchone()
    assert tally == (len(STRANGERS), 1000)
    assert events(db, "unauthorized") == []  # the hour is still open
    assert audit_strangers(db, utc_now() + timedelta(hours=1)) == len(STRANGERS)
    rows = events(db, "unauthorized")
    assert len(rows) == len(STRANGERS) and sum(r["detail"]["dropped"] for r in rows) == 1000
    assert db.execute("SELECT COUNT(*) FROM stranger_drops").fetchone()[0] == 0


def test_strangers_beyond_the_hourly_cap_share_one_tally_row(db):
    now = utc_now()
    for user_id in range(1, 8):
        count_stranger(db, user_id, user_id, "message", "hi", now, per_hour=5)
    rows = db.execute("SELECT user_id, dropped FROM stranger_drops ORDER BY user_id").fetchall()
    assert rows == [(0, 2), (1, 1), (2, 1), (3, 1), (4, 1), (5, 1)]
