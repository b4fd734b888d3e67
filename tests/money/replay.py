"""A replay of the desk for money tests: the bundled candles at a yen scale (the demo's converted
stand-in), the backtest engine's own step (trade management, the cycle with the default model, a
seeded approval policy, the expiry sweep) on the paper exchange, into a test database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from signaldesk.backtest.engine import ApprovalPolicy, PolicyDesk, run_steps, step_times
from signaldesk.candles import load_candles, read_candle_csv, save_candles
from signaldesk.exchange.factory import build_exchange
from signaldesk.exchange.feed import REPLAY_SPREAD_BPS, CandleFeed
from signaldesk.fx import read_monthly_rates, to_yen

DATA = Path(__file__).resolve().parents[2] / "data"
FILES = {
    "BTC_JPY": "btcusdt_binance_15m_2025-04_2025-06.csv.gz",
    "ETH_JPY": "ethusdt_binance_15m_2025-04_2025-06.csv.gz",
}
SOURCE = "test: converted stand-in (Binance USDT x Fed USD/JPY), not GMO prices"


def load_yen_candles(db, since: datetime, until: datetime) -> None:
    """Store the bundled candles at a yen scale from a week before `since` to a day after
    `until`."""
    rates = read_monthly_rates(DATA / "usdjpy_monthly_fed.csv")
    for symbol, name in FILES.items():
        rows = [
            c
            for c in read_candle_csv(DATA / name)
            if since - timedelta(days=8) <= c.open_time < until + timedelta(days=1)
        ]
        save_candles(db, symbol, "15m", to_yen(rows, rates), SOURCE)


@dataclass
class NoticingDesk(PolicyDesk):
    """The backtest's policy desk, keeping what trade management tells the person."""

    notices: list[str] = field(default_factory=list)

    def manage(self, now: datetime) -> None:
        """Run the bot's management step and keep its notices."""
        from signaldesk.execution import manage_trades

        self.notices += manage_trades(self.db, self.exchange, self.settings, now)


def replay(db, settings, since: datetime, until: datetime, policy: ApprovalPolicy):
    """Run the desk one 15-minute step at a time over [since, until); return the desk (its
    notices)."""
    from signaldesk.model.inference import load_model

    load_yen_candles(db, since, until)
    feed = CandleFeed({s: load_candles(db, s, "15m") for s in FILES}, spread_bps=REPLAY_SPREAD_BPS)
    exchange = build_exchange(settings, db, feed=feed)
    model = load_model(settings.model_dir, until, float("inf"))
    desk = NoticingDesk(db, exchange, settings, policy)
    run_steps(db, exchange, feed, lambda _t: model, settings, [], desk, step_times(since, until))
    return desk
