"""Last-resort alert: one HTTP POST to the Telegram Bot API, for when the bot daemon itself is not
alive."""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from signaldesk.settings import Settings

log = logging.getLogger("signaldesk.notifier")
TIMEOUT_SECONDS = 10.0
MAX_TEXT = 4000


@dataclass(frozen=True)
class DirectSend:
    """Outcome of one direct send: ok, or why not (and how long Telegram asked us to wait, on
    429)."""

    ok: bool
    error: str = ""
    retry_after: int | None = None


def send_alert_direct(
    settings: Settings, text: str, client: httpx.Client | None = None
) -> DirectSend:
    """POST one escaped HTML message to the configured chat; never raises, never logs the token."""
    if not settings.telegram_bot_token or settings.telegram_chat_id is None:
        return DirectSend(
            False, "TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID must be set to send alerts"
        )
    url = f"{settings.urls.telegram_api}/bot{settings.telegram_bot_token.reveal()}/sendMessage"
    body = {
        "chat_id": settings.telegram_chat_id,
        "text": html.escape(text[:MAX_TEXT]),
        "parse_mode": "HTML",
    }
    own = client is None
    client = client or httpx.Client(timeout=TIMEOUT_SECONDS)
    try:
        return _answer(client.post(url, json=body))
    except httpx.HTTPError as exc:
        return DirectSend(False, f"Telegram sendMessage: network error {type(exc).__name__}")
    finally:
        if own:
            client.close()


def _answer(response: httpx.Response) -> DirectSend:
    """Turn the Bot API answer into a DirectSend."""
    try:
        payload = response.json()
    except ValueError:
        return DirectSend(
            False, f"Telegram sendMessage: HTTP {response.status_code} with a non-JSON body"
        )
    if not isinstance(payload, dict):
        return DirectSend(
            False, f"Telegram sendMessage: HTTP {response.status_code} with an unexpected body"
        )
    if response.is_success and payload.get("ok") is True:
        return DirectSend(True)
    parameters = payload.get("parameters")
    retry = parameters.get("retry_after") if isinstance(parameters, dict) else None
    description = str(payload.get("description", "no description"))[:200]
    return DirectSend(
        False,
        f"Telegram sendMessage: HTTP {response.status_code} {description}",
        int(retry) if isinstance(retry, int) else None,
    )
