"""GMO signing: the spec's test vectors, and the headers a private request carries."""

from __future__ import annotations

import pytest

from signaldesk.exchange.signing import auth_headers, sign, signature_text

SECRET, STAMP = "YOUR_SECRET_KEY", "1700000000000"
ORDER_BODY = (
    '{"symbol":"BTC","side":"BUY","executionType":"LIMIT","timeInForce":"SOK",'
    '"price":"10000000","size":"0.0001"}'
)


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"),
    [
        (
            "GET",
            "/v1/account/assets",
            "",
            "a57c5354b7ca67b669ff89bbfd03f541961ea1ff75c45e29fb9500dc4fecc653",
        ),
        (
            "GET",
            "/v1/activeOrders?symbol=BTC",
            "",
            "5b03a1f032e1a52b0f1cd7ca638fb28b9f039f7dd5de889c66d5aa78be19deb7",
        ),
        (
            "POST",
            "/v1/order",
            ORDER_BODY,
            "6abaf5489ddf9785f7b7e30f9c941bd28ac40401c34589f2025e7bca1963198a",
        ),
        (
            "POST",
            "/v1/ws-auth",
            "{}",
            "976ae48f28c61310e1d9992afea6e38315d22c4c5b6af0c51298b360e6ae57ef",
        ),
        (
            "PUT",
            "/v1/ws-auth",
            '{"token":"xxxxxxxxxxxxxxxxxxxx"}',
            "65ba72b89be303a6248e331a15ecb515a47c6b56e553af6df06c46b6176cf75e",
        ),
    ],
)
def test_spec_signing_vectors(method, path, body, expected):
    assert sign(SECRET, STAMP, method, path, body) == expected


def test_signed_path_drops_private_prefix_and_query():
    assert (
        signature_text(STAMP, "GET", "/private/v1/activeOrders?symbol=BTC")
        == STAMP + "GET/v1/activeOrders"
    )


def test_headers_carry_key_timestamp_signature_and_json_type_for_a_body():
    headers = auth_headers("KEY", SECRET, 1700000000000, "POST", "/v1/ws-auth", "{}")
    assert headers == {
        "API-KEY": "KEY",
        "API-TIMESTAMP": STAMP,
        "Content-Type": "application/json",
        "API-SIGN": "976ae48f28c61310e1d9992afea6e38315d22c4c5b6af0c51298b360e6ae57ef",
    }
