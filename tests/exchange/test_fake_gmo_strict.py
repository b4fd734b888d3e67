"""The fake GMO refuses what GMO refuses and behaves as GMO does where the desk's safety depends on
it: signed raw requests (the client would never send these), asynchronous cancels, closable size,
loss-cuts, the private stream."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import httpx
import pytest
from websockets.sync.client import connect

from signaldesk.clock import to_ms, utc_now
from signaldesk.exchange.signing import auth_headers
from tests.fakes.gmo_server import FakeGmo

D = Decimal


@pytest.fixture
def fake():
    with FakeGmo(coins={"BTC": "0.01"}) as server:
        server.set_book("BTC_JPY", bid="9999000", ask="10000000", bid_size="5", ask_size="5")
        server.set_book("BTC", bid="9998000", ask="10001000", bid_size="5", ask_size="5")
        yield server


def call(fake, method: str, path: str, body: dict | None = None, raw: str | None = None) -> dict:
    """Send one signed private request exactly as given; return GMO's envelope."""
    payload = raw if raw is not None else (json.dumps(body) if body is not None else "")
    headers = auth_headers(fake.api_key, fake.api_secret, to_ms(utc_now()), method, path, payload)
    answer = httpx.request(
        method, fake.private_url + path, content=payload or None, headers=headers, timeout=5
    )
    return answer.json()


def code(envelope: dict) -> str:
    """Return the first message code of an envelope ('' for success)."""
    return envelope["messages"][0]["message_code"] if envelope["status"] else ""


def order(fake, **fields) -> dict:
    """Post an order (strings as GMO wants them unless the caller says otherwise)."""
    body = {"symbol": "BTC_JPY", "side": "BUY", "executionType": "LIMIT", "timeInForce": "FAS"}
    return call(fake, "POST", "/v1/order", {**body, **fields})


@pytest.mark.parametrize(
    "fields, expected",
    [
        ({"price": 9990000, "size": "0.01"}, "ERR-5106"),  # a JSON number
        ({"price": "9990000", "size": 0.01}, "ERR-5106"),
        ({"price": "9990000"}, "ERR-5106"),  # no size
        ({"price": "9990000", "size": "0.01", "side": "LONG"}, "ERR-5106"),
        ({"price": "9990000", "size": "0.0010"}, "ERR-5114"),  # more decimals than the step
        ({"price": "9990000.5", "size": "0.01"}, "ERR-5114"),  # off the tick
        (
            {"price": "9990000", "size": "0.01", "timeInForce": "SOK", "symbol": "ETH_JPY"},
            "ERR-5111",
        ),
        ({"price": "9990000", "size": "6"}, "ERR-5126"),  # above the maximum
        ({"price": "9990000", "size": "0.000"}, "ERR-5106"),
        ({"price": "9990000", "size": "0.01", "losscutPrice": "9000000.5"}, "ERR-5114"),
    ],
)
def test_malformed_orders_are_refused_with_gmos_codes(fake, fields, expected):
    assert code(order(fake, **fields)) == expected
    assert fake.orders == {}


def test_a_loss_cut_price_only_on_leverage_limit_and_stop_orders(fake):
    spot = {"symbol": "BTC", "price": "9990000", "size": "0.001", "losscutPrice": "9000000"}
    assert code(order(fake, **spot)) == "ERR-5118"
    market = {"executionType": "MARKET", "size": "0.01", "losscutPrice": "9000000"}
    assert code(order(fake, **market, timeInForce="FAK")) == "ERR-5118"


def test_cancel_is_asynchronous_and_a_second_cancel_is_refused(fake):
    order_id = int(order(fake, price="9990000", size="0.01")["data"])
    assert code(call(fake, "POST", "/v1/cancelOrder", {"orderId": order_id})) == ""
    assert fake.order(order_id)["status"] == "CANCELLING"
    assert code(call(fake, "POST", "/v1/cancelOrder", {"orderId": order_id})) == "ERR-5122"
    assert code(call(fake, "POST", "/v1/cancelOrder", {"orderId": str(order_id)})) == "ERR-5106"
    time.sleep(fake.cancel_delay + 0.1)
    assert (fake.order(order_id)["status"], fake.order(order_id)["cancelType"]) == (
        "CANCELED",
        "USER",
    )


def test_a_changing_order_refuses_a_cancel_for_a_moment(fake):
    fake.modify_delay = 0.5
    order_id = int(order(fake, price="9990000", size="0.01")["data"])
    body = {"orderId": order_id, "price": "9991000"}
    assert code(call(fake, "POST", "/v1/changeOrder", body)) == ""
    assert fake.order(order_id)["status"] == "MODIFYING"
    assert code(call(fake, "POST", "/v1/cancelOrder", {"orderId": order_id})) == "ERR-5122"
    time.sleep(fake.modify_delay + 0.1)
    assert code(call(fake, "POST", "/v1/cancelOrder", {"orderId": order_id})) == ""


def open_long(fake, losscut: str | None = None) -> int:
    """Fill a 0.01 BTC_JPY long and return its position id."""
    fields = {"price": "9999000", "size": "0.01"} | ({"losscutPrice": losscut} if losscut else {})
    order(fake, **fields)
    fake.trade_at("BTC_JPY", "9999000")
    (position_id,) = fake.positions
    return position_id


def close(fake, position_id: int, kind: str, size: str, price: str | None = None) -> dict:
    """Send a closeOrder for a long."""
    body = {
        "symbol": "BTC_JPY",
        "side": "SELL",
        "executionType": kind,
        "settlePosition": [{"positionId": position_id, "size": size}],
    }
    if price:
        body["price"] = price
    return call(fake, "POST", "/v1/closeOrder", body)


def test_closes_beyond_the_closable_size_are_refused_until_the_cancel_is_done(fake):
    fake.cancel_delay = 2.0  # long enough that the close right after the cancel meets it CANCELLING
    position_id = open_long(fake)
    stop_id = int(close(fake, position_id, "STOP", "0.01", "9900000")["data"])
    assert code(close(fake, position_id, "MARKET", "0.01")) == "ERR-200"
    assert code(close(fake, position_id, "MARKET", "0.02")) == "ERR-189"
    call(fake, "POST", "/v1/cancelOrder", {"orderId": stop_id})
    assert code(close(fake, position_id, "MARKET", "0.01")) == "ERR-200"  # still CANCELLING
    time.sleep(fake.cancel_delay + 0.1)
    assert code(close(fake, position_id, "MARKET", "0.01")) == ""
    assert fake.positions == {}


def test_spot_sells_beyond_the_balance_net_of_resting_sells_are_refused(fake):
    body = {"symbol": "BTC", "side": "SELL", "executionType": "LIMIT", "size": "0.006"}
    assert code(call(fake, "POST", "/v1/order", {**body, "price": "10100000"})) == ""
    assert code(call(fake, "POST", "/v1/order", {**body, "price": "10200000"})) == "ERR-208"


def test_a_loss_cut_settles_the_position_with_the_fee_and_can_be_moved(fake):
    position_id = open_long(fake, losscut="9800000")
    assert fake.positions[position_id]["losscutPrice"] == D("9800000")
    moved = {"positionId": position_id, "losscutPrice": "9850000"}
    assert code(call(fake, "POST", "/v1/changeLosscutPrice", moved)) == ""
    fake.trade_at("BTC_JPY", "9860000")
    assert position_id in fake.positions
    fake.trade_at("BTC_JPY", "9850000")
    assert fake.positions == {}
    (cut,) = [o for o in fake.orders.values() if o["orderType"] == "LOSSCUT"]
    (execution,) = [e for e in fake.executions if e["orderId"] == cut["orderId"]]
    assert D(execution["fee"]) == D("9850000") * D("0.01") * D("0.005")


def test_a_partial_trade_fills_part_of_an_order(fake):
    order_id = int(order(fake, price="9999000", size="0.01")["data"])
    fake.trade_at("BTC_JPY", "9999000", size="0.004")
    assert fake.order(order_id)["executedSize"] == "0.004"
    assert fake.order(order_id)["status"] == "ORDERED"


def test_ws_tokens_are_created_extended_and_refused_when_unknown(fake):
    token = call(fake, "POST", "/v1/ws-auth", {})["data"]
    assert code(call(fake, "PUT", "/v1/ws-auth", {"token": token})) == ""
    assert code(call(fake, "PUT", "/v1/ws-auth", {"token": "nope"})) == "ERR-5106"
    assert code(call(fake, "DELETE", "/v1/ws-auth", {"token": token})) == ""
    with pytest.raises(Exception, match="401"):
        connect(f"{fake.ws_private_url}/{token}", open_timeout=2)


def test_the_private_stream_pushes_fills_and_paces_subscriptions(fake):
    token = call(fake, "POST", "/v1/ws-auth", {})["data"]
    with connect(f"{fake.ws_private_url}/{token}") as ws:
        ws.send(json.dumps({"command": "subscribe", "channel": "executionEvents"}))
        ws.send(json.dumps({"command": "subscribe", "channel": "orderEvents"}))  # too soon
        assert json.loads(ws.recv(timeout=2)) == {"error": "ERR-5003 Request too many."}
        open_long(fake)
        push = json.loads(ws.recv(timeout=2))
    assert (push["channel"], push["msgType"], push["settleType"]) == (
        "executionEvents",
        "ER",
        "OPEN",
    )
    assert push["positionId"] in fake.positions and push["orderExecutedSize"] == "0.01"
