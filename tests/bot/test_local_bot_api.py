"""The local Bot API refuses what Telegram refuses, through the real python-telegram-bot stack."""

from __future__ import annotations

import asyncio

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest

from jobs.demo.telegram_rules import markup_refusal, text_refusal
from tests.bot.harness import ALICE, TOKEN
from tests.fakes.telegram_server import FakeTelegram, callback_update, fixture


@pytest.mark.parametrize(
    "text",
    [
        "<b>Signal #1</b> &lt;fast&gt; &amp; &quot;calm&quot; &#128512;",
        '<a href="https://example.com">link</a> <span class="tg-spoiler">s</span> '
        "<tg-spoiler>t</tg-spoiler>",
        '<pre><code class="language-python">x = 1</code></pre> '
        "<blockquote expandable>q</blockquote>",
        "<i>i</i><em>e</em><u>u</u><ins>n</ins>"
        "<s>s</s><strike>k</strike><del>d</del><strong>g</strong>",
        "x" * 4096,
    ],
)
def test_telegram_accepts_its_own_html(text):
    assert text_refusal(text, "HTML") is None


@pytest.mark.parametrize(
    "text, words",
    [
        ("size='<b>' is not a number", "Can't find end tag"),
        ("1 < 2", "Unclosed start tag"),
        ("2 > 1", "Unexpected end tag"),
        ("fish & chips", "Character entity expected"),
        ("<div>x</div>", 'Unsupported start tag "div"'),
        ("<b>x</i>", "Unmatched end tag"),
        ("<span>x</span>", 'must have attribute "class"'),
        ('<span class="red">x</span>', 'must have class "tg-spoiler"'),
        ("<a>x</a>", 'must have attribute "href"'),
        ('<b class="x">y</b>', 'Unsupported attribute "class"'),
        ("<b></b>", "message text is empty"),
        ("x" * 4097, "message is too long"),
        ("😀" * 2049, "message is too long"),  # 4,098 UTF-16 code units
    ],
)
def test_telegram_refuses_broken_html_and_overlong_text(text, words):
    assert words in text_refusal(text, "HTML")


def test_plain_text_is_not_parsed_but_still_limited():
    assert text_refusal("1 < 2 & 3", None) is None
    assert "too long" in text_refusal("x" * 1025, None, limit=1024)


@pytest.mark.parametrize(
    "data, refused", [("approve:1", False), ("x" * 64, False), ("x" * 65, True), ("", True)]
)
def test_callback_data_must_be_1_to_64_bytes(data, refused):
    markup = {"inline_keyboard": [[{"text": "Approve", "callback_data": data}]]}
    assert (markup_refusal(markup) == "Bad Request: BUTTON_DATA_INVALID") is refused


def run_bot(fake: FakeTelegram, scenario):
    """Run `scenario(bot)` with a PTB Bot talking to the fake; return its result."""

    async def main():
        async with Bot(TOKEN, base_url=f"{fake.url}/bot") as bot:
            return await scenario(bot)

    return asyncio.run(main())


def test_ptb_gets_bad_request_for_markup_telegram_cannot_parse():
    fake = FakeTelegram(TOKEN, fixture("getMe.json")["result"])

    async def scenario(bot):
        with pytest.raises(BadRequest, match="(?i)can't parse entities"):
            await bot.send_message(ALICE, "size='<b>'", parse_mode=ParseMode.HTML)
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="y" * 65)]])
        with pytest.raises(BadRequest, match="(?i)button_data_invalid"):
            await bot.send_message(ALICE, "ok", reply_markup=keyboard)
        return await bot.send_message(ALICE, "<b>ok</b>", parse_mode=ParseMode.HTML)

    try:
        sent = run_bot(fake, scenario)
    finally:
        fake.close()
    assert sent.text == "ok" and len(fake.refused) == 2


def test_edits_need_an_existing_message_and_a_change():
    fake = FakeTelegram(TOKEN, fixture("getMe.json")["result"])

    async def scenario(bot):
        sent = await bot.send_message(ALICE, "card")
        await bot.edit_message_text("card, decided", chat_id=ALICE, message_id=sent.message_id)
        with pytest.raises(BadRequest, match="(?i)not modified"):
            await bot.edit_message_text("card, decided", chat_id=ALICE, message_id=sent.message_id)
        with pytest.raises(BadRequest, match="(?i)message to edit not found"):
            await bot.edit_message_text("x", chat_id=ALICE, message_id=sent.message_id + 99)

    try:
        run_bot(fake, scenario)
    finally:
        fake.close()


def test_a_callback_query_is_answered_once_and_only_in_time():
    fake = FakeTelegram(TOKEN, fixture("getMe.json")["result"], answer_window=0.3)
    first = callback_update("approve:1", ALICE, ALICE, 1)
    late = callback_update("approve:2", ALICE, ALICE, 1)
    fake.push_update(first)
    fake.push_update(late)

    async def scenario(bot):
        await bot.answer_callback_query(first["callback_query"]["id"], "done")
        with pytest.raises(BadRequest, match="(?i)query is too old"):
            await bot.answer_callback_query(first["callback_query"]["id"], "again")
        with pytest.raises(BadRequest, match="(?i)query is too old"):
            await bot.answer_callback_query("never-delivered")
        await asyncio.sleep(0.4)
        with pytest.raises(BadRequest, match="(?i)query is too old"):
            await bot.answer_callback_query(late["callback_query"]["id"])

    try:
        run_bot(fake, scenario)
    finally:
        fake.close()
    latencies = fake.answer_latencies()
    assert latencies[first["callback_query"]["id"]] < 0.3
    assert latencies[late["callback_query"]["id"]] is None


def test_updates_stay_queued_until_a_higher_offset_confirms_them():
    fake = FakeTelegram(TOKEN, fixture("getMe.json")["result"])
    first = fake.push_update(
        {"message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}}}
    )

    async def scenario(bot):
        again = [u.update_id for u in await bot.get_updates(offset=0, timeout=0)]
        still = [u.update_id for u in await bot.get_updates(offset=0, timeout=0)]
        await bot.get_updates(offset=first + 1, timeout=0)
        return again, still

    try:
        again, still = run_bot(fake, scenario)
    finally:
        fake.close()
    assert again == still == [first] and fake.pending_updates() == 0
