"""Fixtures of the bot tests (defined in harness.py)."""

from tests.bot.harness import (  # noqa: F401
    bot_settings,
    fake_telegram,
    gmo,
    gmo_exchange,
    live_settings,
)
