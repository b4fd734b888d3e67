"""Errors that blind the desk: every exchange call of a management step watched, failing steps
counted in a row.

A step fails when any call raised an exchange error other than the refusal of one order
(OrderRejected) or a missing object (NotFound): timeouts, lost answers, 5xx, rate limits,
maintenance, unreadable answers. The first failing step that leaves an open position without
confirmed protection tells the person at once (the loss-cut and the stops already on the exchange
keep guarding); `[health] api_failures_to_halt` failing steps in a row halt trading, like the
cycle's failures, with the reason. A clean step resets the count.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from signaldesk.clock import to_db
from signaldesk.exchange.errors import ExchangeError, NotFound, OrderRejected
from signaldesk.execution.notices import Notice
from signaldesk.outbox import queue_alert
from signaldesk.state import get_value, halt, set_value

FAILURES_KEY = "desk_api_failures"
WRITES = frozenset(
    {
        "place_order",
        "close_order",
        "close_bulk",
        "cancel_order",
        "cancel_orders",
        "cancel_bulk",
        "change_order",
        "change_losscut_price",
    }
)
SINCE_KEY = "desk_api_failures_since"


class WatchedExchange:
    """An exchange whose calls are counted and whose blinding errors are remembered (the calls are
    unchanged)."""

    def __init__(self, inner):
        self.inner = inner
        self.failures: list[ExchangeError] = []
        self.blind: list[ExchangeError] = []  # failed reads: the desk cannot see the exchange
        self.calls = 0

    def __getattr__(self, name: str):
        attribute = getattr(self.inner, name)
        if not callable(attribute):
            return attribute

        def watched(*args, **kwargs):
            self.calls += 1
            try:
                return attribute(*args, **kwargs)
            except (OrderRejected, NotFound):
                raise
            except ExchangeError as exc:
                self.failures.append(exc)
                if name not in WRITES:
                    self.blind.append(exc)
                raise

        return watched


def unprotected_text(unconfirmed: Sequence, error: ExchangeError) -> Notice:
    """Return the alert for open trades whose protection could not be confirmed."""
    names = ", ".join(f"#{t.id} {t.direction} {t.symbol}" for t in unconfirmed)
    text = (
        f"Protection not confirmed for open trade(s) {names}: the exchange did not answer ({error}). "
        f"The stops and loss-cuts already on the exchange keep guarding; the desk keeps retrying."
    )
    trades = [[t.id, t.direction, t.symbol] for t in unconfirmed]
    return Notice(text, "unprotected", trades=trades, error=str(error))


def after_step(
    db, settings, watched: WatchedExchange, unconfirmed: Sequence, now: datetime
) -> list[str]:
    """Count a failing step (or reset the count after a clean one); alert and halt as described
    above."""
    count = int(get_value(db, FAILURES_KEY) or 0)
    if not watched.failures:
        if count:
            set_value(db, FAILURES_KEY, "0", now, "desk")
            text = f"Trade management sees the exchange again after {count} failed step(s)."
            return [Notice(text, "management_back", count=count)]
        return []
    count += 1
    set_value(db, FAILURES_KEY, str(count), now, "desk")
    if count == 1:
        set_value(db, SINCE_KEY, to_db(now), now, "desk")
    since = get_value(db, SINCE_KEY) or to_db(now)
    last = watched.failures[-1]
    exposed = [t for t, _ in unconfirmed if t.status == "open"]
    if exposed:
        queue_alert(
            db,
            "critical",
            "protection",
            unprotected_text(exposed, last),
            now,
            dedupe_key=f"protection:{since}",
        )
    if count >= settings.health.api_failures_to_halt:
        reason = f"{count} management steps in a row failed talking to the exchange (last: {last})"
        if halt(db, reason, now, "desk"):
            text = (
                f"Trading halted: {reason}. Open positions keep their exchange-side stops and "
                f"loss-cuts; /resume lifts the halt once the exchange answers."
            )
            notice = Notice(text, "management_halt", count=count, error=str(last))
            key = f"desk_api_failures:{since}"
            queue_alert(db, "critical", "api_failures", notice, now, dedupe_key=key)
    return []
