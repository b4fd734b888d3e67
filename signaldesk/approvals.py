"""Human decisions on pending signals: claim an announcement, approve/reject by compare-and-set,
expire, modify."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from signaldesk import signals
from signaldesk.audit import record
from signaldesk.columns import to_column
from signaldesk.signals import APPROVED, REJECTED, TIMEOUT_ACTOR, Signal
from signaldesk.state import trading_state
from signaldesk.storage import writing

VERDICTS = {APPROVED: "approved", REJECTED: "rejected"}
# /modify_<id> keys -> signal columns
MODIFIABLE = {
    "size": "size",
    "entry": "entry_price",
    "stop": "stop_loss",
    "tp1": "take_profit_1",
    "tp2": "take_profit_2",
}
MODIFY_PAIR = re.compile(r"^([a-z0-9]+)=(\S+)$")


class ModificationError(ValueError):
    """A /modify request that is malformed or breaks the risk rules; the message says what to
    fix."""


@dataclass(frozen=True)
class Decision:
    """What a decision attempt did: `changed` is True only for the one call that moved the
    signal."""

    changed: bool
    signal: Signal | None


def decide(
    db,
    signal_id: int,
    status: str,
    by: str,
    now: datetime,
    note: str | None = None,
    block_when_halted: bool = False,
) -> Decision:
    """Approve or reject a pending, unexpired signal by compare-and-set, audit the verdict, return
    what happened.

    With `block_when_halted`, an approval while trading is halted is BLOCKED in the same
    transaction, so the person hears at once that no order will be sent (the execution step would
    block it anyway).
    """
    if status not in VERDICTS:
        raise ValueError(f"verdict {status!r}: allowed {', '.join(VERDICTS)}")
    with writing(db):
        changed = signals.move(
            db, signal_id, status, open_at=now, approved_by=by, decided_at=now, decision_note=note
        )
        event = VERDICTS[status] if changed else f"{VERDICTS[status]}_refused"
        record(db, event, by, {"signal_id": signal_id}, now)
        if changed and status == APPROVED and block_when_halted:
            _block_if_halted(db, signal_id)
    return Decision(changed, signals.load(db, signal_id))


def _block_if_halted(db, signal_id: int) -> None:
    """Move a just-approved signal to BLOCKED when trading is halted, noting the halt's reason."""
    state = trading_state(db)
    if state.halted:
        reason = state.reason or "no reason given"
        note = f"blocked: trading is halted ({reason}); /resume lifts the halt"
        signals.move(db, signal_id, signals.BLOCKED, append_note=note)


def expire_stale_signals(db, now: datetime) -> list[Signal]:
    """Expire the pending signals whose approval window has closed; return the ones this call
    expired.

    Steps (the bot's sweep job runs this every few seconds; the backtest once per step):
    1. Read the PENDING signals with `expires_at <= now`, oldest first. The read takes no lock, so
       by the time we act a person may have tapped, or another sweep may have run.
    2. For each, in its own short write transaction, compare-and-set PENDING -> EXPIRED
       (`signals.move`), stamping `approved_by = 'timeout'` and `decided_at`. Only the call that
       moved the row gets True; an Approve that won the race keeps its APPROVED, and the tap that
       comes after the expiry is refused by its own compare-and-set (`decide` requires the window
       to be open at the tap's time).
    3. Audit the expiry in the same transaction as the move, so the log never shows an expiry that
       did not happen or misses one that did.
    4. Return the signals as they are now, so the caller edits exactly these cards (and no other
       caller edits them twice).
    """
    expired = []
    for signal in signals.past_window(db, now):  # step 1
        signal_id = signals.stored_id(signal)
        with writing(db):
            changed = signals.move(  # step 2: compare-and-set; False when someone else won
                db, signal_id, signals.EXPIRED, approved_by=TIMEOUT_ACTOR, decided_at=now
            )
            if changed:  # step 3: another process may have decided or expired it since we read it
                record(db, "expired", TIMEOUT_ACTOR, {"signal_id": signal_id}, now)
        now_expired = signals.load(db, signal_id) if changed else None
        if now_expired is not None:  # step 4: only what this call moved
            expired.append(now_expired)
    return expired


def parse_modification(text: str) -> dict[str, Decimal]:
    """Parse `size=0.002 stop=9500000 ...` into column -> Decimal; raise ModificationError on
    anything else."""
    changes: dict[str, Decimal] = {}
    parts = text.split()
    if not parts:
        raise ModificationError(
            f"nothing to change; give one or more of {', '.join(k + '=' for k in MODIFIABLE)}"
        )
    for part in parts:
        match = MODIFY_PAIR.match(part.lower())
        if not match or match.group(1) not in MODIFIABLE:
            raise ModificationError(
                f"{_shown(part)} is not key=value with a key from {', '.join(MODIFIABLE)}"
            )
        key, raw = match.groups()
        if MODIFIABLE[key] in changes:
            raise ModificationError(f"{key} is given twice")
        changes[MODIFIABLE[key]] = _number(key, raw)
    return changes


def _shown(text: str, limit: int = 40) -> str:
    """Return the trader's input as quoted in an answer: repr, cut to `limit` characters."""
    return repr(text if len(text) <= limit else text[:limit] + "…")


def _number(key: str, raw: str) -> Decimal:
    try:
        value = Decimal(raw.replace(",", "").replace("_", ""))
    except InvalidOperation:
        raise ModificationError(f"{key}={_shown(raw)} is not a number") from None
    if not value.is_finite():
        raise ModificationError(f"{key}={_shown(raw)} is not a finite number")
    return value


def check_modification(signal: Signal, changes: dict[str, Decimal]) -> Signal:
    """Return the signal with the changes applied (on the symbol's tick and size step, the safe way)
    and risk recomputed; raise ModificationError if a rule breaks."""
    try:
        gridded = on_grid(signal, changes)
    except InvalidOperation:  # beyond what a price or size can be (e.g. 1e999): change nothing
        _check_size(signal, changes.get("size"))
        raise ModificationError(
            "a value is too large for the symbol's price and size grid"
        ) from None
    new = signal.with_changes(**gridded)
    _check_size(signal, new.size if "size" in changes else None)
    for name in ("entry_price", "stop_loss", "take_profit_1", "take_profit_2"):
        value = getattr(new, name)
        if value is not None and value <= 0:
            raise ModificationError(f"{name} {value} must be above 0")
    _check_sides(new)
    risk = None
    if new.size is not None and new.entry_price is not None and new.stop_loss is not None:
        risk = (new.size * abs(new.entry_price - new.stop_loss)).quantize(Decimal("0.01"))
    return new.with_changes(risk_jpy=risk)


def _check_size(signal: Signal, size: Decimal | None) -> None:
    """Raise ModificationError unless a new size lies between 0 and the proposed size."""
    if size is not None and not (Decimal(0) <= size <= (signal.size or Decimal(0))):
        raise ModificationError(
            f"size {size} must be between 0 and the proposed {signal.size} (down only)"
        )


def on_grid(signal: Signal, changes: dict[str, Decimal]) -> dict[str, Decimal]:
    """Round /modify values to the symbol's grid (GMO's published rules; execution re-checks live
    ones)."""
    from signaldesk.exchange.paperfills import DEFAULT_RULES
    from signaldesk.exchange.precision import plan_on_grid

    rules = DEFAULT_RULES.get(signal.symbol)
    if rules is None or signal.direction is None:
        return changes
    return plan_on_grid(signal.direction, changes, rules)


def _check_sides(signal: Signal) -> None:
    """Raise ModificationError unless stop and take-profits sit on the right sides of the entry."""
    entry, stop, tp1, tp2 = (
        signal.entry_price,
        signal.stop_loss,
        signal.take_profit_1,
        signal.take_profit_2,
    )
    if entry is None:
        return
    long = signal.direction == "LONG"
    word, opposite = ("below", "above") if long else ("above", "below")
    if stop is not None and (stop >= entry if long else stop <= entry):
        raise ModificationError(
            f"stop {stop} must be {word} entry {entry} for a {signal.direction}"
        )
    for name, tp in (("tp1", tp1), ("tp2", tp2)):
        if tp is not None and (tp <= entry if long else tp >= entry):
            raise ModificationError(
                f"{name} {tp} must be {opposite} entry {entry} for a {signal.direction}"
            )
    if tp1 is not None and tp2 is not None and (tp1 > tp2 if long else tp1 < tp2):
        raise ModificationError(f"tp1 {tp1} must not be beyond tp2 {tp2}")


def modify(db, signal_id: int, changes: dict[str, Decimal], by: str, now: datetime) -> Decision:
    """Apply checked changes to a pending, unexpired signal (compare-and-set), audit them; raise
    ModificationError."""
    signal = signals.load(db, signal_id)
    if signal is None or not signal.is_open(now):
        return Decision(False, signal)
    new = check_modification(signal, changes)
    plan = {c: getattr(new, c) for c in signals.PLAN_COLUMNS}
    with writing(db):
        changed = signals.change_plan(db, signal_id, now, plan)
        if changed:
            before = {c: getattr(signal, c) for c in signals.PLAN_COLUMNS}
            after = {c: to_column(v) for c, v in plan.items()}
            record(
                db, "modified", by, {"signal_id": signal_id, "before": before, "after": after}, now
            )
    return Decision(changed, signals.load(db, signal_id))
