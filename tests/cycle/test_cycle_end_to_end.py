"""The cycle end to end: the live GMO client over real HTTP to the fake GMO server, a temp SQLite
file, the committed default model and the bundled real candles (served as GMO klines)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from signaldesk import state
from signaldesk.clock import to_db
from signaldesk.cycle_job import run_live_cycle
from signaldesk.exchange.factory import build_gmo, build_http
from signaldesk.settings import DEFAULT_MODEL_VERSION
from signaldesk.storage import open_current_db
from tests.fakes.gmo_server import FakeGmo
from tests.fakes.telegram_server import FakeTelegram

NOW = datetime(
    2025, 6, 10, 12, 0, 25, tzinfo=UTC
)  # the 11:45 UTC candle closed at 12:00 and is published
TOKEN = "7000000001:TESTTOKENplaceholder"
PERMISSIVE = """[strategy]
threshold_source = "settings"
long_threshold = 0.01
short_threshold = 0.01
top_fraction = 1.0
min_volume_ratio = 0.0
"""


@pytest.fixture
def fake():
    with FakeGmo() as server:
        server.load_bundled_klines()
        for symbol, bid, ask in (
            ("BTC_JPY", "109600", "109610"),
            ("ETH_JPY", "2700.00", "2700.50"),
        ):
            server.set_book(symbol, bid, ask)
        yield server


@pytest.fixture
def desk(fake, make_settings, db_path, tmp_path):
    """Return a factory of (settings, db, exchange) for the fake, live mode with the fake's keys."""
    opened = []

    calendar = tmp_path / "calendar-ahead.csv"  # a current calendar: one event days away
    calendar.write_text(f"time_utc,title\n{(NOW + timedelta(days=3)).isoformat()},FOMC\n")

    def build(config: str = "", listener: bool = True, **env):
        path = tmp_path / "config.toml"
        if "news_calendar" not in config:  # the live desk needs a calendar and a live listener
            line = f'news_calendar = "{calendar}"\n'
            config = (
                config.replace("[strategy]\n", "[strategy]\n" + line, 1)
                if "[strategy]" in config
                else "[strategy]\n" + line + config
            )
        path.write_text(config)
        settings = make_settings(
            SIGNALDESK_MODE="live",
            **fake.env(),
            SIGNALDESK_CONFIG=str(path),
            **env,
        )
        db = open_current_db(db_path)
        if listener:
            state.beat(db, "listener", NOW - timedelta(seconds=20))
        http = build_http(2.0)
        opened.append((db, http))
        return settings, db, build_gmo(settings, http, sleep=lambda seconds: None)

    yield build
    for db, http in opened:
        http.close()
        db.close()


def _signals(db) -> list[dict]:
    cursor = db.execute("SELECT * FROM signals ORDER BY symbol, candle_time")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _checks(row) -> dict:
    return {c["rule"]: c for c in json.loads(row["reasons"])}


def test_cycle_writes_one_row_per_symbol_and_a_rerun_writes_nothing(desk):
    settings, db, exchange = desk()
    first = run_live_cycle(db, settings, NOW, exchange=exchange)
    assert first.ok, first.line
    rows = _signals(db)
    assert [r["symbol"] for r in rows] == ["BTC_JPY", "ETH_JPY"]
    for row in rows:
        assert row["candle_time"] == "2025-06-10T11:45:00.000+00:00"
        assert row["model_version"] == DEFAULT_MODEL_VERSION
        assert 0 < row["prob_long"] < 1 and 0 < row["prob_short"] < 1
        assert row["confidence"] == max(row["prob_long"], row["prob_short"])
        assert len(json.loads(row["features"])["values"]) == 12
        assert row["status"] == "LOGGED"  # the operating point fires on under 1% of candles
        assert "(model operating point" in _checks(row)["threshold"]["detail"]
        assert not _checks(row)["threshold"]["ok"]
    btc_close = db.execute(
        "SELECT close FROM candles WHERE symbol = 'BTC_JPY' AND open_time = ?",
        ["2025-06-10T11:45:00.000+00:00"],
    ).fetchone()[0]
    assert rows[0]["close_price"] == btc_close
    run = db.execute("SELECT status, counts, durations FROM runs WHERE kind = 'cycle'").fetchone()
    assert run[0] == "ok" and json.loads(run[1])["written"] == 2
    assert {"fetch", "features", "inference", "writes"} <= set(json.loads(run[2]))
    candles = db.execute("SELECT COUNT(*) FROM candles").fetchone()[0]

    again = run_live_cycle(db, settings, NOW + timedelta(seconds=40), exchange=exchange)
    assert again.ok and again.summary["written"] == 0 and again.summary["fetched"] == 0
    assert _signals(db) == rows
    assert db.execute("SELECT COUNT(*) FROM candles").fetchone()[0] == candles


def test_a_signal_passing_every_rule_becomes_pending_with_a_trade_plan(desk):
    settings, db, exchange = desk(PERMISSIVE)
    assert run_live_cycle(db, settings, NOW, exchange=exchange).ok
    pending = [r for r in _signals(db) if r["status"] == "PENDING"]
    assert {r["symbol"] for r in pending} == {"BTC_JPY", "ETH_JPY"}
    btc = next(r for r in pending if r["symbol"] == "BTC_JPY")
    entry, stop = float(btc["entry_price"]), float(btc["stop_loss"])
    assert entry == (109600 if btc["direction"] == "LONG" else 109610)
    assert abs(entry - stop) == pytest.approx(2 * float(btc["atr"]), abs=1.0)
    assert float(btc["size"]) > 0 and float(btc["risk_jpy"]) > 0
    assert btc["expires_at"] == to_db(NOW + timedelta(minutes=15))
    assert all(c["ok"] for c in json.loads(btc["reasons"]))


def _spike(db, symbol, side):
    minute = to_db(NOW.replace(second=0) - timedelta(minutes=3))
    db.execute(
        "INSERT INTO liquidation_spikes (symbol, minute, side, count, notional_usd, baseline_usd, ratio, rule, "
        "detected_at) VALUES (?, ?, ?, 40, '9000000', '100000', 90.0, 'test', ?)",
        [symbol, minute, side, minute],
    )


@pytest.mark.parametrize(
    "block, rule",
    [
        ("spread", "spread"),
        ("halt", "halted"),
        ("news", "news"),
        ("spike", "liquidations"),
        ("cap", "trades_today"),
    ],
)
def test_each_rule_blocks_in_the_cycle_with_its_reason(desk, fake, tmp_path, block, rule):
    calendar = tmp_path / "news.csv"
    calendar.write_text(f"time_utc,title\n{(NOW + timedelta(days=3)).isoformat()},FOMC\n")
    config = PERMISSIVE + f'news_calendar = "{calendar}"\n'
    settings, db, exchange = desk(
        config + ("[risk]\nmax_trades_per_day = 0\n" if block == "cap" else "")
    )
    if block == "spread":
        fake.set_book("BTC_JPY", "109000", "109610")
        fake.set_book("ETH_JPY", "2680.00", "2700.50")
    elif block == "halt":
        state.halt(db, "/stop by 111", NOW, "111")
    elif block == "news":
        calendar.write_text(f"time_utc,title\n{(NOW + timedelta(minutes=20)).isoformat()},US CPI\n")
    elif (
        block == "spike"
    ):  # both sides spiked; each signal is blocked by the side matching its direction
        for symbol in ("BTC_JPY", "ETH_JPY"):
            _spike(db, symbol, "long")
            _spike(db, symbol, "short")
    assert run_live_cycle(db, settings, NOW, exchange=exchange).ok
    latest = [r for r in _signals(db) if r["candle_time"] == "2025-06-10T11:45:00.000+00:00"]
    assert len(latest) == 2
    for row in latest:
        checks = _checks(row)
        assert row["status"] == "FILTERED", checks
        assert [name for name, c in checks.items() if not c["ok"]] == [rule]
        assert row["entry_price"] is None and row["expires_at"] is None
        if block == "spike":
            side = "longs" if row["direction"] == "LONG" else "shorts"
            assert checks["liquidations"]["detail"].startswith(
                f"{side} liquidated: 40 liquidations"
            )


def test_three_failing_cycles_halt_trading_and_queue_a_critical_alert(desk, fake):
    settings, db, exchange = desk()
    fake.fail_next("/v1/orderbooks", "http500", times=100)
    outcomes = [
        run_live_cycle(db, settings, NOW + timedelta(minutes=15 * i), exchange=exchange)
        for i in range(3)
    ]
    assert [o.ok for o in outcomes] == [False, False, False]
    assert "/v1/orderbooks" in outcomes[0].line
    assert state.trading_state(db).halted
    alerts = db.execute(
        "SELECT severity, kind, text FROM outbox WHERE kind = 'api_failures'"
    ).fetchall()
    assert len(alerts) == 1 and alerts[0][0] == "critical" and "3 consecutive" in alerts[0][2]
    assert db.execute("SELECT COUNT(*) FROM signals").fetchone()[0] == 0
    fake.faults.clear()
    assert run_live_cycle(db, settings, NOW + timedelta(minutes=45), exchange=exchange).ok
    assert state.get_value(db, "cycle_api_failures") == "0"
    assert state.trading_state(db).halted  # only /resume by a person lifts a halt


def test_a_stale_bot_heartbeat_sends_critical_alerts_directly(desk, fake):
    telegram = FakeTelegram(
        TOKEN, {"id": 7000000001, "is_bot": True, "first_name": "Desk", "username": "desk_bot"}
    )
    try:
        settings, db, exchange = desk(
            TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_CHAT_ID="111111111", TELEGRAM_API_URL=telegram.url
        )
        state.beat(db, "bot", NOW - timedelta(hours=1))
        fake.fail_next("/v1/orderbooks", "http500", times=100)
        for i in range(3):
            run_live_cycle(db, settings, NOW + timedelta(minutes=15 * i), exchange=exchange)
        sent = telegram.calls_to("sendMessage")
        assert len(sent) == 1 and "3 consecutive cycles failed" in sent[0]["text"]
        assert str(sent[0]["chat_id"]) == "111111111"
        row = db.execute(
            "SELECT sent_at, sent_via FROM outbox WHERE kind = 'api_failures'"
        ).fetchone()
        assert row[0] is not None and row[1] == "direct"
    finally:
        telegram.close()


def test_a_fresh_bot_heartbeat_leaves_alerts_to_the_bot(desk, fake):
    telegram = FakeTelegram(
        TOKEN, {"id": 7000000001, "is_bot": True, "first_name": "Desk", "username": "desk_bot"}
    )
    try:
        settings, db, exchange = desk(
            TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_CHAT_ID="111111111", TELEGRAM_API_URL=telegram.url
        )
        fake.fail_next("/v1/orderbooks", "http500", times=100)
        for i in range(3):
            now = NOW + timedelta(minutes=15 * i)
            state.beat(db, "bot", now)
            run_live_cycle(db, settings, now, exchange=exchange)
        assert telegram.calls_to("sendMessage") == []
        assert (
            db.execute("SELECT sent_at FROM outbox WHERE kind = 'api_failures'").fetchone()[0]
            is None
        )
    finally:
        telegram.close()


def test_a_malformed_payload_fails_cleanly_naming_the_endpoint_and_writes_nothing(desk, fake):
    settings, db, exchange = desk()
    fake.fail_next("/v1/orderbooks", "malformed")
    outcome = run_live_cycle(db, settings, NOW, exchange=exchange)
    assert not outcome.ok and "/v1/orderbooks" in outcome.line
    assert db.execute("SELECT COUNT(*) FROM signals").fetchone()[0] == 0
    assert db.execute("SELECT COUNT(*) FROM candles").fetchone()[0] == 0
    run = db.execute("SELECT status, error FROM runs WHERE kind = 'cycle'").fetchone()
    assert run[0] == "failed" and "/v1/orderbooks" in run[1]


def test_a_missing_model_fails_the_run_with_a_clear_message(desk, tmp_path):
    settings, db, exchange = desk(SIGNALDESK_MODEL=str(tmp_path / "no-such-model"))
    outcome = run_live_cycle(db, settings, NOW, exchange=exchange)
    assert not outcome.ok and "no-such-model" in outcome.line
    alert = db.execute("SELECT severity FROM outbox WHERE kind = 'configuration'").fetchone()
    assert alert[0] == "critical"


@pytest.mark.parametrize(
    "blind, words",
    [
        ("never", "liquidation feed unavailable: the listener has never run"),
        ("silent", "liquidation feed unavailable since 20:48 JST"),
        ("gap", "liquidation feed unavailable since 20:55 JST"),
    ],
)
def test_a_desk_blind_to_liquidations_filters_every_signal_saying_since_when(desk, blind, words):
    settings, db, exchange = desk(PERMISSIVE, listener=blind == "gap")
    if blind == "silent":  # the listener stopped beating at 11:48 UTC (20:48 JST)
        state.beat(db, "listener", NOW - timedelta(minutes=12, seconds=25))
    if blind == "gap":  # it is beating, but lost the stream for a moment inside the window
        from signaldesk.liquidations import close_gaps, open_gap

        open_gap(db, NOW - timedelta(minutes=5, seconds=25), "connection lost")
        close_gaps(db, NOW - timedelta(minutes=4))
    assert run_live_cycle(db, settings, NOW, exchange=exchange).ok
    for row in _signals(db):
        checks = _checks(row)
        assert row["status"] == "FILTERED"
        assert [n for n, c in checks.items() if not c["ok"]] == ["liquidations"]
        assert checks["liquidations"]["detail"] == words


def test_a_live_desk_without_a_news_calendar_filters_and_says_so(desk, tmp_path):
    missing = tmp_path / "no-such-calendar.csv"
    settings, db, exchange = desk(PERMISSIVE + f'news_calendar = "{missing}"\n')
    assert run_live_cycle(db, settings, NOW, exchange=exchange).ok
    for row in _signals(db):
        checks = _checks(row)
        assert row["status"] == "FILTERED"
        assert [n for n, c in checks.items() if not c["ok"]] == ["news"]
        assert checks["news"]["detail"] == (
            f"no news calendar at {missing}: the blackout cannot be checked (filtered)"
        )


def test_a_symbol_with_an_open_trade_filters_its_new_signals(desk):
    settings, db, exchange = desk(PERMISSIVE)
    with db.conn:
        db.conn.execute(
            "INSERT INTO trades (symbol, direction, status, mode, size, remaining_size, entry_price, "
            "stop_loss, take_profit_1, take_profit_2, created_at, updated_at) VALUES ('ETH_JPY', 'LONG', "
            "'open', 'live', '1', '1', '2700', '2600', '2800', '2900', ?, ?)",
            [to_db(NOW), to_db(NOW)],
        )
    assert run_live_cycle(db, settings, NOW, exchange=exchange).ok
    rows = {r["symbol"]: r for r in _signals(db)}
    assert rows["BTC_JPY"]["status"] == "PENDING"
    eth = _checks(rows["ETH_JPY"])
    assert rows["ETH_JPY"]["status"] == "FILTERED"
    assert [n for n, c in eth.items() if not c["ok"]] == ["open_trade"]
    assert eth["open_trade"]["detail"] == (
        "ETH_JPY already has open trade #1 LONG (at most 1 per symbol)."
    )
