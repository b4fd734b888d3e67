"""Destructive commands ask first: /close_<id> and /stop flatten act only on a Confirm tap on their
own message."""

from __future__ import annotations

import asyncio

from bot.confirm import Confirmations
from signaldesk.state import trading_state
from tests.bot.harness import ALICE, paper_exchange, running_desk, seed_market_signal, texts_to
from tests.fakes.telegram_server import callback_update, message_update


async def prompt(fake, command: str, starts: str) -> dict:
    """Send a command and return the confirm message (with its buttons) it answered with."""
    fake.push_update(message_update(command, ALICE, ALICE))
    found = await fake.wait_for(
        "sendMessage", where=lambda p: p["text"].startswith(starts) and p.get("reply_markup")
    )
    return found[-1]


async def tap(fake, data: str, message_id: int) -> str:
    """Tap a button on a message; return the tap's answer."""
    update = callback_update(data, ALICE, ALICE, message_id)
    fake.push_update(update)
    query_id = update["callback_query"]["id"]
    found = await fake.wait_for(
        "answerCallbackQuery", where=lambda p: p["callback_query_id"] == query_id
    )
    return found[0]["text"]


def message_id_of(fake, sent: dict) -> int:
    """Return the id the local Bot API gave the latest message to Alice (the prompt just sent)."""
    return max(mid for chat, mid in fake.messages if chat == ALICE)


def test_closing_a_trade_needs_a_confirm_tap_on_its_own_message(bot_settings, db, fake_telegram):
    exchange = paper_exchange(db, bot_settings)
    signal_id = seed_market_signal(db, exchange)

    async def scenario():
        async with running_desk(bot_settings, db, clock=exchange.feed.now, exchange=exchange):
            fake_telegram.push_update(message_update(f"/approve_{signal_id}", ALICE, ALICE))
            await fake_telegram.wait_for(
                "sendMessage", where=lambda p: "📤 Order placed" in p["text"]
            )
            asked = await prompt(fake_telegram, "/close_1", "Close trade #1")
            message_id = message_id_of(fake_telegram, asked)
            data = asked["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
            foreign = await tap(fake_telegram, data, message_id + 1000)
            confirmed = await tap(fake_telegram, data, message_id)
            again = await tap(fake_telegram, data, message_id)
            # the trade's status message under its card is edited to show how it ended
            await fake_telegram.wait_for(
                "editMessageText",
                where=lambda p: p["text"].startswith("<b>Trade #1") and ("🏁" in p["text"]
                                                                      or "❌" in p["text"]),
                timeout=10,
            )  # fmt: skip
            return asked, foreign, confirmed, again

    asked, foreign, confirmed, again = asyncio.run(scenario())
    assert asked["reply_markup"]["inline_keyboard"][0][1]["text"] == "Cancel"
    assert foreign == "This button is not on its confirmation message; nothing was done."
    assert confirmed == "Confirmed; sending the close orders…"
    assert again.startswith("This confirmation has expired")
    status = db.execute("SELECT status FROM trades WHERE id = 1").fetchone()[0]
    assert status in ("cancelled", "closed") and exchange.active_orders("BTC_JPY") == []


def test_stop_flatten_halts_at_once_and_closes_nothing_without_confirm(
    bot_settings, db, fake_telegram
):
    async def scenario():
        async with running_desk(bot_settings, db):
            asked = await prompt(fake_telegram, "/stop flatten", "Close all")
            message_id = message_id_of(fake_telegram, asked)
            cancel = asked["reply_markup"]["inline_keyboard"][0][1]["callback_data"]
            return await tap(fake_telegram, cancel, message_id)

    answer = asyncio.run(scenario())
    assert trading_state(db).halted
    assert answer == "Cancelled; nothing was closed."
    assert texts_to(fake_telegram, ALICE)[0] == (
        "⛔ Trading halted. Positions are kept unless you confirm closing them below."
    )


def test_a_confirmation_expires_and_is_answered_once():
    now = [100.0]
    book = Confirmations(60, clock=lambda: now[0])
    first, second = book.ask("close", "1", 7), book.ask("flatten", "1")
    first.message_id, second.message_id = 10, 11
    assert book.take(first.key, "confirm", 99) == ("foreign", None)
    assert book.take(first.key, "confirm", 10) == ("confirmed", first)
    assert book.take(first.key, "confirm", 10) == ("expired", None)  # answered once
    now[0] += 61
    assert book.take(second.key, "confirm", 11) == ("expired", None)
