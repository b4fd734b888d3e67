"""News blackout, health alerts and live-outcome arithmetic (pure functions; synthetic edge
cases)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from signaldesk.candles import Candle
from signaldesk.health import (
    api_failure_alert,
    firing_rate_alert,
    memory_alert,
    memory_used_fraction,
    price_move_alert,
)
from signaldesk.news import CalendarError, blackout_event, future_events, read_calendar
from signaldesk.outcomes import auc, went_its_way

T0 = datetime(2025, 6, 11, 12, 30, tzinfo=UTC)


def test_calendar_blackout_is_plus_minus_the_window(tmp_path):
    path = tmp_path / "news.csv"
    path.write_text(
        "time_utc,title\n# comment\n2025-06-11T12:30:00+00:00,US CPI\n2025-06-18T18:00:00+00:00,FOMC\n"
    )
    events = read_calendar(path)
    assert [e.title for e in events] == ["US CPI", "FOMC"]
    assert blackout_event(events, T0 - timedelta(minutes=30), 30).title == "US CPI"
    assert blackout_event(events, T0 + timedelta(minutes=31), 30) is None
    assert [e.title for e in future_events(events, T0)] == ["FOMC"]
    assert read_calendar(tmp_path / "missing.csv") == []


@pytest.mark.parametrize(
    "line, words", [("tomorrow,CPI", "not an ISO time"), ("2025-06-11T12:30:00,CPI", "time zone")]
)
def test_bad_calendar_line_is_named(tmp_path, line, words):
    path = tmp_path / "news.csv"
    path.write_text(f"time_utc,title\n{line}\n")
    with pytest.raises(CalendarError, match=words):
        read_calendar(path)


def _candle(open_, close, high=None, low=None):
    o, c = Decimal(open_), Decimal(close)
    return Candle(T0, o, Decimal(high or max(o, c)), Decimal(low or min(o, c)), c, Decimal(1))


def test_price_move_over_five_percent_in_one_candle_warns():
    assert price_move_alert("BTC_JPY", None, _candle("100", "104"), 0.05) is None
    alert = price_move_alert("BTC_JPY", None, _candle("100", "94"), 0.05)
    assert alert.severity == "warning" and "-6.0%" in alert.text and not alert.halts
    wick = price_move_alert("BTC_JPY", None, _candle("100", "101", high="107", low="99"), 0.05)
    assert wick is not None and "range 8.0%" in wick.text


def test_memory_levels(tmp_path):
    assert memory_alert(0.5, 0.8, 0.9, "k") is None
    assert memory_alert(0.85, 0.8, 0.9, "k").severity == "warning"
    critical = memory_alert(0.95, 0.8, 0.9, "k")
    assert critical.severity == "critical" and critical.halts
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       1000 kB\nMemFree:  100 kB\nMemAvailable:    250 kB\n")
    assert memory_used_fraction(meminfo) == pytest.approx(0.75)
    assert memory_used_fraction(tmp_path / "none") is None


def test_third_api_failure_halts():
    assert api_failure_alert(2, 3, "timeout") is None
    alert = api_failure_alert(3, 3, "timeout")
    assert alert.halts and alert.severity == "critical" and "3 consecutive" in alert.text


def test_auc_and_directions():
    assert auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
    assert auc([1, 0, 1, 0], [0.5, 0.5, 0.5, 0.5]) == 0.5
    assert auc([1, 1], [0.1, 0.2]) is None
    assert went_its_way("LONG", 0.0001) == 1 and went_its_way("LONG", -0.002) == 0
    assert went_its_way("SHORT", -0.0001) == 1 and went_its_way("SHORT", 0.01) == 0
    assert went_its_way("LONG", 0.0) == went_its_way("SHORT", 0.0) == 0


# 1.5 signals a day over 2 symbols: 1.5 / 192 of the candles; a 7-day window scores 1,344 candles.
EXPECTED, DAYS, SYMBOLS = 1.5 / 192, 7, 2


@pytest.mark.parametrize(
    "fired, scored, alerts",
    [
        (10, 1344, False),  # 1.4 a day: on target
        (4, 1344, False),  # 0.57 a day: inside x1/3
        (3, 1344, True),  # 0.43 a day: below 1.5 / 3
        (32, 1344, True),  # 4.6 a day: above 1.5 x 3
        (0, 1000, False),  # not a full window yet (a model promoted five days ago)
    ],
)
def test_firing_rate_alert_fires_outside_the_band_over_a_full_window(fired, scored, alerts):
    alert = firing_rate_alert(fired, scored, EXPECTED, DAYS, SYMBOLS, 3.0, "v2:2025-06-11")
    assert (alert is not None) is alerts
    if alert:
        assert alert.kind == "firing_rate" and "1.50 a day" in alert.text
        assert alert.dedupe_key == "firing_rate:v2:2025-06-11" and not alert.halts
