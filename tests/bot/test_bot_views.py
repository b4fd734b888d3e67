"""Message text: splitting under Telegram's limit, HTML escaping, durations and the confidence explanation."""

from __future__ import annotations

from datetime import timedelta

from bot.views import (
    StatusView,
    alert_text,
    confidence_meaning,
    duration,
    edge_line,
    split_message,
    status_text,
    why_lines,
)


def test_split_message_keeps_every_part_under_the_limit_and_loses_nothing():
    text = "\n".join(f"line {i} " + "x" * 50 for i in range(200))
    parts = split_message(text, limit=1000)
    assert max(map(len, parts)) <= 1000 and "\n".join(parts) == text


def test_split_message_cuts_an_overlong_line():
    assert [len(p) for p in split_message("y" * 2500, limit=1000)] == [1000, 1000, 500]


def test_split_message_does_not_cut_an_html_entity():
    parts = split_message("a" * 998 + "&amp;" + "b" * 10, limit=1000)
    assert parts == ["a" * 998, "&amp;" + "b" * 10]


def test_short_text_is_one_part():
    assert split_message("hello") == ["hello"]


def test_alert_text_escapes_html():
    assert alert_text("warning", "x<y>", "a & b") == "⚠️ <b>WARNING</b> x&lt;y&gt;\na &amp; b"


def test_why_lines_orders_contributions_by_size_and_escapes():
    features = {
        "top": [
            {"feature": "a", "value": 1.5, "contribution": 0.1},
            {"feature": "<b>", "value": 0.25, "contribution": -0.5},
        ]
    }
    lines = why_lines(
        features,
        [{"rule": "spread", "ok": True, "detail": "spread 4.30 bps vs max 5 bps"}, "plain"],
    )
    assert lines == [
        "• &lt;b&gt; = 0.25 (pushed the score -0.500)",
        "• a = 1.5 (pushed the score +0.100)",
        "• spread: spread 4.30 bps vs max 5 bps",
        "• plain",
    ]


def test_confidence_meaning_names_the_direction_and_horizon():
    assert confidence_meaning("SHORT", 0.003, timedelta(hours=1)) == (
        "calibrated probability that the price is lower in 1h 00m"
    )


def test_a_signal_without_a_measured_edge_says_so_on_its_card():
    no_edge = {
        "rule": "edge",
        "ok": True,
        "detail": "no measured edge after costs: decision support only",
    }
    measured = {**no_edge, "detail": "walk-forward edge after costs above zero with its interval"}
    assert edge_line([{"rule": "threshold", "ok": True, "detail": "x"}, no_edge]) == (
        "⚠️ no measured edge after costs: decision support only"
    )
    assert edge_line([measured]) is None and edge_line([]) is None


def test_duration_reads_like_a_person_would_say_it():
    assert [duration(timedelta(seconds=s)) for s in (5, 125, 3725, 90000)] == [
        "5s",
        "2m",
        "1h 02m",
        "1d 1h",
    ]


def test_status_shows_the_active_model_line():
    from datetime import UTC, datetime
    from decimal import Decimal

    now = datetime(2025, 6, 11, tzinfo=UTC)
    view = StatusView(
        "paper",
        False,
        "",
        None,
        0,
        None,
        Decimal(0),
        0,
        None,
        None,
        None,
        now,
        now,
        now,
        model_line="Model default-2: learned until 2024-12-31 (age 162d) · no measured edge after "
        "costs: decision support only",
    )
    assert "no measured edge after costs: decision support only" in status_text(view)
