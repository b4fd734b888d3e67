"""The paper exchange on real bundled candles: honest fill rules, spot vs leverage, fees, never the
future."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest

from signaldesk.candles import read_candle_csv
from signaldesk.exchange.errors import InsufficientFunds, NotFound, OrderRejected
from signaldesk.exchange.feed import CandleFeed
from signaldesk.exchange.model import (
    BUY,
    FAK,
    FAS,
    LIMIT,
    MARKET,
    SELL,
    SOK,
    STOP,
    CloseRequest,
    OrderRequest,
)
from signaldesk.exchange.paper import PaperExchange
from signaldesk.exchange.paperfills import DEFAULT_RULES
from signaldesk.fees import position_fee
from signaldesk.state import set_value
from signaldesk.storage import open_db

DATA = Path(__file__).resolve().parent.parent.parent / "data"
D = Decimal
CENT = D("0.01")
# The bundled candles are Binance USDT proxies quoted to the cent: trade them with a 0.01 tick.
RULES = {s: replace(r, tick_size=CENT) for s, r in DEFAULT_RULES.items()}


@cache
def btc() -> tuple:
    return tuple(read_candle_csv(DATA / "btcusdt_binance_15m_2025-04_2025-06.csv.gz")[:400])


def first(predicate) -> int:
    """Return the first index i whose (candle i, candle i+1) satisfies the predicate."""
    candles = btc()
    return next(i for i in range(len(candles) - 1) if predicate(candles[i], candles[i + 1]))


def desk(
    db, i: int, symbol_pairs=("BTC_JPY", "BTC"), jpy: str = "1000000"
) -> tuple[PaperExchange, CandleFeed]:
    """Return a paper exchange whose feed has just released candle i."""
    feed = CandleFeed(
        {s: btc() for s in symbol_pairs}, start=btc()[i].open_time + timedelta(minutes=15)
    )
    return PaperExchange(db, feed, starting_jpy=D(jpy), rules=RULES), feed


# (name, chooser of candle index, order builder from (current, next), expected status after the next
# candle)
CASES = [
    (
        "post-only buy at the close would cross",
        lambda c, n: True,
        lambda c, n: (BUY, LIMIT, c.close, SOK),
        ("EXPIRED", "EXPIRED_SOK", D(0)),
    ),
    (
        "post-only sell at the close would cross",
        lambda c, n: True,
        lambda c, n: (SELL, LIMIT, c.close, SOK),
        ("EXPIRED", "EXPIRED_SOK", D(0)),
    ),
    (
        "buy limit touched by the low does not fill",
        lambda c, n: n.low < c.close,
        lambda c, n: (BUY, LIMIT, n.low, SOK),
        ("ORDERED", None, D(0)),
    ),
    (
        "buy limit traded through fills at its price",
        lambda c, n: n.low + CENT < c.close,
        lambda c, n: (BUY, LIMIT, n.low + CENT, SOK),
        ("EXECUTED", None, D("0.01")),
    ),
    (
        "sell limit touched by the high does not fill",
        lambda c, n: n.high > c.close,
        lambda c, n: (SELL, LIMIT, n.high, SOK),
        ("ORDERED", None, D(0)),
    ),
    (
        "sell limit traded through fills (leverage short)",
        lambda c, n: n.high - CENT > c.close,
        lambda c, n: (SELL, LIMIT, n.high - CENT, SOK),
        ("EXECUTED", None, D("0.01")),
    ),
    (
        "past prices never fill a new order",
        lambda c, n: c.low + CENT < min(c.close, n.low),
        lambda c, n: (BUY, LIMIT, c.low + CENT, SOK),
        ("ORDERED", None, D(0)),
    ),
    (
        "buy stop triggers when the high reaches it",
        lambda c, n: n.high > c.close + CENT,
        lambda c, n: (BUY, STOP, n.high, None),
        ("EXECUTED", None, D("0.01")),
    ),
    (
        "passive fill-and-kill expires",
        lambda c, n: True,
        lambda c, n: (BUY, LIMIT, c.close - CENT, FAK),
        ("EXPIRED", "EXPIRED_FAK", D(0)),
    ),
    (
        "crossing FAS limit takes the close at once",
        lambda c, n: True,
        lambda c, n: (BUY, LIMIT, c.close + 100, FAS),
        ("EXECUTED", None, D("0.01")),
    ),
    (
        "market order fills at once",
        lambda c, n: True,
        lambda c, n: (SELL, MARKET, None, None),
        ("EXECUTED", None, D("0.01")),
    ),
]


@pytest.mark.parametrize(("name", "choose", "build", "expected"), CASES, ids=[c[0] for c in CASES])
def test_fill_rules_on_real_candles(db, name, choose, build, expected):
    i = first(choose)
    current, following = btc()[i], btc()[i + 1]
    paper, feed = desk(db, i)
    side, kind, price, tif = build(current, following)
    order_id = paper.place_order(OrderRequest("BTC_JPY", side, kind, D("0.01"), price, tif))
    assert feed.advance()
    (order,) = paper.orders([order_id])
    assert (order.status, order.cancel_type, order.executed_size) == expected


def test_limit_fill_price_and_maker_fee_from_the_rules(db):
    i = first(lambda c, n: n.low + CENT < c.close)
    following = btc()[i + 1]
    paper, feed = desk(db, i)
    price = following.low + CENT
    order_id = paper.place_order(OrderRequest("BTC", BUY, LIMIT, D("0.01"), price, SOK))
    feed.advance()
    (fill,) = paper.executions(order_id)
    assert fill.price == price and fill.fee == price * D("0.01") * D("-0.0001")  # spot maker rebate
    jpy, coin = paper.assets()
    assert coin.amount == D("0.01") and jpy.amount == D("1000000") - price * D("0.01") - fill.fee


def test_stop_that_gaps_fills_at_the_open(db):
    i = first(lambda c, n: n.open > c.close + CENT)
    current, following = btc()[i], btc()[i + 1]
    paper, feed = desk(db, i)
    order_id = paper.place_order(
        OrderRequest("BTC_JPY", BUY, STOP, D("0.01"), current.close + CENT)
    )
    feed.advance()
    assert paper.executions(order_id)[0].price == following.open


def test_stop_that_would_trigger_at_once_is_refused(db):
    paper, _ = desk(db, 0)
    with pytest.raises(OrderRejected) as raised:
        paper.place_order(OrderRequest("BTC_JPY", SELL, STOP, D("0.01"), btc()[0].close))
    assert raised.value.reason == "stop_would_trigger"


def test_spot_cannot_go_short(db):
    paper, _ = desk(db, 0)
    with pytest.raises(InsufficientFunds, match="spot cannot go short"):
        paper.place_order(OrderRequest("BTC", SELL, MARKET, D("0.01")))


def test_orders_beyond_the_balance_are_refused(db):
    paper, _ = desk(db, 0, jpy="100")
    with pytest.raises(InsufficientFunds):
        paper.place_order(OrderRequest("BTC_JPY", BUY, MARKET, D("0.01")))
    assert paper.active_orders("BTC_JPY") == [] and paper.latest_executions("BTC_JPY") == []


def test_leverage_short_opens_and_closes_with_the_profit(db):
    paper, feed = desk(db, 0)
    paper.place_order(OrderRequest("BTC_JPY", SELL, MARKET, D("0.02")))
    (position,) = paper.open_positions("BTC_JPY")
    entry = btc()[0].close
    assert (position.side, position.price, position.size) == (SELL, entry, D("0.02"))
    feed.advance()
    exit_price = btc()[1].close
    order_id = paper.close_order(
        CloseRequest("BTC_JPY", BUY, MARKET, position.position_id, D("0.02"))
    )
    (fill,) = paper.executions(order_id)
    assert fill.loss_gain == (entry - exit_price) * D("0.02")
    assert paper.open_positions("BTC_JPY") == []
    assert paper.assets()[0].amount == D("1000000") + fill.loss_gain  # BTC_JPY fees are 0


def test_close_order_checks_side_and_size(db):
    paper, _ = desk(db, 0)
    paper.place_order(OrderRequest("BTC_JPY", BUY, MARKET, D("0.01")))
    (position,) = paper.open_positions("BTC_JPY")
    with pytest.raises(OrderRejected, match="needs side SELL"):
        paper.close_order(CloseRequest("BTC_JPY", BUY, MARKET, position.position_id, D("0.01")))
    with pytest.raises(OrderRejected, match="exceeds"):
        paper.close_order(CloseRequest("BTC_JPY", SELL, MARKET, position.position_id, D("0.02")))
    with pytest.raises(NotFound):
        paper.close_order(CloseRequest("BTC_JPY", SELL, MARKET, 999999, D("0.01")))


def fee_rows(db) -> list[tuple]:
    """Return the paper ledger's leverage fees as (UTC time, amount, reference)."""
    rows = db.execute(
        "SELECT at, amount, reference FROM paper_ledger WHERE kind = 'leverage_fee' ORDER BY id"
    ).fetchall()
    return [(at[11:16], D(amount), ref) for at, amount, ref in rows]


def test_leverage_fee_charged_for_each_0600_jst_crossed_at_the_days_close(db):
    i = next(k for k, c in enumerate(btc()) if c.open_time.hour == 20 and c.open_time.minute == 0)
    paper, feed = desk(db, i)  # now = 20:15 UTC = 05:15 JST
    paper.place_order(OrderRequest("BTC_JPY", BUY, MARKET, D("1")))
    (position,) = paper.open_positions("BTC_JPY")
    for _ in range(6):
        feed.advance()  # past 21:00 UTC = 06:00 JST: the fee is due at the 20:45 candle's close
    before = paper.assets()[0].amount
    close = btc()[i + 3].close  # the candle 20:45-21:00 UTC
    fee = position_fee(D("1"), close, D("0.0004"))
    assert fee > 0 and fee == int(fee)  # whole yen
    assert fee_rows(db) == [("21:00", -fee, f"position {position.position_id}")]
    for _ in range(4):
        feed.advance()
    assert paper.assets()[0].amount == before  # no new boundary crossed yet


def test_a_position_closed_after_a_boundary_pays_it_even_when_both_are_seen_at_once(db):
    c = btc()

    def falls_after_six(k: int) -> bool:  # the lows after 06:00 JST undercut everything before
        return min(x.low for x in c[k + 4 : k + 8]) < min(x.low for x in c[k : k + 4]) - 2

    i = next(k for k in range(len(c) - 8) if c[k].open_time.hour == 20 and falls_after_six(k))
    paper, feed = desk(db, i)  # 05:15 JST
    paper.place_order(OrderRequest("BTC_JPY", BUY, MARKET, D("1")))
    (position,) = paper.open_positions("BTC_JPY")
    stop = min(x.low for x in c[i : i + 4]) - 1  # reached only after 06:00 JST
    paper.close_order(CloseRequest("BTC_JPY", SELL, STOP, position.position_id, D("1"), stop))
    for _ in range(8):
        feed.advance()  # no private read in between: one sync sees the boundary and the stop
    assert paper.open_positions("BTC_JPY") == []
    assert [r[0] for r in fee_rows(db)] == ["21:00"]


def test_change_order_to_a_crossing_price_expires_a_post_only(db):
    paper, _ = desk(db, 0)
    order_id = paper.place_order(
        OrderRequest("BTC_JPY", BUY, LIMIT, D("0.01"), btc()[0].close - 100, SOK)
    )
    paper.change_order(order_id, btc()[0].close + 1)
    assert paper.orders([order_id])[0].cancel_type == "EXPIRED_SOK"


def test_cancel_and_state_survive_a_restart(db):
    paper, feed = desk(db, 0)
    order_id = paper.place_order(
        OrderRequest("BTC_JPY", BUY, LIMIT, D("0.01"), btc()[0].close - 5000, SOK)
    )
    again = PaperExchange(
        db, feed, starting_jpy=D("5"), rules=RULES
    )  # existing account keeps its balance
    assert [o.order_id for o in again.active_orders("BTC_JPY")] == [order_id]
    assert again.assets()[0].amount == D("1000000")
    again.cancel_order(order_id)
    assert paper.orders([order_id])[0].status == "CANCELED"


def test_margin_reflects_positions_and_resting_orders(db):
    paper, _ = desk(db, 0)
    paper.place_order(OrderRequest("BTC_JPY", BUY, MARKET, D("0.02")))
    margin = paper.margin()
    assert margin.margin == btc()[0].close * D("0.02") / 2
    assert margin.available_amount == D("1000000") - margin.margin


def test_candle_feed_never_shows_the_future():
    feed = CandleFeed({"BTC_JPY": btc()}, start=btc()[10].open_time + timedelta(minutes=15))
    assert feed.ticker("BTC_JPY").last == btc()[10].close
    assert feed.price_bars("BTC_JPY", btc()[0].open_time)[-1] == btc()[10]
    day = f"{(btc()[10].open_time + timedelta(hours=9, minutes=-360)):%Y%m%d}"
    assert all(c.open_time <= btc()[10].open_time for c in feed.klines("BTC_JPY", "15m", day))


def test_a_resting_close_uses_the_closable_size_like_gmo(db):
    paper, _ = desk(db, 0)
    paper.place_order(OrderRequest("BTC_JPY", BUY, MARKET, D("0.01")))
    (position,) = paper.open_positions("BTC_JPY")
    low = btc()[0].close - 1000
    paper.close_order(CloseRequest("BTC_JPY", SELL, STOP, position.position_id, D("0.01"), low))
    with pytest.raises(OrderRejected) as raised:
        paper.close_order(CloseRequest("BTC_JPY", SELL, MARKET, position.position_id, D("0.01")))
    assert raised.value.code == "ERR-200"


def test_a_position_without_its_stop_is_settled_by_its_loss_cut_with_the_fee(db):
    i = first(lambda c, n: n.low < c.close - 50)
    current, following = btc()[i], btc()[i + 1]
    paper, feed = desk(db, i)
    cut = current.close - 50
    entry = paper.place_order(
        OrderRequest("BTC_JPY", BUY, LIMIT, D("0.01"), current.close + 1, FAS, cut)
    )
    (position,) = paper.open_positions("BTC_JPY")
    assert (
        position.losscut_price == cut and paper.active_orders("BTC_JPY") == []
    )  # no order until it fires
    feed.advance()
    assert paper.open_positions("BTC_JPY") == []
    (closing,) = [e for e in paper.latest_executions("BTC_JPY") if e.order_id != entry]
    (order,) = paper.orders([closing.order_id])
    assert order.order_type == "LOSSCUT"
    assert closing.price == min(cut, following.open)
    assert closing.fee == closing.price * D("0.01") * D("0.005")


def test_a_stop_in_front_of_the_loss_cut_fires_first_and_the_loss_cut_goes(db):
    i = first(lambda c, n: n.low < c.close - 80)
    current = btc()[i]
    paper, feed = desk(db, i)
    paper.place_order(
        OrderRequest("BTC_JPY", BUY, LIMIT, D("0.01"), current.close + 1, FAS, current.close - 80)
    )
    (position,) = paper.open_positions("BTC_JPY")
    stop = paper.close_order(
        CloseRequest("BTC_JPY", SELL, STOP, position.position_id, D("0.01"), current.close - 40)
    )
    feed.advance()
    assert paper.orders([stop])[0].status == "EXECUTED"
    fees = [e.fee for e in paper.latest_executions("BTC_JPY")]
    assert all(f == 0 for f in fees)  # no loss-cut fee: the stop closed the position


def statements_of(db, action) -> list[str]:
    """Return the SQL statements an action runs on this connection."""
    seen: list[str] = []
    db.conn.set_trace_callback(seen.append)
    try:
        action()
    finally:
        db.conn.set_trace_callback(None)
    return seen


def resting_after_a_candle(db, feed_of=lambda feed: feed) -> tuple[PaperExchange, CandleFeed]:
    """Return a paper exchange with a resting buy far below the market, synced one candle later."""
    feed = CandleFeed({"BTC_JPY": btc()}, start=btc()[0].open_time + timedelta(minutes=15))
    paper = PaperExchange(db, feed_of(feed), starting_jpy=D("1000000"), rules=RULES)
    price = (btc()[0].close / 2).quantize(CENT)
    paper.place_order(OrderRequest("BTC_JPY", BUY, LIMIT, D("0.01"), price, SOK))
    assert feed.advance()
    paper.sync()
    return paper, feed


def reads_paper_orders(statements: list[str]) -> bool:
    """Return True when a sync looked at the resting orders again."""
    return any("FROM paper_orders" in s for s in statements)


def test_a_second_sync_at_the_same_candle_with_nothing_written_does_nothing(db):
    paper, _ = resting_after_a_candle(db)
    assert statements_of(db, paper.sync) == ["PRAGMA data_version"]


def test_a_sync_after_a_write_or_a_new_candle_runs_again(db, db_path):
    paper, feed = resting_after_a_candle(db)
    other = open_db(db_path)  # another process (the cycle beside the bot) commits a change
    set_value(other, "test_note", "other process", feed.now(), "test")
    other.close()
    assert reads_paper_orders(statements_of(db, paper.sync))
    set_value(db, "test_note", "this process", feed.now(), "test")
    assert reads_paper_orders(statements_of(db, paper.sync))
    assert feed.advance()
    assert reads_paper_orders(statements_of(db, paper.sync))


class OutsideFeed:
    """A feed whose bars come from outside (like the live feed): same answers as a candle feed."""

    def __init__(self, feed: CandleFeed):
        self.feed, self.step = feed, feed.step

    def __getattr__(self, name):
        return getattr(self.feed, name)


def test_a_feed_that_is_not_a_replay_is_synced_every_time(db):
    paper, _ = resting_after_a_candle(db, OutsideFeed)
    assert reads_paper_orders(statements_of(db, paper.sync))
