"""End to end through the real PTB stack and a fake Bot API server: announce, approve, reject,
refuse, expire."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from signaldesk.audit import audit_strangers, events
from signaldesk.clock import to_db, utc_now
from tests.bot.harness import (
    ALICE,
    IDLE,
    MALLORY,
    paper_exchange,
    running_desk,
    seed_market_signal,
    seed_signal,
    signal_row,
    texts_to,
)
from tests.fakes.telegram_server import callback_update, message_update


def announced(fake, signal_id: int) -> list[dict]:
    """Return the announcements of one signal (messages carrying its Approve button)."""
    return [
        p
        for p in fake.calls_to("sendMessage")
        if p.get("reply_markup")
        and p["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == f"approve:{signal_id}"
    ]


async def wait_announced(fake, signal_id: int, db=None) -> dict:
    """Wait until a signal's announcement went out (and, given the db, its message id is stored)."""
    await fake.wait_for("sendMessage", where=lambda p: p in announced(fake, signal_id))
    for _ in range(100):
        if db is None or signal_row(db, signal_id)["telegram_message_id"] is not None:
            break
        await asyncio.sleep(0.02)
    return announced(fake, signal_id)[0]


async def reply_to(fake, chat_id: int, n: int) -> str:
    """Wait for the n-th message to a chat and return its text."""
    await fake.wait_for("sendMessage", n=n, where=lambda p: int(p["chat_id"]) == chat_id)
    return texts_to(fake, chat_id)[n - 1]


def test_pending_signal_is_announced_once_with_buttons_and_stored(bot_settings, db, fake_telegram):
    signal_id = seed_signal(db, utc_now())

    async def scenario():
        async with running_desk(bot_settings, db):
            sent = await wait_announced(fake_telegram, signal_id)
            await asyncio.sleep(0.5)  # several more announce rounds
            return sent

    sent = asyncio.run(scenario())
    row = signal_row(db, signal_id)
    assert len(announced(fake_telegram, signal_id)) == 1
    assert sent["reply_markup"]["inline_keyboard"][0][1]["callback_data"] == f"reject:{signal_id}"
    assert "calibrated probability that the price is higher in 1 hour" in sent["text"]
    assert (
        "RSI(14) at 62: neither overbought nor oversold — ▲ points to a rise" in sent["text"]
        and f"/approve_{signal_id}" in sent["text"]
    )
    assert (row["telegram_chat_id"], row["announced_at"] is not None) == (ALICE, True)
    assert row["telegram_message_id"] >= 1000


def test_approve_by_button_places_the_order_and_says_so(bot_settings, db, fake_telegram):
    exchange = paper_exchange(db, bot_settings)
    signal_id = seed_market_signal(db, exchange)

    async def scenario():
        async with running_desk(bot_settings, db, clock=exchange.feed.now, exchange=exchange):
            await wait_announced(fake_telegram, signal_id, db)
            message_id = signal_row(db, signal_id)["telegram_message_id"]
            fake_telegram.push_update(
                callback_update(f"approve:{signal_id}", ALICE, ALICE, message_id)
            )
            answers = await fake_telegram.wait_for("answerCallbackQuery")
            await fake_telegram.wait_for(
                "editMessageText", where=lambda p: "the order follows" in p["text"]
            )
            notice = await reply_to(fake_telegram, ALICE, 2)  # the card, then the trade's status
            return answers, fake_telegram.calls_to("editMessageText"), notice

    answers, edits, notice = asyncio.run(scenario())
    row = signal_row(db, signal_id)
    assert (row["status"], row["approved_by"], row["told_status"]) == (
        "EXECUTED",
        str(ALICE),
        "EXECUTED",
    )
    assert (
        answers[0]["text"] == f"Signal #{signal_id} approved; checking risk and placing the order…"
    )
    # the card says "placing the order…" unless the order was out before that edit's turn came
    assert all("placing the order…" in e["text"] for e in edits[:-1]) and len(edits) <= 2
    assert "the order follows" in edits[-1]["text"] and "reply_markup" not in edits[-1]
    # the trade's status message is a silent reply under the card, with a Close button
    assert notice.startswith("<b>Trade #1 · BTC_JPY · LONG (buy)</b>\n📤 Order placed")
    status = fake_telegram.calls_to("sendMessage")[1]
    card_id = signal_row(db, signal_id)["telegram_message_id"]
    assert status["reply_parameters"]["message_id"] == card_id
    assert str(status["disable_notification"]).lower() == "true"
    assert status["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "close:1"
    assert [o.side for o in exchange.active_orders("BTC_JPY")] == ["BUY"]
    assert [e["detail"]["signal_id"] for e in events(db, "approved")] == [signal_id]
    assert fake_telegram.refused == []


def test_approve_by_text_then_double_approve_changes_nothing(bot_settings, db, fake_telegram):
    # The reply says the approval was taken; the outcome follows as its own message once the order
    # is out.
    exchange = paper_exchange(db, bot_settings)
    signal_id = seed_market_signal(db, exchange)

    async def scenario():
        async with running_desk(bot_settings, db, clock=exchange.feed.now, exchange=exchange):
            await wait_announced(fake_telegram, signal_id)
            fake_telegram.push_update(message_update(f"/approve_{signal_id}", ALICE, ALICE))
            first = await reply_to(fake_telegram, ALICE, 2)  # the announcement, then the answer
            outcome = await reply_to(fake_telegram, ALICE, 3)
            decided_at = signal_row(db, signal_id)["decided_at"]
            fake_telegram.push_update(
                message_update(f"/approve_{signal_id}@example_approval_bot", ALICE, ALICE)
            )
            second = await reply_to(fake_telegram, ALICE, 4)
            return first, outcome, decided_at, second

    first, outcome, decided_at, second = asyncio.run(scenario())
    assert first == f"Signal #{signal_id} approved; checking risk and placing the order…"
    assert outcome.startswith("<b>Trade #1 · BTC_JPY · LONG (buy)</b>\n📤 Order placed")
    assert f"Signal #{signal_id} is already executed by Alice (@alice_example)" in second
    assert signal_row(db, signal_id)["decided_at"] == decided_at
    assert len(exchange.active_orders("BTC_JPY")) == 1


def test_double_tap_is_answered_with_the_actual_state(bot_settings, db, fake_telegram):
    signal_id = seed_signal(db, utc_now())

    async def scenario():
        async with running_desk(bot_settings, db):
            await wait_announced(fake_telegram, signal_id, db)
            message_id = signal_row(db, signal_id)["telegram_message_id"]
            fake_telegram.push_update(
                callback_update(f"reject:{signal_id}", ALICE, ALICE, message_id)
            )
            fake_telegram.push_update(
                callback_update(f"approve:{signal_id}", ALICE, ALICE, message_id)
            )
            return await fake_telegram.wait_for("answerCallbackQuery", n=2)

    answers = asyncio.run(scenario())
    assert signal_row(db, signal_id)["status"] == "REJECTED"
    assert answers[1]["text"].startswith(
        f"Signal #{signal_id} is already rejected by Alice (@alice_example)"
    )


def test_late_approve_of_an_expired_signal_changes_nothing(bot_settings, db, fake_telegram):
    now = utc_now()
    signal_id = seed_signal(
        db, now - timedelta(minutes=20), expires_at=to_db(now - timedelta(minutes=5))
    )

    async def scenario():
        async with running_desk(bot_settings, db, times=IDLE):
            fake_telegram.push_update(message_update(f"/approve_{signal_id}", ALICE, ALICE))
            return await reply_to(fake_telegram, ALICE, 1)

    text = asyncio.run(scenario())
    assert text.startswith(f"Signal #{signal_id} expired at")
    assert signal_row(db, signal_id)["status"] == "PENDING"


def test_unknown_id_and_malformed_id_are_answered(bot_settings, db, fake_telegram):
    async def scenario():
        async with running_desk(bot_settings, db):
            fake_telegram.push_update(message_update("/approve_999", ALICE, ALICE))
            unknown = await reply_to(fake_telegram, ALICE, 1)
            fake_telegram.push_update(message_update("/approve_abc", ALICE, ALICE))
            malformed = await reply_to(fake_telegram, ALICE, 2)
            return unknown, malformed

    unknown, malformed = asyncio.run(scenario())
    assert unknown == "Signal #999 does not exist; nothing changed."
    assert malformed == (
        "/approve_… needs an id of 1 to 18 digits 0-9, like /approve_12 (got “abc”). "
        "Nothing changed."
    )


def test_stranger_is_dropped_silently_and_audited(bot_settings, db, fake_telegram):
    signal_id = seed_signal(db, utc_now())

    async def scenario():
        async with running_desk(bot_settings, db):
            await wait_announced(fake_telegram, signal_id, db)
            message_id = signal_row(db, signal_id)["telegram_message_id"]
            fake_telegram.push_update(message_update(f"/approve_{signal_id}", MALLORY, MALLORY))
            fake_telegram.push_update(
                callback_update(f"approve:{signal_id}", MALLORY, ALICE, message_id)
            )
            fake_telegram.push_update(
                message_update("/help", ALICE, ALICE)
            )  # processed after the strangers
            await reply_to(fake_telegram, ALICE, 2)

    asyncio.run(scenario())
    assert signal_row(db, signal_id)["status"] == "PENDING"
    assert (
        texts_to(fake_telegram, MALLORY) == []
        and fake_telegram.calls_to("answerCallbackQuery") == []
    )
    assert events(db, "unauthorized") == []  # the hour is still open: tallied, not yet audited
    assert audit_strangers(db, utc_now() + timedelta(hours=1)) == 1
    detail = events(db, "unauthorized")[0]["detail"]
    assert (detail["user_id"], detail["chat_id"], detail["dropped"]) == (MALLORY, MALLORY, 2)
    assert detail["kinds"] == {"message": 1, "callback_query": 1}


def test_edited_command_and_other_bots_command_are_ignored(bot_settings, db, fake_telegram):
    signal_id = seed_signal(db, utc_now())

    async def scenario():
        async with running_desk(bot_settings, db):
            await wait_announced(fake_telegram, signal_id)
            fake_telegram.push_update(
                message_update(f"/approve_{signal_id}", ALICE, ALICE, edited=True)
            )
            fake_telegram.push_update(
                message_update(f"/approve_{signal_id}@otherbot", ALICE, ALICE)
            )
            fake_telegram.push_update(message_update("/help", ALICE, ALICE))
            await reply_to(fake_telegram, ALICE, 2)

    asyncio.run(scenario())
    assert signal_row(db, signal_id)["status"] == "PENDING"
    assert texts_to(fake_telegram, ALICE)[1].startswith("<b>Commands</b>")


def test_expiry_marks_timeout_and_edits_the_buttons_away(bot_settings, db, fake_telegram):
    now = utc_now()
    signal_id = seed_signal(db, now, expires_at=to_db(now + timedelta(seconds=2)))

    async def scenario():
        async with running_desk(bot_settings, db):
            await wait_announced(fake_telegram, signal_id)
            return await fake_telegram.wait_for("editMessageText", timeout=10)

    edits = asyncio.run(scenario())
    row = signal_row(db, signal_id)
    assert (row["status"], row["approved_by"]) == ("EXPIRED", "timeout")
    assert (
        int(edits[0]["message_id"]) == row["telegram_message_id"] and "reply_markup" not in edits[0]
    )
    assert "Expired at" in edits[0]["text"]
