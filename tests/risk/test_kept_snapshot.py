"""A backtest's second risk snapshot at the same moment, with nothing written since, is the first
one; anything else reads again (real bundled candles, the paper exchange, a real SQLite file)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from signaldesk.candles import read_candle_csv
from signaldesk.exchange.feed import CandleFeed
from signaldesk.exchange.paper import PaperExchange
from signaldesk.risk import risk_snapshot
from signaldesk.state import set_value
from signaldesk.storage import open_db

DATA = Path(__file__).resolve().parent.parent.parent / "data"


def candles() -> list:
    return read_candle_csv(DATA / "btcusdt_binance_15m_2025-04_2025-06.csv.gz")[:200]


class OutsideFeed:
    """A feed whose bars come from outside (like the live feed): same answers as a candle feed."""

    def __init__(self, feed: CandleFeed):
        self.feed, self.step = feed, feed.step

    def __getattr__(self, name):
        return getattr(self.feed, name)


def paper(db, feed_of=lambda feed: feed) -> tuple[PaperExchange, CandleFeed]:
    """Return a paper account over the bundled BTC candles, 100 candles in."""
    rows = candles()
    feed = CandleFeed({"BTC_JPY": rows}, start=rows[100].open_time + timedelta(minutes=15))
    return PaperExchange(db, feed_of(feed), starting_jpy=Decimal("1000000")), feed


def test_a_second_snapshot_with_nothing_written_is_the_first(db, make_settings):
    settings = make_settings()
    exchange, feed = paper(db)
    first = risk_snapshot(db, exchange, settings, feed.now())
    assert risk_snapshot(db, exchange, settings, feed.now()) is first


def test_a_write_another_process_a_new_candle_or_other_settings_read_again(
    db, db_path, make_settings
):
    settings = make_settings()
    exchange, feed = paper(db)
    first = risk_snapshot(db, exchange, settings, feed.now())
    set_value(db, "trading", "HALTED", feed.now(), "test")  # this connection halts trading
    halted = risk_snapshot(db, exchange, settings, feed.now())
    assert (first.halted, halted.halted) == (False, True)
    other = open_db(db_path)  # another process resumes trading
    set_value(other, "trading", "RUNNING", feed.now(), "test")
    other.close()
    assert risk_snapshot(db, exchange, settings, feed.now()).halted is False
    again = risk_snapshot(db, exchange, settings, feed.now())
    assert risk_snapshot(db, exchange, make_settings(), feed.now()) is not again
    assert feed.advance()
    assert risk_snapshot(db, exchange, settings, feed.now()) is not again


def test_a_feed_that_is_not_a_replay_reads_every_time(db, make_settings):
    settings = make_settings()
    exchange, feed = paper(db, OutsideFeed)
    first = risk_snapshot(db, exchange, settings, feed.now())
    second = risk_snapshot(db, exchange, settings, feed.now())
    assert second is not first and second == first


def test_another_paper_account_on_the_same_database_reads_its_own(db, make_settings):
    settings = make_settings()
    exchange, feed = paper(db)
    first = risk_snapshot(db, exchange, settings, feed.now())
    other, other_feed = paper(db)
    assert risk_snapshot(db, other, settings, other_feed.now()) is not first
