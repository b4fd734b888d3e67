"""Choosing the exchange in the composition root: live GMO Coin or the paper exchange, from
settings."""

from __future__ import annotations

import httpx

from signaldesk.exchange.base import Exchange
from signaldesk.exchange.feed import LiveFeed, MarketFeed
from signaldesk.exchange.gmo import GmoExchange

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


def build_http(timeout: httpx.Timeout | float = DEFAULT_TIMEOUT) -> httpx.Client:
    """Return the httpx client the live exchange uses (the caller closes it)."""
    return httpx.Client(timeout=timeout, headers={"User-Agent": "signaldesk"})


def build_gmo(settings, http: httpx.Client, **options) -> GmoExchange:
    """Return the live GMO client at the configured base URLs with the configured keys."""
    return GmoExchange(
        http,
        public_url=settings.urls.gmo_public,
        private_url=settings.urls.gmo_private,
        api_key=settings.gmo_api_key,
        api_secret=settings.gmo_api_secret,
        **options,
    )


def build_exchange(
    settings,
    db,
    *,
    http: httpx.Client | None = None,
    feed: MarketFeed | None = None,
    account: str = "paper",
) -> Exchange:
    """Return the exchange for `settings.mode`: live GMO, or paper filled against `feed` (default:
    live public GMO).

    `http` is the httpx client for GMO (built with default timeouts when omitted); `feed` is a
    CandleFeed in backtests and the demo. Paper starts with `settings.risk.paper_equity_jpy` JPY.
    """
    if settings.mode == "live":
        return build_gmo(settings, http or build_http())
    from signaldesk.exchange.paper import PaperExchange

    if feed is None:
        feed = LiveFeed(build_gmo(settings, http or build_http()))
    return PaperExchange(db, feed, account=account, starting_jpy=settings.risk.paper_equity_jpy)
