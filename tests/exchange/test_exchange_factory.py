"""build_exchange: paper or live from settings; both satisfy the same interface."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import httpx

from signaldesk.candles import read_candle_csv
from signaldesk.exchange.base import Exchange
from signaldesk.exchange.factory import build_exchange
from signaldesk.exchange.feed import CandleFeed
from signaldesk.exchange.gmo import GmoExchange
from signaldesk.exchange.model import BUY, LIMIT, SOK, OrderRequest
from signaldesk.exchange.paper import PaperExchange
from tests.fakes.gmo_server import FakeGmo

DATA = Path(__file__).resolve().parent.parent.parent / "data"
PROTOCOL_METHODS = [n for n in vars(Exchange) if not n.startswith("_")]


def test_paper_mode_on_candles_starts_with_the_configured_equity(db, make_settings):
    settings = make_settings()
    candles = read_candle_csv(DATA / "btcusdt_binance_15m_2025-04_2025-06.csv.gz")[:10]
    feed = CandleFeed({"BTC_JPY": candles}, start=candles[0].open_time + timedelta(minutes=15))
    exchange = build_exchange(settings, db, feed=feed)
    assert isinstance(exchange, PaperExchange)
    assert exchange.assets()[0].amount == settings.risk.paper_equity_jpy
    assert all(callable(getattr(exchange, name)) for name in PROTOCOL_METHODS)


def test_paper_mode_without_feed_uses_live_public_data(db, make_settings):
    with FakeGmo() as fake:
        fake.set_book("BTC_JPY", bid="9999000", ask="10000000")
        settings = make_settings(GMO_PUBLIC_URL=fake.public_url, GMO_PRIVATE_URL=fake.private_url)
        with httpx.Client(timeout=5) as http:
            exchange = build_exchange(settings, db, http=http)
            order_id = exchange.place_order(
                OrderRequest("BTC_JPY", BUY, LIMIT, Decimal("0.01"), Decimal("10000000"), SOK)
            )
            assert exchange.orders([order_id])[0].cancel_type == "EXPIRED_SOK"
        assert fake.count("POST", "/v1/order") == 0  # paper never sends orders


def test_live_mode_builds_the_gmo_client_at_the_configured_urls(db, make_settings):
    settings = make_settings(
        SIGNALDESK_MODE="live",
        GMO_API_KEY="placeholder-key",
        GMO_API_SECRET="placeholder-secret",
        GMO_PRIVATE_URL="http://127.0.0.1:9/private",
    )
    with httpx.Client() as http:
        exchange = build_exchange(settings, db, http=http)
    assert (
        isinstance(exchange, GmoExchange) and exchange.private_url == "http://127.0.0.1:9/private"
    )
    assert all(callable(getattr(exchange, name)) for name in PROTOCOL_METHODS)
