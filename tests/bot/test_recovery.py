"""Start-up repairs every card from the signal rows, and an update is confirmed only after it was
processed."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from bot.jobs import JobTimes
from signaldesk.clock import to_db, utc_now
from signaldesk.storage import open_db
from tests.bot.harness import (
    ALICE,
    IDLE,
    paper_exchange,
    running_desk,
    seed_market_signal,
    seed_signal,
    signal_row,
    texts_to,
)
from tests.fakes.telegram_server import callback_update

TELLING = JobTimes(
    announce=0.1, sweep=3600, alerts=3600, health=3600, manage=3600, watch=0.1, first=0.05
)


def card(fake, signal_id: int) -> int:
    """Post a card for a signal as the bot did before the restart; return its message id."""
    markup = {"inline_keyboard": [[{"text": "Approve", "callback_data": f"approve:{signal_id}"}]]}
    return fake.post_message(ALICE, f"Signal #{signal_id}", markup)


def edits_of(fake, message_id: int) -> list[dict]:
    """Return the edits of one message."""
    return [p for p in fake.calls_to("editMessageText") if int(p["message_id"]) == message_id]


def test_an_approval_cut_off_before_its_order_is_executed_at_start_up_and_told(
    bot_settings, db, fake_telegram
):
    exchange = paper_exchange(db, bot_settings)
    now = exchange.feed.now()
    signal_id = seed_market_signal(
        db, exchange, status="APPROVED", approved_by=str(ALICE), decided_at=to_db(now)
    )
    message_id = card(fake_telegram, signal_id)
    db.execute(
        "UPDATE signals SET telegram_chat_id = ?, telegram_message_id = ?, announced_at = ? "
        "WHERE id = ?",
        [ALICE, message_id, to_db(now), signal_id],
    )
    db.conn.commit()

    async def scenario():
        async with running_desk(
            bot_settings, db, times=TELLING, clock=exchange.feed.now, exchange=exchange
        ):
            await fake_telegram.wait_for(
                "sendMessage", where=lambda p: "📤 Order placed" in p["text"]
            )

    asyncio.run(scenario())
    row = signal_row(db, signal_id)
    assert (row["status"], row["told_status"]) == ("EXECUTED", "EXECUTED")
    assert len(exchange.active_orders("BTC_JPY")) == 1
    final = edits_of(fake_telegram, message_id)[-1]  # the card, then the status under it
    assert "the order follows" in final["text"] and "reply_markup" not in final
    status = fake_telegram.calls_to("sendMessage")[-1]
    assert status["reply_parameters"]["message_id"] == message_id
    assert fake_telegram.refused == []


def test_an_approval_whose_window_closed_during_the_outage_fails_with_the_reason(
    bot_settings, db, fake_telegram
):
    exchange = paper_exchange(db, bot_settings)
    now = exchange.feed.now()
    signal_id = seed_market_signal(
        db, exchange, status="APPROVED", approved_by=str(ALICE),
        decided_at=to_db(now - timedelta(minutes=20)),
        expires_at=to_db(now - timedelta(minutes=5)),
    )  # fmt: skip

    async def scenario():
        async with running_desk(
            bot_settings, db, times=TELLING, clock=exchange.feed.now, exchange=exchange
        ):
            await fake_telegram.wait_for("sendMessage", where=lambda p: "failed" in p["text"])

    asyncio.run(scenario())
    row = signal_row(db, signal_id)
    assert (row["status"], row["told_status"]) == ("FAILED", "FAILED")
    assert "approval window has closed" in row["decision_note"]
    assert "no order was sent" in texts_to(fake_telegram, ALICE)[-1]
    assert exchange.active_orders("BTC_JPY") == []


def test_an_outcome_the_trader_never_heard_is_told_once_after_the_restart(
    bot_settings, db, fake_telegram
):
    now = utc_now()
    signal_id = seed_signal(
        db, now, status="EXECUTED", approved_by=str(ALICE), decided_at=to_db(now),
        decision_note="trade #7", told_status=None,
    )  # fmt: skip
    message_id = card(fake_telegram, signal_id)
    db.execute(
        "UPDATE signals SET telegram_chat_id = ?, telegram_message_id = ? WHERE id = ?",
        [ALICE, message_id, signal_id],
    )
    db.conn.commit()

    async def scenario():
        async with running_desk(bot_settings, db, times=TELLING):
            await fake_telegram.wait_for("editMessageText")
            await asyncio.sleep(0.5)  # several watch rounds: told once, not again

    asyncio.run(scenario())
    assert signal_row(db, signal_id)["told_status"] == "EXECUTED"
    # the card tells the approval; trade #7 has no rows, so there is no status message to draw
    (edit,) = edits_of(fake_telegram, message_id)
    assert f"✅ Approved by {ALICE} at" in edit["text"] and texts_to(fake_telegram, ALICE) == []


def test_pending_cards_are_re_rendered_and_a_cut_off_announcement_is_posted_again(
    bot_settings, db, fake_telegram
):
    now = utc_now()
    shown = seed_signal(db, now, telegram_chat_id=ALICE, announced_at=to_db(now))
    cut_off = seed_signal(db, now, symbol="ETH_JPY", announced_at=to_db(now))  # claimed, no message
    message_id = card(fake_telegram, shown)
    db.execute("UPDATE signals SET telegram_message_id = ? WHERE id = ?", [message_id, shown])
    db.conn.commit()

    async def scenario():
        async with running_desk(bot_settings, db, times=TELLING):
            await fake_telegram.wait_for("editMessageText")
            await fake_telegram.wait_for("sendMessage")

    asyncio.run(scenario())
    edit = edits_of(fake_telegram, message_id)[0]
    assert "⏳ Decide by" in edit["text"]
    assert edit["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == f"approve:{shown}"
    assert signal_row(db, cut_off)["telegram_message_id"] is not None


def test_a_tap_is_answered_in_time_and_confirmed_only_after_its_decision_is_written(
    bot_settings, db, db_path, fake_telegram
):
    now = utc_now()
    signal_id = seed_signal(db, now, telegram_chat_id=ALICE)
    message_id = card(fake_telegram, signal_id)
    db.execute("UPDATE signals SET telegram_message_id = ? WHERE id = ?", [message_id, signal_id])
    db.conn.commit()
    holder = open_db(
        db_path
    )  # another process holding the write lock (a long backup, a slow cycle)

    async def scenario():
        async with running_desk(bot_settings, db, times=IDLE):
            await fake_telegram.wait_for("getUpdates")
            holder.execute("BEGIN IMMEDIATE")
            pushed = time.monotonic()
            fake_telegram.push_update(
                callback_update(f"approve:{signal_id}", ALICE, ALICE, message_id)
            )
            answer = await fake_telegram.wait_for("answerCallbackQuery")
            answered = time.monotonic() - pushed
            await asyncio.sleep(1.0)
            held = (fake_telegram.pending_updates(), signal_row(db, signal_id)["status"])
            holder.execute("ROLLBACK")
            await fake_telegram.wait_for("sendMessage", where=lambda p: "approved" in p["text"])
            for _ in range(100):
                if fake_telegram.pending_updates() == 0:
                    break
                await asyncio.sleep(0.05)
            return answer[0]["text"], answered, held, fake_telegram.pending_updates()

    try:
        text, answered, held, after = asyncio.run(scenario())
    finally:
        holder.close()
    assert answered < 1.0 and text == "Working on it; the result follows in the chat."
    assert held == (1, "PENDING")  # delivered to the bot, not confirmed while its decision waited
    assert after == 0 and signal_row(db, signal_id)["status"] != "PENDING"  # decided (then blocked:
    # this signal's plan is far from the paper market)


def test_a_stop_owed_to_the_exchange_is_finished_once_and_forgotten_after_resume(bot_settings, db):
    from bot.recovery import finish_pending_stop, forgive_stop, owe_stop

    exchange, now = paper_exchange(db, bot_settings), utc_now()
    owe_stop(db, False, "111", now)
    owe_stop(db, True, "111", now)  # a confirmed flatten is not downgraded by a later plain /stop
    owe_stop(db, False, "111", now)
    report, flatten = finish_pending_stop(db, exchange, bot_settings, now)
    assert (flatten, report.halted_now) == (True, True)
    assert finish_pending_stop(db, exchange, bot_settings, now) is None  # done once
    owe_stop(db, False, "111", now)
    forgive_stop(db, now, "111")  # /resume: the owed cancellations must not come later
    assert finish_pending_stop(db, exchange, bot_settings, now) is None
