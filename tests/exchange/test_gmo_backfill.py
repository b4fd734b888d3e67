"""GMO kline backfill against the fake server: day by day, resumable, idempotent, empty days and
gaps reported."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from jobs.backfill import run
from jobs.cli import build_parser
from signaldesk.candles import load_candles, read_candle_csv
from signaldesk.exchange.errors import Maintenance
from signaldesk.exchange.gmo import GmoExchange
from signaldesk.exchange.history import backfill_klines, check_range
from signaldesk.exchange.ratelimit import RateLimits
from signaldesk.exchange.tradingday import trading_day_start
from tests.fakes.gmo_server import FakeGmo

DATA = Path(__file__).resolve().parent.parent.parent / "data"
NOW = datetime(2025, 7, 1, tzinfo=UTC)


@pytest.fixture
def fake():
    with FakeGmo() as server:
        server.load_bundled_klines(("BTC_JPY",))
        yield server


@pytest.fixture
def market(fake):
    with httpx.Client(timeout=5) as http:
        limits = RateLimits.conservative(sleep=lambda s: None, clock=lambda: 0.0)
        yield GmoExchange(
            http,
            public_url=fake.public_url,
            private_url=fake.private_url,
            limits=limits,
            sleep=lambda s: None,
        )


def test_days_are_pulled_resumed_and_never_doubled(db, market, fake):
    first = backfill_klines(market, db, "BTC_JPY", date(2025, 4, 2), date(2025, 4, 4), NOW)
    assert (first.days, first.skipped, first.added, first.gaps) == (3, 0, 288, [])
    stored = load_candles(db, "BTC_JPY", "15m")
    assert (
        stored[0].open_time
        == trading_day_start(date(2025, 4, 2))
        == datetime(2025, 4, 1, 21, tzinfo=UTC)
    )
    requests = fake.count("GET", "/v1/klines")
    again = backfill_klines(market, db, "BTC_JPY", date(2025, 4, 1), date(2025, 4, 4), NOW)
    assert (again.skipped, again.added) == (
        3,
        84,
    )  # trading day 04-01 opened 03-31 21:00 UTC; data from 04-01 00:00
    assert fake.count("GET", "/v1/klines") == requests + 1  # only the new day was asked for
    source = db.execute("SELECT DISTINCT source FROM candles").fetchall()
    assert source == [("gmo:klines",)]


def test_a_day_gmo_does_not_have_is_empty_and_reported(db, market):
    report = backfill_klines(market, db, "BTC_JPY", date(2025, 3, 31), date(2025, 4, 1), NOW)
    assert (
        report.empty_days == [date(2025, 3, 31)] and report.added == 21 * 4
    )  # data starts 04-01 00:00 UTC
    assert report.short_days == [(date(2025, 4, 1), 84)]


def test_gaps_in_the_exchange_data_are_reported_not_filled(db, market, fake):
    candles = read_candle_csv(DATA / "btcusdt_binance_15m_2025-04_2025-06.csv.gz")[:400]
    hole = datetime(2025, 4, 2, 3, 0, tzinfo=UTC)
    fake.set_klines(
        "BTC_JPY",
        "15min",
        [c for c in candles if not hole <= c.open_time < hole + timedelta(hours=1)],
    )
    report = backfill_klines(market, db, "BTC_JPY", date(2025, 4, 2), date(2025, 4, 2), NOW)
    assert [(g.last_present, g.missing) for g in report.gaps] == [(hole - timedelta(minutes=15), 4)]
    assert report.short_days == [(date(2025, 4, 2), 92)] and report.added == 92


def test_only_closed_candles_of_today_are_stored(db, market):
    now = datetime(2025, 4, 2, 0, 10, tzinfo=UTC)  # 09:10 JST on trading day 2025-04-02
    report = backfill_klines(market, db, "BTC_JPY", date(2025, 4, 2), date(2025, 4, 5), now)
    assert (
        report.days == 1 and report.added == 12 and report.short_days == []
    )  # 21:00..23:45 closed
    assert load_candles(db, "BTC_JPY", "15m")[-1].open_time == datetime(
        2025, 4, 1, 23, 45, tzinfo=UTC
    )


def test_maintenance_stops_and_a_rerun_resumes(db, market, fake):
    fake.fail_next("/v1/klines", "maintenance")
    with pytest.raises(Maintenance):
        backfill_klines(market, db, "BTC_JPY", date(2025, 4, 2), date(2025, 4, 3), NOW)
    assert (
        backfill_klines(market, db, "BTC_JPY", date(2025, 4, 2), date(2025, 4, 3), NOW).added == 192
    )


@pytest.mark.parametrize(
    ("since", "until", "message"),
    [
        (date(2021, 4, 14), date(2021, 5, 1), "begin 2021-04-15"),
        (date(2025, 4, 3), date(2025, 4, 2), "before --since"),
        (date(2025, 7, 2), date(2025, 7, 3), "in the future"),
    ],
)
def test_impossible_ranges_are_refused(since, until, message):
    with pytest.raises(ValueError, match=message):
        check_range(since, until, date(2025, 7, 1))


def test_cli_pulls_from_the_configured_gmo_url(fake, db_path, make_settings, capsys):
    settings = make_settings(SIGNALDESK_DB=str(db_path), GMO_PUBLIC_URL=fake.public_url)
    args = build_parser("backfill").parse_args(
        [
            "backfill",
            "--symbol",
            "BTC_JPY",
            "--since",
            "2025-04-02",
            "--until",
            "2025-04-03",
            "--json",
        ]
    )
    assert run(args, settings) == 0
    out = capsys.readouterr()
    assert "192 new candles" in out.out and '"added": 192' in out.out.splitlines()[-1]
    assert "2/2 days" in out.err


def test_cli_keeps_csv_import_and_refuses_both_sources(db_path, make_settings, capsys):
    settings = make_settings(SIGNALDESK_DB=str(db_path))
    csv = DATA / "ethusdt_binance_15m_2025-04_2025-06.csv.gz"
    args = build_parser("backfill").parse_args(
        ["backfill", "--symbol", "ETH_JPY", "--csv", str(csv)]
    )
    assert run(args, settings) == 0 and "8736 candles read" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        build_parser("backfill").parse_args(
            ["backfill", "--symbol", "ETH_JPY", "--csv", str(csv), "--since", "2025-04-02"]
        )
