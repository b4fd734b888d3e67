"""GMO Coin error codes, HTTP statuses and transport failures translated once into the desk's error
taxonomy."""

from __future__ import annotations

from signaldesk.exchange.errors import (
    AuthError,
    ExchangeError,
    InsufficientFunds,
    InvalidRequest,
    Maintenance,
    NotFound,
    OrderRejected,
    RateLimited,
    TemporaryError,
)

# message_code -> (error class, reject reason or "", what it means); every code of spec §8.2.
CODES: dict[str, tuple[type[ExchangeError], str, str]] = {
    "ERR-70": (OrderRejected, "position_conflict", "close order side does not match the position"),
    "ERR-189": (OrderRejected, "position_conflict", "close size exceeds the position"),
    "ERR-200": (OrderRejected, "position_conflict", "active orders already use the orderable size"),
    "ERR-201": (InsufficientFunds, "insufficient_funds", "insufficient funds or trading margin"),
    "ERR-208": (InsufficientFunds, "insufficient_funds", "size exceeds the available balance"),
    "ERR-254": (NotFound, "", "position does not exist"),
    "ERR-422": (NotFound, "", "no matching positions to close"),
    "ERR-430": (NotFound, "", "invalid orderId/executionId"),
    "ERR-554": (TemporaryError, "", "server unavailable"),
    "ERR-626": (TemporaryError, "", "server busy"),
    "ERR-635": (OrderRejected, "too_many_orders", "too many active orders"),
    "ERR-682": (OrderRejected, "margin_call", "margin call occurred; operation refused"),
    "ERR-683": (TemporaryError, "", "margin call processing in progress"),
    "ERR-754": (InsufficientFunds, "insufficient_funds", "not enough transferable amount"),
    "ERR-846": (InvalidRequest, "", "history window longer than 30 minutes"),
    "ERR-5003": (RateLimited, "", "API usage limit exceeded"),
    "ERR-5007": (AuthError, "", "API-TIMESTAMP missing or not numeric"),
    "ERR-5008": (AuthError, "", "API-TIMESTAMP ahead of server time: fix the clock (NTP)"),
    "ERR-5009": (AuthError, "", "API-TIMESTAMP behind server time: fix the clock (NTP)"),
    "ERR-5010": (AuthError, "", "invalid API-SIGN"),
    "ERR-5011": (AuthError, "", "API-KEY empty"),
    "ERR-5012": (AuthError, "", "API authentication invalid (key or permissions)"),
    "ERR-5014": (AuthError, "", "membership agreement not completed"),
    "ERR-5106": (OrderRejected, "invalid_parameter", "invalid request parameter"),
    "ERR-5111": (OrderRejected, "invalid_time_in_force", "timeInForce not allowed for this order"),
    "ERR-5114": (
        OrderRejected,
        "invalid_price",
        "too many decimals (round price to tick, size to step)",
    ),
    "ERR-5118": (OrderRejected, "not_allowed", "losscutPrice cannot be specified here"),
    "ERR-5121": (OrderRejected, "price_band", "order price outside the allowed range"),
    "ERR-5122": (OrderRejected, "order_final", "order can no longer be changed or cancelled"),
    "ERR-5123": (NotFound, "", "order does not exist"),
    "ERR-5125": (AuthError, "", "API trading restricted"),
    "ERR-5126": (OrderRejected, "invalid_size", "size above the maximum or below the minimum"),
    "ERR-5127": (AuthError, "", "API connection restricted"),
    "ERR-5129": (OrderRejected, "stop_would_trigger", "stop price would execute immediately"),
    "ERR-5133": (OrderRejected, "not_allowed", "transfers restricted"),
    "ERR-5135": (OrderRejected, "not_allowed", "FX account not opened"),
    "ERR-5201": (Maintenance, "", "regular maintenance"),
    "ERR-5202": (Maintenance, "", "emergency maintenance"),
    "ERR-5203": (Maintenance, "", "pre-open: orders refused until OPEN"),
    "ERR-5204": (InvalidRequest, "", "invalid API path"),
    "ERR-5206": (OrderRejected, "change_limit", "change-count limit for this order reached"),
    "ERR-5207": (NotFound, "", "invalid symbol, interval or date"),
    "ERR-5208": (InvalidRequest, "", "orderId and executionId both given"),
}


def error_for_code(endpoint: str, code: str, text: str) -> ExchangeError:
    """Return the desk error for one GMO message_code; unknown codes keep their code and text."""
    if code not in CODES:
        return ExchangeError(
            f"unrecognised GMO error: {text}", endpoint=endpoint, code=code, vendor_text=text
        )
    cls, reason, meaning = CODES[code]
    message = f"{meaning} ({text})" if text else meaning
    if issubclass(cls, OrderRejected):
        return cls(message, reason=reason, endpoint=endpoint, code=code, vendor_text=text)
    return cls(message, endpoint=endpoint, code=code, vendor_text=text)


def error_for_http(endpoint: str, status: int, snippet: str) -> ExchangeError:
    """Return the desk error for a non-200 HTTP answer that carried no GMO envelope."""
    text = f"HTTP {status}: {snippet[:120]!r}"
    if status == 429:
        return RateLimited(f"too many requests ({text})", endpoint=endpoint)
    if status in (401, 403):
        return AuthError(f"refused ({text})", endpoint=endpoint)
    if status == 404:
        return NotFound(f"not found ({text})", endpoint=endpoint)
    if status >= 500:
        return TemporaryError(f"server error ({text})", endpoint=endpoint)
    return InvalidRequest(f"unexpected answer ({text})", endpoint=endpoint)
