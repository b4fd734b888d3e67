"""Protection through the live client against the strict fake GMO, in process: loss-cuts from the
first fill, protection before removal, lost answers matched to their own position at once, adopted
strangers, GMO's own loss-cut recorded as the exit, and a desk that cannot see the exchange."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest

from signaldesk.clock import utc_now
from signaldesk.exchange.factory import build_gmo
from signaldesk.exchange.model import CloseRequest, OrderRequest
from signaldesk.execution import execute_signal, manage_trades, reconcile
from signaldesk.state import get_value, trading_state
from tests.execution.test_trade_life_gmo import SYMBOL, enter, quote, signal, trade
from tests.fakes.gmo_server import FakeGmo

D = Decimal


@pytest.fixture
def fake():
    with FakeGmo(timeout_sleep=1.0) as server:
        yield server


@pytest.fixture
def desk(fake, make_settings, tmp_path):
    """Return a factory of (settings, exchange) for the fake with extra [risk] settings."""
    clients = []

    def build(risk: str = ""):
        (tmp_path / "c.toml").write_text(f"[risk]\n{risk}\n", encoding="utf-8")
        settings = make_settings(
            SIGNALDESK_MODE="live",
            **fake.env(),
            SIGNALDESK_CONFIG=str(tmp_path / "c.toml"),
        )
        http = httpx.Client(timeout=0.5)
        clients.append(http)
        return settings, build_gmo(settings, http, sleep=lambda s: None)

    yield build
    for http in clients:
        http.close()


def test_every_position_carries_a_loss_cut_behind_the_stop_from_its_first_fill(db, fake, desk):
    settings, exchange = desk()
    trade_id, _, _ = enter(db, fake, settings, exchange, "LONG")
    (position,) = exchange.open_positions(SYMBOL)
    row = trade(db, trade_id)
    stop, entry = D(row["stop_loss"]), D(row["entry_price"])
    assert position.losscut_price == stop - settings.risk.losscut_buffer * (entry - stop)
    assert position.losscut_price < stop < entry


def test_an_exit_moves_the_loss_cut_up_to_the_stop_before_any_stop_is_cancelled(db, fake, desk):
    settings, exchange = desk()
    trade_id, _, now = enter(db, fake, settings, exchange, "LONG")
    manage_trades(db, exchange, settings, now + timedelta(hours=5))  # the time stop
    writes = [(m, p) for m, p, _, _ in fake.requests if m == "POST"]
    first_cancel = writes.index(("POST", "/v1/cancelOrder"))
    assert ("POST", "/v1/changeLosscutPrice") in writes[:first_cancel]
    assert trade(db, trade_id)["status"] == "closed"
    assert fake.cover.report()["longest_bare_s"] == 0


def test_a_lost_stop_never_placed_does_not_take_the_next_look_alike(db, fake, desk):
    settings, exchange = desk(
        "max_trades_per_symbol = 2\nrisk_per_trade = 0.001\nmax_position_fraction = 0.5"
    )
    quote(fake, 1, 0)
    now = utc_now()
    ids = [
        execute_signal(db, exchange, settings, signal(db, "LONG", now - timedelta(minutes=m)), now)
        for m in (15, 0)  # two signals of two candles, the same plan: look-alike trades
    ]
    assert [o.status for o in ids] == ["EXECUTED"] * 2, ids
    ids = [outcome.trade_id for outcome in ids]
    for entry in exchange.active_orders(SYMBOL):
        fake.trade_at(SYMBOL, str(entry.price), size=str(entry.size))
    fake.fail_next("/v1/closeOrder", "reset_before")  # trade 1's first stop: never reaches GMO
    fake.fail_next("/v1/closeOrder", "reset_after")  # its second: created, answer lost
    fake.fail_next(
        "/v1/closeOrder", "reset_after", times=2
    )  # trade 2's stops: created, answers lost
    manage_trades(db, exchange, settings, now)
    manage_trades(db, exchange, settings, now + timedelta(seconds=5))
    positions = {
        t: {
            p
            for (p,) in db.execute(
                "SELECT f.position_id FROM fills f JOIN orders o ON o.id = "
                "f.order_id WHERE o.trade_id = ?",
                [t],
            ).fetchall()
        }
        for t in ids
    }
    for trade_id in ids:
        rows = db.execute(
            "SELECT exchange_order_id, position_id FROM orders WHERE trade_id = ? AND purpose = 'stop' "
            "AND status = 'OPEN'",
            [trade_id],
        ).fetchall()
        assert rows and all(fake.order(x)["orderId"] == x for x, _ in rows)
        assert {p for _, p in rows} == positions[trade_id]  # each trade's stops close its position
        with fake.lock:
            assert all(fake.orders[x]["positionId"] in positions[trade_id] for x, _ in rows)
    assert db.execute(
        "SELECT COUNT(*) FROM orders WHERE status IN ('PLACING', 'UNKNOWN')"
    ).fetchone() == (0,)
    assert fake.cover.report()["stopless_over_10s"] == 0


def test_a_position_without_a_desk_trade_is_adopted_protected_and_reported(db, fake, desk):
    settings, exchange = desk()
    quote(fake, 1, 0)
    exchange.place_order(
        OrderRequest(SYMBOL, "BUY", "MARKET", D("0.01"))
    )  # by hand, on the website
    report = reconcile(db, exchange, settings, utc_now())
    (notice,) = [n for n in report.notices if "without a desk trade" in n]
    assert "adopted as trade #1, protected with a stop at" in notice
    row = trade(db, 1)
    assert (row["status"], row["origin"], row["direction"]) == ("open", "adopted", "LONG")
    manage_trades(db, exchange, settings, utc_now())
    stops = [o for o in exchange.active_orders(SYMBOL) if o.execution_type == "STOP"]
    assert sum(o.size for o in stops) == D("0.010")


def test_an_adopted_position_is_closed_when_the_setting_says_so(db, fake, desk):
    settings, exchange = desk('orphan_positions = "close"')
    quote(fake, 1, 0)
    exchange.place_order(OrderRequest(SYMBOL, "SELL", "MARKET", D("0.01")))
    reconcile(db, exchange, settings, utc_now())
    manage_trades(db, exchange, settings, utc_now())
    assert exchange.open_positions(SYMBOL) == []
    assert (trade(db, 1)["status"], trade(db, 1)["exit_reason"]) == ("closed", "emergency")


def test_gmos_own_loss_cut_is_recorded_as_the_stop_loss_exit(db, fake, desk):
    settings, exchange = desk()
    trade_id, _, now = enter(db, fake, settings, exchange, "LONG")
    for stop in exchange.active_orders(SYMBOL):  # someone removed the stops on the website
        exchange.cancel_order(stop.order_id)
    (position,) = exchange.open_positions(SYMBOL)
    time.sleep(fake.cancel_delay + 0.1)
    fake.trade_at(SYMBOL, str(position.losscut_price - 1000))  # the loss-cut fires
    notices = manage_trades(db, exchange, settings, now)
    row = trade(db, trade_id)
    assert (row["status"], row["exit_reason"]) == ("closed", "stop_loss")
    assert any("GMO loss-cut" in n for n in notices)
    assert D(row["fees_jpy"]) > 0  # the 0.5 % loss-cut fee is in the trade's result


def test_a_close_with_its_answer_lost_is_resolved_at_once_not_after_minutes(db, fake, desk):
    settings, exchange = desk()
    trade_id, _, now = enter(db, fake, settings, exchange, "LONG")
    fake.fail_next("/v1/closeOrder", "reset_after")
    manage_trades(db, exchange, settings, now + timedelta(hours=5))  # time stop; its answer is lost
    assert trade(db, trade_id)["status"] == "closed"
    lost = db.execute(
        "SELECT status, error FROM orders WHERE purpose = 'exit' ORDER BY id LIMIT 1"
    ).fetchone()
    assert lost[0] == "FILLED" and lost[1].startswith("outcome was unknown; found on the exchange")


def test_failing_reads_count_toward_the_halt_and_a_clean_step_resets_the_count(db, fake, desk):
    settings, exchange = desk()
    trade_id, _, now = enter(db, fake, settings, exchange, "LONG")
    fake.fail_next("/v1/openPositions", "http503", times=100)
    for step in range(settings.health.api_failures_to_halt):
        manage_trades(db, exchange, settings, now + timedelta(seconds=step))
    state = trading_state(db)
    assert state.halted and state.reason.startswith("3 management steps in a row failed")
    alerts = db.execute("SELECT kind, severity FROM outbox ORDER BY id").fetchall()
    assert ("protection", "critical") in alerts and ("api_failures", "critical") in alerts
    fake.faults.clear()
    notices = manage_trades(db, exchange, settings, now + timedelta(seconds=10))
    assert get_value(db, "desk_api_failures") == "0"
    assert "Trade management sees the exchange again after 3 failed step(s)." in notices
    assert trade(db, trade_id)["status"] == "open" and trading_state(db).halted  # /resume lifts it


def test_a_hand_close_of_half_a_position_is_recorded_and_the_rest_stays_covered(db, fake, desk):
    settings, exchange = desk()
    trade_id, _, now = enter(db, fake, settings, exchange, "LONG")
    (position,) = exchange.open_positions(SYMBOL)
    share = [o for o in exchange.active_orders(SYMBOL)][0]
    exchange.cancel_order(share.order_id)
    time.sleep(fake.cancel_delay + 0.1)
    half = position.size / 2
    exchange.close_order(CloseRequest(SYMBOL, "SELL", "MARKET", position.position_id, half))
    manage_trades(db, exchange, settings, now)
    row = trade(db, trade_id)
    assert D(row["remaining_size"]) == half and row["status"] == "open"
    stops = [o for o in exchange.active_orders(SYMBOL) if o.execution_type == "STOP"]
    assert sum(o.size - o.executed_size for o in stops) == half
