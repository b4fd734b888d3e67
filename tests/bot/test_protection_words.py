"""Issue 14's texts for the trader (protection alerts, halts, adopted positions, thread notices,
protection lines, refusals) in both languages, rendered from the data execution and risk queue."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

from bot.card_view import calendar_unchecked
from bot.report_view import protection_lines
from bot.trade_view import alert_body, notice_text
from bot.views import alert_text, refusal_words
from signaldesk.execution.notices import Notice
from signaldesk.i18n import words
from signaldesk.outbox import queue_alert, unsent

EN, JA = words("en"), words("ja")
NOW = datetime(2025, 6, 23, 1, 0, tzinfo=UTC)  # 10:00 JST


def queued(db, notice: Notice, kind: str = "protection") -> SimpleNamespace:
    """Queue a notice as an outbox alert and read it back as the bot does."""
    assert queue_alert(db, "critical", kind, notice, NOW)
    (alert,) = unsent(db)
    return alert


def test_protection_alert_goes_through_the_outbox_as_data_and_reads_in_japanese(db):
    notice = Notice("Protection not confirmed ... (English)", "unprotected",
                    trades=[[1, "LONG", "BTC_JPY"]], error="GET /v1/orders: HTTP 503")  # fmt: skip
    alert = queued(db, notice)
    assert (
        alert.text == "Protection not confirmed ... (English)"
        and alert.notice["kind"] == "unprotected"
    )
    ja = alert_text(JA, alert.severity, alert.kind, alert_body(JA, alert))
    assert ja.startswith(
        "🚨 <b>重大</b> 建玉の保護\n保有中の取引 #1 ロング（買い） BTC_JPY の保護を確認できません"
    )
    assert "取引所に設置済みの損切り（逆指値）とロスカットは引き続き有効です" in ja
    en = alert_body(EN, alert)
    assert en.startswith(
        "Protection not confirmed for open trade(s) #1 LONG (buy) BTC_JPY: the exchange"
    )


def test_halts_and_pause_keep_their_figures_through_the_outbox(db):
    halt = Notice("x", "drawdown_halt", equity=Decimal("799000"), fall=Decimal("0.2012"),
                  peak=Decimal("1000000"), limit=Decimal("0.20"))  # fmt: skip
    alert = queued(db, halt, "max_drawdown")
    assert alert_body(JA, alert) == (
        "取引を停止しました: 最大ドローダウンに達しました。資産 799,000円 はピーク 1,000,000円 から 20.1% "
        "下落しています（上限 20%）。保有中の建玉の損切りはそのまま残ります。/resume で再開できます。"
    )
    assert "Equity ¥799,000 is 20.1% below its peak of ¥1,000,000 (limit 20%)" in alert_body(
        EN, alert
    )
    steps = Notice("y", "management_halt", count=3, error="GET /v1/orders: HTTP 503")
    assert notice_text(JA, steps).startswith(
        "取引を停止しました: 取引所との通信に失敗した管理処理が 3 回続きました"
    )
    until = datetime(2025, 6, 24, 1, 0, tzinfo=UTC)
    pause = Notice("z", "loss_streak_pause", losses=5, last_loss_at=NOW, paused_until=until)
    assert notice_text(JA, pause) == (
        "5 回連続で損失となりました（最後の決済 6月23日 10:00）: 6月24日 10:00 まで新規取引を停止します。"
    )


def test_an_adopted_position_is_a_critical_alert_in_the_traders_language(db):
    notice = Notice("x", "adopted", 7, position_id=1234, side="BUY", size=Decimal("0.01"),
                    symbol="BTC_JPY", price=Decimal("15000000"), closing=False,
                    stop=Decimal("14700000"))  # fmt: skip
    alert = queued(db, notice, "adopted")
    ja = alert_text(JA, alert.severity, alert.kind, alert_body(JA, alert))
    assert "デスクが建てていない建玉" in ja and "取引 #7 として引き継ぎ" in ja
    assert "損切り（逆指値） 14,700,000円 で保護しました" in ja
    assert "adopted as trade #7, protected with a stop at ¥14,700,000" in alert_body(EN, alert)


def test_thread_notices_of_issue_14_in_both_languages():
    order = dict(purpose="stop", side="SELL", size=Decimal("0.01"), symbol="BTC_JPY",
                 price=Decimal("14900000"), time_in_force=None, execution_type="STOP")  # fmt: skip
    withdrawn = Notice("x", "withdrawn", 3, reason="freeing size for the take_profit_1", **order)
    assert notice_text(JA, withdrawn) == (
        "取引 #3: デスクが損切り注文を取り消しました: 第1利確のため決済可能数量を空ける。"
    )
    assert "withdrawn" not in notice_text(EN, withdrawn)  # the sentence is the bot's own
    assert notice_text(EN, withdrawn).endswith("freeing size for the take-profit 1.")
    user = Notice("x", "ended", 3, status="CANCELED", cancel_type="USER", **order)
    assert "デスク以外から取り消されました" in notice_text(JA, user)
    losscut = Notice("x", "closed_outside", 3, position_id=55, order_id=99, losscut=True)
    assert (
        notice_text(JA, losscut)
        == "取引 #3: GMOコインのロスカットにより建玉 55 が決済されました（注文 99）。"
    )
    trailed = Notice("x", "trailed", 3, price=Decimal("15100000"))
    assert (
        notice_text(JA, trailed)
        == "取引 #3: トレーリングストップで損切りを 15,100,000円 に移動しました。"
    )
    assert (
        trailed.event == "stop_move" and withdrawn.event == "entry" and losscut.event == "warning"
    )


def test_protection_lines_in_both_languages():
    snap = SimpleNamespace(equity_jpy=Decimal("1000000"), committed_jpy=Decimal("93900"),
                           streak=SimpleNamespace(losses=2, paused_until=None),
                           paused=lambda: False, equity_peak_jpy=Decimal("1003205"),
                           drawdown=Decimal("0.0032"))  # fmt: skip
    risk = SimpleNamespace(max_position_fraction=Decimal("0.10"), max_trades_per_symbol=1,
                           max_consecutive_losses=5, max_drawdown=Decimal("0.20"),
                           trailing_stop_r=Decimal("0"))  # fmt: skip
    assert protection_lines(JA, snap, risk) == [
        "建玉金額: 93,900円 / 上限 100,000円（資産の10%）· 1銘柄あたり最大 1 件",
        "連敗: 2 / 5 回",
        "ドローダウン: 資産のピーク 1,003,205円 から 0.3% 下落（20% で取引停止）",
        "第1利確後のトレーリングストップ: オフ",
    ]
    assert protection_lines(EN, snap, risk)[0] == (
        "Exposure: ¥93,900 of ¥100,000 (10% of equity), at most 1 trade per symbol"
    )


def test_issue_14_refusals_and_the_paper_calendar_warning_are_said_in_japanese():
    held = "ETH_JPY already has open trade #1 LONG (at most 1 per symbol)."
    assert (
        refusal_words(JA, held)
        == "ETH_JPY には保有中の取引 #1 LONG があります（1銘柄あたり最大 1 件）"
    )
    over = ("Position value above the limit: this order is worth 120,000 JPY at its price 310,000; "
            "together 120,000 JPY against 100,000 JPY (10% of equity).")  # fmt: skip
    assert refusal_words(JA, over) == (
        "建玉金額が上限を超えます: 保有中の取引と合わせて 120,000 円、上限 100,000 円（資産の 10%）"
    )
    assert refusal_words(JA, "something else <b>") == "something else &lt;b&gt;"
    news = {
        "rule": "news",
        "ok": True,
        "detail": "no news calendar at x.csv: the blackout cannot be checked "
        "(warning only in paper mode)",
    }
    assert calendar_unchecked([news]) and not calendar_unchecked([{**news, "ok": False}])


def test_alerts_queued_where_they_happen_are_not_told_twice_and_critical_ones_ring_at_night(
    make_settings, tmp_path
):
    from bot import notify
    from signaldesk.execution.notices import QUEUED

    config = tmp_path / "empty.toml"
    config.write_text("", encoding="utf-8")  # the desk's own [telegram] and [notify] defaults
    settings = make_settings(SIGNALDESK_CONFIG=str(config))

    kinds = {"adopted", "unprotected", "management_halt", "drawdown_halt", "loss_streak_pause"}
    assert QUEUED == kinds
    critical = [
        Notice("x", k) for k in ("adopted", "unprotected", "management_halt", "drawdown_halt")
    ]
    assert {n.event for n in critical} == {"alert"}
    night = datetime(2025, 6, 22, 18, 0, tzinfo=UTC)  # 03:00 JST, in the default quiet hours
    assert notify.level(settings, "alert", night) == "on"
    assert notify.level(settings, "warning", night) == "silent"
