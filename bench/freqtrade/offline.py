"""Run freqtrade without the network: Binance's market list comes from markets.json instead of
exchangeInfo.

freqtrade loads the exchange's markets (symbols, precision, limits) on start, even for
`backtesting`, which otherwise needs no network. This launcher runs inside freqtrade's own virtual
environment (`<venv>/bin/python offline.py backtesting ...`): it hands ccxt's own Binance parser the
two spot entries recorded in markets.json (BTCUSDT and ETHUSDT, in the shape of Binance's
/api/v3/exchangeInfo) and then calls freqtrade's command line unchanged. Nothing else of freqtrade
is touched.
"""

import json
import sys
from pathlib import Path

import ccxt
import ccxt.async_support

RAW = json.loads((Path(__file__).with_name("markets.json")).read_text(encoding="utf-8"))["symbols"]


def recorded_markets(exchange) -> list:
    """Return the unified markets ccxt builds from the recorded exchangeInfo entries."""
    exchange.options["crossMarginPairsData"] = []
    exchange.options["isolatedMarginPairsData"] = []
    return [exchange.parse_market(entry) for entry in RAW]


async def fetch_markets_async(self, params=None):
    """Async ccxt: the recorded markets."""
    return recorded_markets(self)


async def fetch_currencies_async(self, params=None):
    """Async ccxt: no currency list (backtesting does not need one)."""
    return {}


def fetch_markets_sync(self, params=None):
    """Sync ccxt: the recorded markets."""
    return recorded_markets(self)


def fetch_currencies_sync(self, params=None):
    """Sync ccxt: no currency list."""
    return {}


ccxt.async_support.binance.fetch_markets = fetch_markets_async
ccxt.async_support.binance.fetch_currencies = fetch_currencies_async
ccxt.binance.fetch_markets = fetch_markets_sync
ccxt.binance.fetch_currencies = fetch_currencies_sync

if __name__ == "__main__":
    from freqtrade.main import main

    sys.argv[0] = "freqtrade"
    sys.exit(main())
