"""The fake Telegram Bot API for tests: the product's local Bot API server plus recorded payloads
and update builders."""

from __future__ import annotations

import json
import time
from pathlib import Path

from jobs.demo.telegram_api import LocalBotApi as FakeTelegram  # noqa: F401 — the tests' name for the local server

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "telegram"


def fixture(name: str) -> dict:
    """Return one recorded Bot API payload from tests/fixtures/telegram."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def message_update(text: str, user_id: int, chat_id: int, edited: bool = False) -> dict:
    """Return an update carrying a text message (a command gets its bot_command entity), as Telegram
    sends it."""
    message = json.loads(json.dumps(fixture("getUpdates_command.json")["result"][0]["message"]))
    message["from"]["id"], message["chat"]["id"] = user_id, chat_id
    message["text"], message["date"] = text, int(time.time())
    command = text.split()[0] if text.startswith("/") else ""
    message["entities"] = (
        [{"offset": 0, "length": len(command), "type": "bot_command"}] if command else []
    )
    if edited:
        message["edit_date"] = int(time.time())
    return {"edited_message" if edited else "message": message}


def callback_update(data: str, user_id: int, chat_id: int, message_id: int) -> dict:
    """Return an update carrying a button tap on one of the bot's messages."""
    query = json.loads(
        json.dumps(fixture("getUpdates_callback.json")["result"][0]["callback_query"])
    )
    query["from"]["id"], query["message"]["chat"]["id"] = user_id, chat_id
    query["message"]["message_id"], query["data"] = message_id, data
    query["id"] = f"cbq-{time.monotonic_ns()}"
    return {"callback_query": query}
