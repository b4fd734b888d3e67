"""Malformed input from the authorized trader: every case answered specifically, nothing changed,
nothing crashed.

Each case goes through the real bot (PTB over HTTP to the strict local Bot API). `python -m
tests.bot.test_malformed_input` prints the table of inputs and answers for the notes.
"""

from __future__ import annotations

import asyncio
import sys

from bot.jobs import JobTimes
from signaldesk.clock import utc_now
from tests.bot.harness import (
    ALICE,
    TOKEN,
    running_desk,
    seed_signal,
    seed_trade,
    signal_row,
    state_of,
)
from tests.fakes.telegram_server import FakeTelegram, callback_update, fixture, message_update

A, B = "{a}", "{b}"  # the two pending signals' ids, filled in per run
# (input kind, input, words the answer must contain)
CASES = [
    ("text", "/approve_9999999999999999999", "needs an id of 1 to 18 digits"),
    ("text", "/reject_9223372036854775808", "needs an id of 1 to 18 digits"),
    ("text", "/approve_²", "(got “²”)"),
    ("text", "/approve_①", "(got “①”)"),
    ("text", "/approve_１", "(got “１”)"),  # full-width digit of a real id
    ("text", "/approve_", "needs an id of 1 to 18 digits"),
    ("text", "/approve_-1", "(got “-1”)"),
    ("text", "/reject_1.0", "(got “1.0”)"),
    ("text", "/approve_<b>", "(got “&lt;b&gt;”)"),
    ("text", "/approve_999999999999999999", "does not exist; nothing changed"),
    ("text", f"/modify_{A} size=<b>", "size='&lt;b&gt;' is not a number"),
    ("text", f"/modify_{A} size=1e999", "must be between 0 and the proposed"),
    ("text", f"/modify_{A} size=NaN", "is not a finite number"),
    ("text", f"/modify_{A} stop=&amp;", "is not a number"),
    ("text", f"/modify_{A}", "nothing to change"),
    ("text", f"/modify_{A} " + "x" * 5000, "is not key=value"),
    ("text", "/close_abc", "needs an id of 1 to 18 digits"),
    ("text", "/close_42", "Trade #42 is not open"),
    ("text", "/close_1", "Trade #1 is not open"),  # closed long ago
    ("text", "/stop now", "Usage: /stop"),
    ("text", "/stop flatten twice", "Usage: /stop"),
    ("text", "/report 2026-13-45", "Usage: /report"),
    ("text", "/report <b>", "Usage: /report"),
    ("text", "/nosuchcommand <i>", "I do not know that command"),
    ("tap", "reject:9223372036854775808", "needs an id of 1 to 18 digits"),
    ("tap", "approve:99999999999999999999999", "needs an id of 1 to 18 digits"),
    ("tap", "approve:", "needs an id of 1 to 18 digits"),
    ("tap", "approve:²", "(got “²”)"),
    ("tap", f"approve:{B}", "it is not on that signal's card"),  # tapped on A's card
    ("tap", "approve:999999999999999999", "does not exist; nothing changed"),
    ("tap", None, "carries no data"),
    ("tap", "<b>bold</b>", "is not one of the desk's"),
    ("tap", "confirm:0123abcd", "has expired"),
    ("tap", "confirm:zz", "is not one of the desk's"),
]


def fill(text: str | None, ids: dict) -> str | None:
    """Put the run's signal ids into a case."""
    return None if text is None else text.replace(A, str(ids["a"])).replace(B, str(ids["b"]))


ANNOUNCE_ONLY = JobTimes(
    announce=0.05, sweep=3600, alerts=3600, health=3600, manage=3600, watch=3600, first=0.05
)


def seed(db) -> dict:
    """Seed two pending signals (A and B, announced by the bot) and one closed trade; return their
    ids."""
    now = utc_now()
    a = seed_signal(db, now)
    b = seed_signal(db, now, symbol="ETH_JPY")
    seed_trade(db, now, "100")
    return {"a": a, "b": b}


def update_of(kind: str, text: str | None, card: int) -> dict:
    """Return the update the trader's client would send (a tap sits on signal A's card)."""
    if kind == "text":
        return message_update(text, ALICE, ALICE)
    update = callback_update(text or "x", ALICE, ALICE, card)
    if text is None:
        del update["callback_query"]["data"]
    return update


async def answer_of(fake: FakeTelegram, kind: str, update: dict) -> str:
    """Wait for the bot's answer to one update (a tap's answer, or a message) and return its
    text."""
    if kind == "tap":
        query_id = update["callback_query"]["id"]
        found = await fake.wait_for(
            "answerCallbackQuery", where=lambda p: p["callback_query_id"] == query_id
        )
        return found[0].get("text", "")
    before = len(fake.calls_to("sendMessage"))
    fake.push_update(update)
    sent = await fake.wait_for("sendMessage", n=before + 1)
    return sent[before]["text"]


async def run_cases(settings, db, fake: FakeTelegram, ids: dict) -> list[tuple[str, str, str]]:
    """Send every case to a running desk (after it announced A and B); return (kind, input, answer)
    rows."""
    rows = []
    async with running_desk(settings, db, times=ANNOUNCE_ONLY):
        while any(signal_row(db, i)["telegram_message_id"] is None for i in ids.values()):
            await asyncio.sleep(0.02)
        card = signal_row(db, ids["a"])["telegram_message_id"]
        for kind, text, _ in CASES:
            update = update_of(kind, fill(text, ids), card)
            if kind == "tap":
                fake.push_update(update)
            rows.append((kind, fill(text, ids), await answer_of(fake, kind, update)))
    return rows


def test_every_malformed_input_is_answered_specifically_and_changes_nothing(
    bot_settings, db, fake_telegram
):
    fake = fake_telegram
    ids = seed(db)
    rows = None
    before = None

    async def scenario():
        nonlocal rows
        rows = await run_cases(bot_settings, db, fake, ids)

    before = state_of(db, announced=False)
    asyncio.run(scenario())
    for (kind, text, words), (_, _, answer) in zip(CASES, rows, strict=True):
        assert fill(words, ids) in answer, (kind, text, answer)
    everything = [p.get("text", "") for p in fake.calls_to("sendMessage")]
    assert not any("Something went wrong" in t for t in everything)
    assert fake.refused == []  # every answer was valid for Telegram (escaped HTML, limits)
    assert state_of(db, announced=False) == before
    assert signal_row(db, ids["a"])["status"] == signal_row(db, ids["b"])["status"] == "PENDING"


def main() -> None:
    """Print the table of malformed inputs and the bot's answers (Markdown)."""
    import tempfile
    from pathlib import Path

    from bot.decisions import plain
    from signaldesk.settings import load_settings
    from signaldesk.storage import apply_migrations, open_db

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "desk.sqlite3"
        db = open_db(path)
        apply_migrations(db)
        fake = FakeTelegram(TOKEN, fixture("getMe.json")["result"])
        env = {"SIGNALDESK_DB": str(path), "SIGNALDESK_LOG_DIR": str(Path(tmp) / "log"),
               "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_CHAT_ID": str(ALICE),
               "TELEGRAM_USER_IDS": str(ALICE), "TELEGRAM_API_URL": fake.url}  # fmt: skip
        settings = load_settings(environ=env, env_file=Path(tmp) / "no.env")
        ids = seed(db)
        before = state_of(db, announced=False)
        rows = asyncio.run(run_cases(settings, db, fake, ids))
        changed = state_of(db, announced=False) != before
        crashes = sum(
            "Something went wrong" in p.get("text", "") for p in fake.calls_to("sendMessage")
        )
        print("| input | via | answer |\n|---|---|---|")
        for kind, text, answer in rows:
            shown = (text or "(no data)")[:60].replace("|", "\\|")
            visible = plain(answer).replace(chr(10), " ")[:110]  # as the trader reads it
            print(f"| `{shown}` | {kind} | {visible} |")
        print(f"\n{len(rows)} inputs; 'Something went wrong': {crashes}; refused by Telegram: "
              f"{len(fake.refused)}; state changed: {changed}")  # fmt: skip
        fake.close()
        db.close()


if __name__ == "__main__":
    sys.exit(main())
