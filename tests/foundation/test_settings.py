"""Settings: design defaults, every invalid key named in one error, secrets never shown."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import time
from decimal import Decimal

import pytest

from signaldesk.logs import RedactSecrets, setup_logging
from signaldesk.settings import SettingsError, load_settings

TOKEN = "7000000001:AAplaceholderTOKENforTESTS_only"
SECRET = "placeholder-secret-for-tests"


def test_defaults_are_the_designs(make_settings):
    s = make_settings()
    assert s.mode == "paper"
    assert s.strategy.symbols == ("BTC_JPY", "ETH_JPY")
    assert (s.strategy.long_threshold, s.strategy.short_threshold, s.strategy.top_fraction) == (
        0.75,
        0.80,
        0.10,
    )
    assert s.strategy.max_spread_bps == Decimal("5") and s.strategy.min_volume_ratio == 0.80
    assert s.strategy.news_blackout_minutes == 30 and s.strategy.approval_window_minutes == 15
    r = s.risk
    assert (r.risk_per_trade, r.max_position_fraction) == (Decimal("0.02"), Decimal("0.10"))
    assert (r.daily_loss_limit, r.weekly_loss_limit, r.monthly_loss_limit) == (
        Decimal("0.03"),
        Decimal("0.07"),
        Decimal("0.15"),
    )
    assert (r.stop_atr_multiple, r.time_stop_hours, r.max_trades_per_day) == (Decimal("2"), 4, 3)
    assert s.report.time == time(9, 0) and s.report.timezone == "Asia/Tokyo"


def test_environment_and_config_file_are_read(make_settings, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(
        '[strategy]\nsymbols = ["BTC_JPY"]\nlong_threshold = 0.6\n[risk]\nmax_trades_per_day = 5\n'
        '[report]\ntime = "08:30"\n'
    )
    s = make_settings(
        SIGNALDESK_CONFIG=str(config),
        TELEGRAM_USER_IDS="111, 222",
        TELEGRAM_CHAT_ID="-100123",
        GMO_PUBLIC_URL="http://127.0.0.1:9999/public/",
    )
    assert s.strategy.symbols == ("BTC_JPY",) and s.strategy.long_threshold == 0.6
    assert s.strategy.short_threshold == 0.80
    assert s.risk.max_trades_per_day == 5 and s.report.time == time(8, 30)
    assert s.telegram_user_ids == (111, 222) and s.telegram_chat_id == -100123
    assert s.urls.gmo_public == "http://127.0.0.1:9999/public"


def test_every_invalid_setting_is_named_in_one_error(make_settings, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(
        '[strategy]\nsymbols = ["DOGE"]\nlong_threshold = 1.5\nshort_treshold = 0.8\n'
        '[risk]\nrisk_per_trade = "lots"\nmax_trades_per_day = -1\n[report]\ntimezone = "Mars/Base"\n'
        "[colour]\nx = 1\n"
    )
    with pytest.raises(SettingsError) as bad:
        make_settings(
            SIGNALDESK_CONFIG=str(config),
            SIGNALDESK_MODE="yolo",
            TELEGRAM_USER_IDS="111,@alice",
            TELEGRAM_CHAT_ID="mychat",
            BYBIT_WS_URL="http://example.invalid",
        )
    text = str(bad.value)
    for key in (
        "SIGNALDESK_MODE",
        "paper, live",
        "TELEGRAM_USER_IDS",
        "TELEGRAM_CHAT_ID",
        "BYBIT_WS_URL",
        "[strategy] symbols",
        "[strategy] long_threshold",
        "[strategy] short_treshold: unknown key",
        "[risk] risk_per_trade",
        "[risk] max_trades_per_day",
        "[report] timezone",
        "[colour]",
    ):
        assert key in text, key
    assert len(bad.value.problems) == 11


def test_live_mode_needs_keys(make_settings):
    with pytest.raises(SettingsError, match="GMO_API_KEY and GMO_API_SECRET"):
        make_settings(SIGNALDESK_MODE="live")


def test_missing_config_file_is_named(make_settings, tmp_path):
    with pytest.raises(SettingsError, match="file not found"):
        make_settings(SIGNALDESK_CONFIG=str(tmp_path / "nope.toml"))


def test_secrets_do_not_appear_in_repr(make_settings):
    s = make_settings(
        TELEGRAM_BOT_TOKEN=TOKEN, GMO_API_KEY="placeholder-key-1234", GMO_API_SECRET=SECRET
    )
    shown = repr(s) + str(s)
    assert TOKEN not in shown and SECRET not in shown and "placeholder-key-1234" not in shown
    assert s.telegram_bot_token.reveal() == TOKEN


def test_secrets_do_not_appear_in_captured_logs(make_settings, tmp_path, capsys):
    s = make_settings(TELEGRAM_BOT_TOKEN=TOKEN, GMO_API_SECRET=SECRET)
    setup_logging("test", tmp_path / "log", s.secrets())
    try:
        log = logging.getLogger("signaldesk.test")
        log.info("calling https://api.telegram.org/bot%s/getMe", TOKEN)
        log.warning("signing with %s", SECRET)
        log.info("settings are %r", s)
        logging.getLogger("httpx").info(
            "HTTP Request: POST https://api.telegram.org/bot%s/getUpdates", TOKEN
        )
        try:
            raise RuntimeError(f"failed for {SECRET}")
        except RuntimeError:
            log.exception("boom")
        for handler in logging.getLogger().handlers:
            handler.flush()
    finally:
        logging.getLogger().handlers.clear()
    out = capsys.readouterr().out + (tmp_path / "log" / "test.log").read_text()
    assert "getMe" in out and "signing with ***" in out and "boom" in out
    assert TOKEN not in out and SECRET not in out
    assert "getUpdates" not in out  # httpx request lines are silenced at INFO


def test_bot_token_shaped_urls_are_redacted_even_when_unknown():
    assert RedactSecrets(()).redact("GET /bot123:abc_DEF-ghi/getMe") == "GET /bot***/getMe"


def test_settings_are_frozen(make_settings):
    s = make_settings()
    with pytest.raises(AttributeError):
        s.mode = "live"
    assert load_settings  # the one builder is importable for every process


def test_config_example_documents_every_key_with_its_default(make_settings):
    from pathlib import Path

    from signaldesk.settings import SECTIONS

    example = Path(__file__).resolve().parents[2] / "config.example.toml"
    documented = make_settings(SIGNALDESK_CONFIG=str(example))
    defaults = make_settings()
    for name, cls in SECTIONS.items():
        keys = set(cls.__dataclass_fields__)
        text = example.read_text()
        assert all(f"\n{k} =" in text for k in keys), name
        section = getattr(documented, name)
        if (
            name == "strategy"
        ):  # the example's relative calendar path is read from the working directory
            assert section.news_calendar.name == defaults.strategy.news_calendar.name
            section = replace(section, news_calendar=defaults.strategy.news_calendar)
        assert section == getattr(defaults, name), name


def test_env_example_lists_every_environment_key():
    from pathlib import Path

    from signaldesk.settings import ENV_KEYS

    text = (Path(__file__).resolve().parents[2] / ".env.example").read_text()
    for key in ENV_KEYS:
        assert f"{key}=" in text, key
    for secret in ("GMO_API_KEY", "GMO_API_SECRET", "TELEGRAM_BOT_TOKEN"):
        assert f"\n{secret}=\n" in text, f"{secret} must be an empty placeholder"
