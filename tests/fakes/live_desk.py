"""A desk database that may run in live mode against the local fakes: the operator's golive
override.

Live `signaldesk bot` and `signaldesk cycle` refuse to start until the paper record meets [golive]
or the operator records an override (`signaldesk golive --override REASON`, an audit-log row). Tests
and benchmarks that run the live client against the fake GMO record that override the way the
command does.
"""

from __future__ import annotations

from signaldesk.audit import record
from signaldesk.clock import utc_now
from signaldesk.golive import OVERRIDE_EVENT


def allow_live(db, reason: str = "runs against the local fake GMO, not the real exchange") -> None:
    """Record a golive override in the audit log, as `signaldesk golive --override` does."""
    record(db, OVERRIDE_EVENT, "test-harness", {"reason": reason}, utc_now())
