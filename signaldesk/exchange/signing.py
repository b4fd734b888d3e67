"""GMO Coin private REST signing: HMAC-SHA256 over timestamp + method + path (+ body for POST)."""

from __future__ import annotations

import hashlib
import hmac


def signature_text(timestamp: str, method: str, path: str, body: str = "") -> str:
    """Return the text GMO signs: the body only for POST, the path without `/private` and without
    the query."""
    method = method.upper()
    path = path.split("?", 1)[0]
    if path.startswith("/private/"):
        path = path[len("/private") :]
    return timestamp + method + path + (body if method == "POST" else "")


def sign(secret: str, timestamp: str, method: str, path: str, body: str = "") -> str:
    """Return the lowercase hex API-SIGN of one private request."""
    text = signature_text(timestamp, method, path, body)
    return hmac.new(secret.encode("utf-8"), text.encode("utf-8"), hashlib.sha256).hexdigest()


def auth_headers(
    key: str, secret: str, timestamp_ms: int, method: str, path: str, body: str = ""
) -> dict[str, str]:
    """Return the API-KEY / API-TIMESTAMP / API-SIGN headers (plus Content-Type when a body is
    sent)."""
    timestamp = str(timestamp_ms)
    headers = {
        "API-KEY": key,
        "API-TIMESTAMP": timestamp,
        "API-SIGN": sign(secret, timestamp, method, path, body),
    }
    if body:
        headers["Content-Type"] = "application/json"
    return headers
