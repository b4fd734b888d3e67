"""The exchange error taxonomy: vendor errors translated once, at the boundary, into what the desk
should do."""

from __future__ import annotations


class ExchangeError(Exception):
    """Base of every exchange error; carries the endpoint, the vendor code and its text."""

    def __init__(self, message: str, *, endpoint: str = "", code: str = "", vendor_text: str = ""):
        self.endpoint, self.code, self.vendor_text = endpoint, code, vendor_text
        where = f"{endpoint}: " if endpoint else ""
        tag = f" [{code}]" if code else ""
        super().__init__(f"{where}{message}{tag}")


class TemporaryError(ExchangeError):
    """Transient failure (network, 5xx, server busy): safe to retry a read after a pause."""


class RateLimited(TemporaryError):
    """The exchange said we are too fast (ERR-5003): back off before the next request."""


class Maintenance(ExchangeError):
    """The exchange is in maintenance or pre-open (ERR-5201/5202/5203): wait and tell the
    operator."""


class OrderRejected(ExchangeError):
    """The exchange refused this order (bad price/size, price band, post-only, ...): tell the person
    why.

    `reason` is a short machine-readable word from REJECT_REASONS (e.g. `price_band`,
    `invalid_size`).
    """

    def __init__(
        self,
        message: str,
        *,
        reason: str = "",
        endpoint: str = "",
        code: str = "",
        vendor_text: str = "",
    ):
        self.reason = reason
        super().__init__(message, endpoint=endpoint, code=code, vendor_text=vendor_text)


class InsufficientFunds(OrderRejected):
    """Not enough balance or margin for the order (ERR-201/208): do not retry."""

    def __init__(
        self,
        message: str,
        *,
        reason: str = "insufficient_funds",
        endpoint: str = "",
        code: str = "",
        vendor_text: str = "",
    ):
        super().__init__(
            message, reason=reason, endpoint=endpoint, code=code, vendor_text=vendor_text
        )


class AuthError(ExchangeError):
    """Keys, signature, permissions or clock are wrong (ERR-5008..5014, 5125, 5127): stop and fix
    configuration."""


class NotFound(ExchangeError):
    """The order, position or symbol does not exist (ERR-5123, 254, 422, 5207)."""


class InvalidRequest(ExchangeError):
    """The exchange says our request itself is wrong (bad path, parameter combination): a bug; do
    not retry."""


class MalformedResponse(ExchangeError):
    """The exchange answered something we cannot read; never turned into a number."""


class OrderOutcomeUnknown(ExchangeError):
    """An order POST timed out or broke mid-way: resolve by reconciliation, never by re-posting."""


REJECT_REASONS = (
    "invalid_price",
    "invalid_size",
    "price_band",
    "post_only_would_cross",
    "stop_would_trigger",
    "invalid_time_in_force",
    "not_allowed",
    "too_many_orders",
    "position_conflict",
    "margin_call",
    "order_final",
    "change_limit",
    "insufficient_funds",
    "invalid_parameter",
)
