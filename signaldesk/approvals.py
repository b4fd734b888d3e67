"""Human decisions on pending signals: claim an announcement, approve/reject by compare-and-set, expire, modify."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation

from signaldesk.audit import record
from signaldesk.clock import from_db, to_db
from signaldesk.storage import writing

APPROVED, REJECTED, EXPIRED, PENDING = "APPROVED", "REJECTED", "EXPIRED", "PENDING"
VERDICTS = {APPROVED: "approved", REJECTED: "rejected"}
TIMEOUT_ACTOR = "timeout"
SIGNAL_COLUMNS = (
    "id",
    "created_at",
    "symbol",
    "candle_time",
    "direction",
    "confidence",
    "features",
    "model_version",
    "status",
    "reasons",
    "entry_price",
    "stop_loss",
    "take_profit_1",
    "take_profit_2",
    "size",
    "risk_jpy",
    "expires_at",
    "approved_by",
    "decided_at",
    "decision_note",
    "telegram_chat_id",
    "telegram_message_id",
    "announced_at",
    "outcome_return",
)
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
    """A /modify request that is malformed or breaks the risk rules; the message says what to fix."""


@dataclass(frozen=True)
class Signal:
    """A proposed trade as the desk shows it to the trader (prices, sizes and risk as Decimal)."""

    id: int
    created_at: datetime
    symbol: str
    candle_time: str
    direction: str | None
    confidence: float | None
    features: dict
    model_version: str
    status: str
    reasons: list
    entry_price: Decimal | None
    stop_loss: Decimal | None
    take_profit_1: Decimal | None
    take_profit_2: Decimal | None
    size: Decimal | None
    risk_jpy: Decimal | None
    expires_at: datetime | None
    approved_by: str | None
    decided_at: datetime | None
    decision_note: str | None
    telegram_chat_id: int | None
    telegram_message_id: int | None
    announced_at: datetime | None
    outcome_return: float | None

    def is_open(self, now: datetime) -> bool:
        """Return True while the signal can still be decided."""
        return self.status == PENDING and self.expires_at is not None and self.expires_at > now


@dataclass(frozen=True)
class Decision:
    """What a decision attempt did: `changed` is True only for the one call that moved the signal."""

    changed: bool
    signal: Signal | None


def _decimal(text: str | None) -> Decimal | None:
    return Decimal(text) if text not in (None, "") else None


def _time(text: str | None) -> datetime | None:
    return from_db(text) if text else None


def _json(text: str | None, empty):
    try:
        value = json.loads(text) if text else empty
    except json.JSONDecodeError:
        return empty
    return value if isinstance(value, type(empty)) else empty


def signal_from_row(row) -> Signal:
    """Build a Signal from a row selected with SIGNAL_COLUMNS."""
    v = dict(zip(SIGNAL_COLUMNS, row, strict=True))
    return Signal(
        id=v["id"],
        created_at=from_db(v["created_at"]),
        symbol=v["symbol"],
        candle_time=v["candle_time"],
        direction=v["direction"],
        confidence=v["confidence"],
        features=_json(v["features"], {}),
        model_version=v["model_version"],
        status=v["status"],
        reasons=_json(v["reasons"], []),
        entry_price=_decimal(v["entry_price"]),
        stop_loss=_decimal(v["stop_loss"]),
        take_profit_1=_decimal(v["take_profit_1"]),
        take_profit_2=_decimal(v["take_profit_2"]),
        size=_decimal(v["size"]),
        risk_jpy=_decimal(v["risk_jpy"]),
        expires_at=_time(v["expires_at"]),
        approved_by=v["approved_by"],
        decided_at=_time(v["decided_at"]),
        decision_note=v["decision_note"],
        telegram_chat_id=v["telegram_chat_id"],
        telegram_message_id=v["telegram_message_id"],
        announced_at=_time(v["announced_at"]),
        outcome_return=v["outcome_return"],
    )


def _select(db, where: str, params: list) -> list[Signal]:
    sql = f"SELECT {', '.join(SIGNAL_COLUMNS)} FROM signals WHERE {where}"
    return [signal_from_row(r) for r in db.execute(sql, params).fetchall()]


def load_signal(db, signal_id: int) -> Signal | None:
    """Return one signal, or None when there is no such id."""
    found = _select(db, "id = ?", [signal_id])
    return found[0] if found else None


def pending_signals(db, now: datetime) -> list[Signal]:
    """Return signals that can still be decided, oldest first."""
    return _select(db, "status = 'PENDING' AND expires_at > ? ORDER BY id", [to_db(now)])


def unannounced_signals(db, now: datetime) -> list[Signal]:
    """Return open signals that have not been announced yet, oldest first."""
    return _select(
        db,
        "status = 'PENDING' AND announced_at IS NULL AND expires_at > ? ORDER BY id",
        [to_db(now)],
    )


def claim_announcement(db, signal_id: int, now: datetime) -> bool:
    """Claim the right to announce a signal (compare-and-set); True for exactly one caller."""
    with writing(db):
        changed = db.execute(
            "UPDATE signals SET announced_at = ? WHERE id = ? AND status = 'PENDING' AND announced_at IS NULL",
            [to_db(now), signal_id],
        ).rowcount
    return changed == 1


def record_announcement(db, signal_id: int, chat_id: int, message_id: int) -> None:
    """Store where the announcement was posted, so later edits find it."""
    with writing(db):
        db.execute(
            "UPDATE signals SET telegram_chat_id = ?, telegram_message_id = ? WHERE id = ?",
            [chat_id, message_id, signal_id],
        )


def release_announcement(db, signal_id: int) -> None:
    """Give back a claim whose message could not be sent, so the next round retries it."""
    with writing(db):
        db.execute(
            "UPDATE signals SET announced_at = NULL WHERE id = ? AND telegram_message_id IS NULL",
            [signal_id],
        )


def decide(
    db, signal_id: int, status: str, by: str, now: datetime, note: str | None = None
) -> Decision:
    """Approve or reject a pending, unexpired signal by compare-and-set, audit the verdict, return what happened."""
    if status not in VERDICTS:
        raise ValueError(f"verdict {status!r}: allowed {', '.join(VERDICTS)}")
    with writing(db):
        changed = (
            db.execute(
                "UPDATE signals SET status = ?, approved_by = ?, decided_at = ?, decision_note = ? "
                "WHERE id = ? AND status = 'PENDING' AND expires_at > ?",
                [status, by, to_db(now), note, signal_id, to_db(now)],
            ).rowcount
            == 1
        )
        record(
            db,
            VERDICTS[status] if changed else f"{VERDICTS[status]}_refused",
            by,
            {"signal_id": signal_id},
            now,
        )
    return Decision(changed, load_signal(db, signal_id))


def expire_stale_signals(db, now: datetime) -> list[Signal]:
    """Mark pending signals past their approval window EXPIRED (by 'timeout'); return the ones this call expired."""
    expired = []
    for signal in _select(db, "status = 'PENDING' AND expires_at <= ? ORDER BY id", [to_db(now)]):
        with writing(db):
            changed = (
                db.execute(
                    "UPDATE signals SET status = 'EXPIRED', approved_by = ?, decided_at = ? "
                    "WHERE id = ? AND status = 'PENDING'",
                    [TIMEOUT_ACTOR, to_db(now), signal.id],
                ).rowcount
                == 1
            )
            if changed:
                record(db, "expired", TIMEOUT_ACTOR, {"signal_id": signal.id}, now)
        if changed:
            expired.append(load_signal(db, signal.id))
    return expired


def parse_modification(text: str) -> dict[str, Decimal]:
    """Parse `size=0.002 stop=9500000 ...` into column -> Decimal; raise ModificationError on anything else."""
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
                f"{part!r} is not key=value with a key from {', '.join(MODIFIABLE)}"
            )
        key, raw = match.groups()
        if MODIFIABLE[key] in changes:
            raise ModificationError(f"{key} is given twice")
        changes[MODIFIABLE[key]] = _number(key, raw)
    return changes


def _number(key: str, raw: str) -> Decimal:
    try:
        value = Decimal(raw.replace(",", "").replace("_", ""))
    except InvalidOperation:
        raise ModificationError(f"{key}={raw!r} is not a number") from None
    if not value.is_finite():
        raise ModificationError(f"{key}={raw!r} is not a finite number")
    return value


def check_modification(signal: Signal, changes: dict[str, Decimal]) -> Signal:
    """Return the signal with the changes applied and risk recomputed; raise ModificationError if a rule breaks."""
    new = replace(signal, **changes)
    if "size" in changes and not (Decimal(0) <= new.size <= (signal.size or Decimal(0))):
        raise ModificationError(
            f"size {new.size} must be between 0 and the proposed {signal.size} (down only)"
        )
    for name in ("entry_price", "stop_loss", "take_profit_1", "take_profit_2"):
        value = getattr(new, name)
        if value is not None and value <= 0:
            raise ModificationError(f"{name} {value} must be above 0")
    _check_sides(new)
    risk = None
    if new.size is not None and new.entry_price is not None and new.stop_loss is not None:
        risk = (new.size * abs(new.entry_price - new.stop_loss)).quantize(Decimal("0.01"))
    return replace(new, risk_jpy=risk)


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
    """Apply checked changes to a pending, unexpired signal (compare-and-set), audit them; raise ModificationError."""
    signal = load_signal(db, signal_id)
    if signal is None or not signal.is_open(now):
        return Decision(False, signal)
    new = check_modification(signal, changes)
    columns = ("entry_price", "stop_loss", "take_profit_1", "take_profit_2", "size", "risk_jpy")
    values = [None if getattr(new, c) is None else str(getattr(new, c)) for c in columns]
    with writing(db):
        changed = (
            db.execute(
                f"UPDATE signals SET {', '.join(c + ' = ?' for c in columns)} "
                "WHERE id = ? AND status = 'PENDING' AND expires_at > ?",
                [*values, signal_id, to_db(now)],
            ).rowcount
            == 1
        )
        if changed:
            before = {c: getattr(signal, c) for c in columns}
            after = dict(zip(columns, values, strict=True))
            record(
                db, "modified", by, {"signal_id": signal_id, "before": before, "after": after}, now
            )
    return Decision(changed, load_signal(db, signal_id))
