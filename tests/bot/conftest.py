"""Fixtures of the bot tests (defined in harness.py)."""

from tests.bot.harness import bot_settings, fake_telegram, gmo, gmo_exchange, live_settings  # noqa: F401
