"""Message text: splitting under Telegram's limit, HTML escaping, durations, money and the card's
plain words, in both languages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

from bot.card_view import feature_words, why_lines
from bot.trade_view import closed_text
from bot.views import StatusView, alert_text, edge_line, split_message, status_text
from signaldesk.i18n import words

EN, JA = words("en"), words("ja")


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
    assert alert_text(EN, "warning", "x<y>", "a & b") == "⚠️ <b>WARNING</b> x&lt;y&gt;\na &amp; b"
    assert alert_text(JA, "critical", "loss_limit", "a & b") == "🚨 <b>重大</b> 損失上限\na &amp; b"


def test_why_lines_are_plain_words_ordered_by_push_and_escaped():
    features = {
        "top": [
            {"feature": "rsi_14", "value": 0.25, "contribution": 0.1},
            {"feature": "z_4", "value": -1.73, "contribution": -0.5},
            {"feature": "<b>", "value": 0.25, "contribution": 0.01},
        ]
    }
    assert why_lines(EN, features) == [
        "• the price fell over the last hour: 1.7× a typical move — ▼ points to a fall",
        "• RSI(14) at 25: oversold — ▲ points to a rise",
        "• &lt;b&gt; = 0.25 — ▲ points to a rise",
    ]
    assert why_lines(JA, features)[0] == "• 直近1時間で下落: 通常の値動きの 1.7 倍 — ▼ 下落を示唆"


def test_every_feature_of_the_model_has_plain_words():
    from signaldesk.features import FEATURE_NAMES

    for name in FEATURE_NAMES:
        for w in (EN, JA):
            assert not feature_words(w, name, 0.5).startswith(f"{name} = "), (name, w.lang)


def test_money_follows_each_language():
    assert [EN.yen(Decimal(v), signed=True) for v in ("-5705", "673", "0")] == [
        "-¥5,705",
        "+¥673",
        "¥0",
    ]
    assert [JA.yen(Decimal(v), signed=True) for v in ("-5705", "673")] == ["-5,705円", "+673円"]
    assert JA.price(Decimal("107146.5")) == "107,146.5円"


def test_times_are_jst_in_both_languages():
    moment = datetime(2025, 6, 17, 15, 30, tzinfo=UTC)  # 00:30 JST the next day
    assert EN.when(moment) == "06-18 00:30 JST" and JA.when(moment) == "6月18日 00:30"
    assert EN.when(moment, moment) == "00:30 JST"


def test_a_signal_without_a_measured_edge_says_so_on_its_card():
    no_edge = {
        "rule": "edge",
        "ok": True,
        "detail": "no measured edge after costs: decision support only",
    }
    measured = {**no_edge, "detail": "walk-forward edge after costs above zero with its interval"}
    assert edge_line(EN, [{"rule": "threshold", "ok": True, "detail": "x"}, no_edge]) == (
        "⚠️ no measured edge after costs: decision support only"
    )
    assert edge_line(EN, [measured]) is None and edge_line(EN, []) is None


def test_durations_read_like_a_person_would_say_them():
    assert [EN.duration(timedelta(seconds=s)) for s in (5, 125, 3725, 90000)] == [
        "5s",
        "2m",
        "1h 02m",
        "1d 1h",
    ]
    assert JA.duration(timedelta(seconds=3725)) == "1時間02分"


def test_status_shows_the_active_model_line():
    now = datetime(2025, 6, 11, tzinfo=UTC)
    view = StatusView(
        "paper", False, "", None, 0, None, Decimal(0), 0, None, None, None, now, now, now,
        model_line="Model default-2: learned until 2024-12-31 · no measured edge after costs",
    )  # fmt: skip
    assert "no measured edge after costs" in status_text(EN, view)


def test_the_closing_reply_names_leverage_fees_in_both_languages():
    start = datetime(2025, 6, 29, 1, tzinfo=UTC)
    trade = SimpleNamespace(id=3, symbol="BTC_JPY", direction="SHORT", pnl_jpy=Decimal("146"),
                            pnl_pct=Decimal("0.2"), exit_reason="time_stop",
                            exit_price=Decimal("15619032.15"), fees_jpy=Decimal("40"),
                            entry_time=start, exit_time=start + timedelta(hours=4))  # fmt: skip
    end = start + timedelta(hours=4)
    en = closed_text(words("en"), trade, end, Decimal("40")).split("\n")
    ja = closed_text(words("ja"), trade, end, Decimal("40")).split("\n")
    assert en[1:] == [
        "🟢 Closed by time stop: exit ¥15,619,032.15 · P/L +¥146 (+0.20%)",
        "Fees ¥40 (leverage ¥40) · held 4h 00m · closed 14:00 JST",
    ]
    assert ja[1:] == [
        "🟢 時間決済で決済: 決済価格 15,619,032.15円 · 損益 +146円（+0.20%）",
        "手数料 40円（うちレバレッジ手数料 40円）· 保有時間 4時間00分 · 決済 14:00",
    ]
    assert "leverage" not in closed_text(words("en"), trade, end).split("\n")[2]
