"""The cycle's last-resort alert: one POST to the Bot API, checked with httpx.MockTransport."""

from __future__ import annotations

import json

import httpx

from signaldesk.notifier import send_alert_direct
from tests.fakes.telegram_server import fixture

TOKEN = "7000000001:TEST-PLACEHOLDER-TOKEN"


def settings_for(make_settings):
    return make_settings(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_CHAT_ID="111111111",
        TELEGRAM_USER_IDS="111111111",
        TELEGRAM_API_URL="http://telegram.test",
    )


def client_answering(status: int, body: dict, seen: list):
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json=body)

    return httpx.Client(transport=httpx.MockTransport(handler))


def test_one_post_with_escaped_html_to_the_configured_chat(make_settings):
    seen = []
    result = send_alert_direct(
        settings_for(make_settings),
        "bot silent <5 min>",
        client_answering(200, fixture("sendMessage_result.json"), seen),
    )
    body = json.loads(seen[0].content)
    assert (
        result.ok
        and len(seen) == 1
        and str(seen[0].url) == f"http://telegram.test/bot{TOKEN}/sendMessage"
    )
    assert body == {"chat_id": 111111111, "text": "bot silent &lt;5 min&gt;", "parse_mode": "HTML"}


def test_429_reports_retry_after(make_settings):
    result = send_alert_direct(
        settings_for(make_settings), "x", client_answering(429, fixture("error_429.json"), [])
    )
    assert (result.ok, result.retry_after) == (False, 5)


def test_network_error_is_a_result_not_an_exception(make_settings):
    def handler(request):
        raise httpx.ConnectError("refused")

    result = send_alert_direct(
        settings_for(make_settings), "x", httpx.Client(transport=httpx.MockTransport(handler))
    )
    assert (result.ok, result.error) == (False, "Telegram sendMessage: network error ConnectError")


def test_missing_settings_send_nothing(make_settings):
    result = send_alert_direct(make_settings(), "x")
    assert result.ok is False and "TELEGRAM_CHAT_ID" in result.error
