"""The desk's defaults for the trader's Telegram: Japanese, signals offered only within the active
hours (08:00-23:00 JST), everything silent in the quiet hours but critical alerts, and how each kind
of message reaches the trader (on / silent / off), shown by /settings."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from bot import notify
from signaldesk.i18n import words
from signaldesk.settings import SettingsError, within
from tests.bot.harness import (
    ALICE,
    TOKEN,
    alice_settings,
    fixed_clock,
    running_desk,
    seed_signal,
    signal_row,
    texts_to,
)
from tests.fakes.telegram_server import message_update

NIGHT = datetime(2026, 3, 9, 17, 30, tzinfo=UTC)  # 02:30 JST
NOON = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)  # 12:00 JST


@pytest.fixture
def desk_defaults(make_settings, fake_telegram, db_path, tmp_path):
    """Return settings with the desk's own [telegram] and [notify] defaults (an empty config)."""
    config = tmp_path / "empty.toml"
    config.write_text("", encoding="utf-8")
    return alice_settings(make_settings, fake_telegram, db_path, config)


def test_hours_may_cross_midnight_and_cover_the_whole_day():
    assert within("23:00-08:00", 23 * 60) and within("23:00-08:00", 7 * 60 + 59)
    assert not within("23:00-08:00", 8 * 60) and not within("23:00-08:00", 12 * 60)
    assert all(within("00:00-24:00", m) for m in (0, 720, 1439))
    assert not within("", 0)


def test_defaults_ring_for_signals_and_exits_by_day_and_only_for_alerts_at_night(desk_defaults):
    s = desk_defaults
    assert (s.telegram.language, s.telegram.active_hours) == ("ja", "08:00-23:00")
    by_day = {e: notify.level(s, e, NOON) for e in ("signal", "entry", "fill", "exit", "alert")}
    assert by_day == {"signal": "on", "entry": "silent", "fill": "silent", "exit": "on",
                      "alert": "on"}  # fmt: skip
    at_night = {e: notify.level(s, e, NIGHT) for e in ("signal", "exit", "report", "alert")}
    assert at_night == {"signal": "silent", "exit": "silent", "report": "silent", "alert": "on"}
    assert notify.loudest(s, ("entry", "fill", "exit"), NOON) == "on"
    assert notify.in_active_hours(s, NOON) and not notify.in_active_hours(s, NIGHT)


@pytest.mark.parametrize(
    ("section", "text"),
    [
        ('[notify]\nalert = "silent"\n', "critical alerts always ring"),
        ('[notify]\nsignal = "off"\n', "a signal must reach you"),
        ('[telegram]\nactive_hours = "8-23"\n', "08:00-23:00"),
        ('[telegram]\nlanguage = "fr"\n', "ja or en"),
    ],
)
def test_a_bad_setting_is_refused_with_what_is_allowed(make_settings, tmp_path, section, text):
    config = tmp_path / "bad.toml"
    config.write_text(section, encoding="utf-8")
    with pytest.raises(SettingsError, match=text):
        make_settings(SIGNALDESK_CONFIG=str(config))


def announcements(fake) -> list[dict]:
    """Return the messages carrying Approve buttons."""
    return [p for p in fake.calls_to("sendMessage") if "approve:" in str(p.get("reply_markup"))]


def test_a_signal_at_night_is_held_not_announced(desk_defaults, db, fake_telegram):
    signal_id = seed_signal(db, NIGHT)

    async def scenario():
        async with running_desk(desk_defaults, db, clock=fixed_clock(NIGHT)):
            for _ in range(100):
                if signal_row(db, signal_id)["status"] != "PENDING":
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)  # more announce rounds

    asyncio.run(scenario())
    row = signal_row(db, signal_id)
    assert (row["status"], row["approved_by"], row["telegram_message_id"]) == ("EXPIRED", "held",
                                                                               None)  # fmt: skip
    assert "outside the active hours 08:00-23:00 JST" in row["decision_note"]
    assert announcements(fake_telegram) == []


def test_a_signal_by_day_is_announced_in_japanese_with_sound(desk_defaults, db, fake_telegram):
    signal_id = seed_signal(db, NOON)

    async def scenario():
        async with running_desk(desk_defaults, db, clock=fixed_clock(NOON)):
            await fake_telegram.wait_for("sendMessage", where=lambda p: p in announcements(
                fake_telegram))  # fmt: skip

    asyncio.run(scenario())
    [card] = announcements(fake_telegram)
    assert card.get("disable_notification") in (None, False, "false")  # form-encoded by PTB
    buttons = [b["text"] for b in card["reply_markup"]["inline_keyboard"][0]]
    assert buttons == [words("ja").plain("Approve"), words("ja").plain("Reject")]
    assert buttons != ["Approve", "Reject"]
    assert "JST" in card["text"] or "時" in card["text"]
    assert signal_row(db, signal_id)["status"] == "PENDING"


def test_settings_show_the_hours_and_each_level_in_japanese(desk_defaults, db, fake_telegram):
    async def scenario():
        async with running_desk(desk_defaults, db, clock=fixed_clock(NOON)):
            fake_telegram.push_update(message_update("/settings", ALICE, ALICE))
            await fake_telegram.wait_for("sendMessage", where=lambda p: "08:00-23:00" in p["text"])
            fake_telegram.push_update(message_update("/show_config", ALICE, ALICE))
            await fake_telegram.wait_for("sendMessage", where=lambda p: "[notify]" in p["text"])

    asyncio.run(scenario())
    shown = "\n".join(texts_to(fake_telegram, ALICE))
    w = words("ja")
    assert w.t("Quiet hours: {hours} JST (everything silent but critical alerts)",
               hours="23:00-08:00") in shown  # fmt: skip
    assert f"{w.t('critical alerts')}: {w.t('🔔 with sound')}" in shown
    assert f"{w.t('fills')}: {w.t('🔕 silent')}" in shown
    assert TOKEN not in shown and TOKEN.split(":")[1] not in shown
