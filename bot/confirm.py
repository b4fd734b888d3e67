"""Confirm steps for destructive commands (/stop flatten, /close_<id>): a Confirm / Cancel pair that
expires.

Each request gets a random key named by its buttons; it is answered once, only from its own message,
within `seconds` (60 by default). Requests live in memory on purpose: after a restart every old
Confirm button is refused as expired, so nothing destructive survives a crash half-asked.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.views import confirm_buttons
from signaldesk.i18n import Words

BUTTON = re.compile(r"^(confirm|cancel):([0-9a-f]{8})$", re.ASCII)


@dataclass
class Confirmation:
    """One destructive request waiting for its Confirm tap."""

    key: str
    action: str  # "flatten" or "close"
    by: str
    expires: float  # time.monotonic()
    trade_id: int | None = None
    message_id: int | None = None


class Confirmations:
    """The open confirm requests of the running bot."""

    def __init__(self, seconds: float, clock=time.monotonic):
        self.seconds, self.clock = seconds, clock
        self._open: dict[str, Confirmation] = {}

    def ask(self, action: str, by: str, trade_id: int | None = None) -> Confirmation:
        """Open a request; its buttons carry a fresh random key."""
        self._forget_expired()
        request = Confirmation(
            secrets.token_hex(4), action, by, self.clock() + self.seconds, trade_id
        )
        self._open[request.key] = request
        return request

    def take(
        self, key: str, answer: str, message_id: int | None
    ) -> tuple[str, Confirmation | None]:
        """Answer a request once: return ("confirmed" | "cancelled", it), or why not ("expired",
        "foreign")."""
        request = self._open.get(key)
        if request is None or request.expires < self.clock():
            self._open.pop(key, None)
            return "expired", None
        if request.message_id is None or request.message_id != message_id:
            return "foreign", None
        del self._open[key]
        return ("confirmed" if answer == "confirm" else "cancelled"), request

    def _forget_expired(self) -> None:
        """Drop requests past their time (their buttons then answer "expired")."""
        now = self.clock()
        for key in [k for k, r in self._open.items() if r.expires < now]:
            del self._open[key]


def confirm_keyboard(request: Confirmation, words: Words) -> InlineKeyboardMarkup:
    """Return the Confirm / Cancel buttons of one request, labelled in the desk's language."""
    confirm, cancel = confirm_buttons(words)
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(confirm, callback_data=f"confirm:{request.key}"),
                InlineKeyboardButton(cancel, callback_data=f"cancel:{request.key}"),
            ]
        ]
    )
