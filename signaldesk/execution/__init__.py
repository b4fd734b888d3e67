"""Execution: from an approved signal to a closed trade (entry, protection, exits, reconciliation,
/stop)."""

from signaldesk.execution.entry import ExecutionOutcome, execute_signal
from signaldesk.execution.manage import manage_trades
from signaldesk.execution.reconcile import ReconcileReport, reconcile
from signaldesk.execution.stop import StopReport, close_trade, emergency_stop

__all__ = [
    "ExecutionOutcome",
    "ReconcileReport",
    "StopReport",
    "close_trade",
    "emergency_stop",
    "execute_signal",
    "manage_trades",
    "reconcile",
]
