"""Bybit liquidations: parse pushes, aggregate per minute and side, flag spikes, and read spikes and
blind time."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from statistics import median
from typing import TYPE_CHECKING

from signaldesk.clock import from_db, to_db
from signaldesk.storage import writing

if TYPE_CHECKING:
    from signaldesk.storage import Database

LONG, SHORT = "long", "short"
TOPIC_PREFIX = "allLiquidation."
# Bybit v5 docs, allLiquidation, field `S`: "Position side. Buy,Sell. When you receive a Buy update,
# this means that a long position has been liquidated". It is the liquidated position's side, not
# the forced order's side.
LIQUIDATED_SIDE = {"Buy": LONG, "Sell": SHORT}
MINUTE_MS = 60_000
ZERO = Decimal(0)


class PushError(ValueError):
    """A Bybit push that does not match the documented allLiquidation shape (skip it, never
    guess)."""


@dataclass(frozen=True, slots=True)
class Liquidation:
    """One liquidated position (or part of one) on a Bybit linear contract."""

    contract: str
    side: str
    size: Decimal
    bankruptcy_price: Decimal
    time_ms: int

    @property
    def notional_usd(self) -> Decimal:
        """Return size x bankruptcy price: USD(T/C) for linear contracts, an estimate of the
        executed notional."""
        return self.size * self.bankruptcy_price


@dataclass(frozen=True)
class MinuteTotal:
    """Liquidations of one desk symbol, minute and liquidated side."""

    symbol: str
    contracts: str
    minute: datetime
    side: str
    count: int
    notional_usd: Decimal
    max_single_usd: Decimal


@dataclass(frozen=True)
class SpikeRule:
    """A minute is a spike when its notional exceeds max(multiple x trailing median, floor)."""

    multiple: Decimal
    baseline_minutes: int
    floor_usd: Decimal

    def describe(self) -> str:
        """Return the rule as evidence text."""
        return (
            f"notional > max({self.multiple} x median of the previous {self.baseline_minutes} min, "
            f"{self.floor_usd} USD)"
        )


@dataclass(frozen=True)
class Spike:
    """A liquidation cascade on one side: longs liquidated block longs, shorts liquidated block
    shorts."""

    symbol: str
    minute: datetime
    side: str
    count: int
    notional_usd: Decimal
    baseline_usd: Decimal
    ratio: float | None
    rule: str


@dataclass(frozen=True)
class Gap:
    """Blind time of the listener: from losing the stream to being subscribed again (open while
    ended_at is None)."""

    started_at: datetime
    ended_at: datetime | None
    reason: str


def parse_push(frame: Mapping) -> list[Liquidation]:
    """Return the liquidations of one allLiquidation push; raise PushError naming the topic when
    malformed."""
    topic = frame.get("topic")
    if not isinstance(topic, str) or not topic.startswith(TOPIC_PREFIX):
        raise PushError(f"bybit push: topic {topic!r} is not {TOPIC_PREFIX}<symbol>")
    data = frame.get("data")
    if not isinstance(data, list):
        raise PushError(f"bybit push {topic}: data must be a list, got {type(data).__name__}")
    contract = topic[len(TOPIC_PREFIX) :]
    return [_liquidation(topic, contract, item) for item in data]


def _liquidation(topic: str, contract: str, item: object) -> Liquidation:
    """Convert one entry of a push's data list; raise PushError on any field off the documented
    shape."""
    if not isinstance(item, dict):
        raise PushError(f"bybit push {topic}: data entry is not an object")
    if item.get("s") != contract:
        raise PushError(
            f"bybit push {topic}: entry symbol {item.get('s')!r} does not match the topic"
        )
    raw_side = item.get("S")
    side = LIQUIDATED_SIDE.get(raw_side) if isinstance(raw_side, str) else None
    if side is None:
        raise PushError(f"bybit push {topic}: side S={item.get('S')!r}, expected 'Buy' or 'Sell'")
    return Liquidation(
        contract,
        side,
        _positive(topic, "v", item.get("v")),
        _positive(topic, "p", item.get("p")),
        _millis(topic, item.get("T")),
    )


def _positive(topic: str, name: str, value: object) -> Decimal:
    """Parse a decimal string field that must be finite and > 0."""
    if not isinstance(value, str):
        raise PushError(f"bybit push {topic}: {name}={value!r} must be a decimal string")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise PushError(f"bybit push {topic}: {name}={value!r} is not a number") from None
    if not number.is_finite() or number <= 0:
        raise PushError(f"bybit push {topic}: {name}={value!r} must be a positive number")
    return number


def _millis(topic: str, value: object) -> int:
    """Parse the epoch-millisecond time of an entry (an integer, or digits in a string)."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise PushError(f"bybit push {topic}: T={value!r} must be epoch milliseconds")


class MinuteBook:
    """Liquidations of the minutes not yet written, summed per desk symbol, minute and liquidated
    side."""

    def __init__(self, symbol_map: Mapping[str, str]):
        self._desk_symbol = dict(symbol_map)
        self._open: dict[tuple[str, int, str], list] = {}

    def add(self, liquidations: Iterable[Liquidation]) -> int:
        """Add liquidations of mapped contracts; return how many were added."""
        added = 0
        for liq in liquidations:
            symbol = self._desk_symbol.get(liq.contract)
            if symbol is None:
                continue
            notional = liq.notional_usd
            slot = self._open.setdefault(
                (symbol, liq.time_ms // MINUTE_MS, liq.side), [0, ZERO, ZERO, set()]
            )
            slot[0] += 1
            slot[1] += notional
            slot[2] = max(slot[2], notional)
            slot[3].add(liq.contract)
            added += 1
        return added

    def pop_closed(self, cutoff: datetime) -> list[MinuteTotal]:
        """Remove and return the minutes that ended at or before `cutoff`."""
        last = int(cutoff.timestamp() * 1000) // MINUTE_MS
        return [self._pop(key) for key in sorted(self._open) if key[1] < last]

    def pop_all(self) -> list[MinuteTotal]:
        """Remove and return every minute, the still-open one included (on shutdown)."""
        return [self._pop(key) for key in sorted(self._open)]

    def _pop(self, key: tuple[str, int, str]) -> MinuteTotal:
        """Remove one minute and return it as a MinuteTotal."""
        count, notional, biggest, contracts = self._open.pop(key)
        minute = datetime.fromtimestamp(key[1] * 60, UTC)
        return MinuteTotal(
            key[0], ",".join(sorted(contracts)), minute, key[2], count, notional, biggest
        )


def merge_totals(old: MinuteTotal, new: MinuteTotal) -> MinuteTotal:
    """Return the sum of two totals of the same symbol, minute and side (a late push, or a restart
    mid-minute)."""
    contracts = ",".join(sorted(set(old.contracts.split(",")) | set(new.contracts.split(","))))
    return MinuteTotal(
        old.symbol,
        contracts,
        old.minute,
        old.side,
        old.count + new.count,
        old.notional_usd + new.notional_usd,
        max(old.max_single_usd, new.max_single_usd),
    )


def detect_spike(total: MinuteTotal, history: Sequence[Decimal], rule: SpikeRule) -> Spike | None:
    """Return a Spike when the minute's notional beats the rule against its trailing minutes (zeros
    included)."""
    baseline = median(history) if history else ZERO
    threshold = max(baseline * rule.multiple, rule.floor_usd)
    if total.notional_usd <= threshold:
        return None
    ratio = float(total.notional_usd / baseline) if baseline > 0 else None
    return Spike(
        total.symbol,
        total.minute,
        total.side,
        total.count,
        total.notional_usd,
        baseline,
        ratio,
        rule.describe(),
    )


def baseline_history(
    db: Database, symbol: str, side: str, minute: datetime, minutes: int
) -> list[Decimal]:
    """Return the notional of each of the `minutes` minutes before `minute`, zero where nothing was
    liquidated."""
    rows = db.execute(
        "SELECT notional_usd FROM liquidation_minutes WHERE symbol = ? AND side = ? AND minute >= ? AND minute < ?",
        [symbol, side, to_db(minute - timedelta(minutes=minutes)), to_db(minute)],
    ).fetchall()
    found = [Decimal(r[0]) for r in rows]
    return found + [ZERO] * (minutes - len(found))


def write_minutes(
    db: Database, totals: Sequence[MinuteTotal], rule: SpikeRule, now: datetime
) -> list[Spike]:
    """Merge the minutes into `liquidation_minutes`, flag spikes in `liquidation_spikes`, in one
    transaction."""
    spikes = []
    with writing(db):
        for total in totals:
            merged = _save_minute(db, total)
            history = baseline_history(
                db, merged.symbol, merged.side, merged.minute, rule.baseline_minutes
            )
            spike = detect_spike(merged, history, rule)
            if spike is not None:
                _save_spike(db, spike, now)
                spikes.append(spike)
    return spikes


def _save_minute(db: Database, total: MinuteTotal) -> MinuteTotal:
    """Add one minute to its stored row (if any) and return the stored total."""
    row = db.execute(
        "SELECT contract, count, notional_usd, max_single_usd FROM liquidation_minutes "
        "WHERE symbol = ? AND minute = ? AND side = ?",
        [total.symbol, to_db(total.minute), total.side],
    ).fetchone()
    if row is not None:
        stored = MinuteTotal(
            total.symbol, row[0], total.minute, total.side, row[1], Decimal(row[2]), Decimal(row[3])
        )
        total = merge_totals(stored, total)
    db.execute(
        "INSERT OR REPLACE INTO liquidation_minutes (symbol, contract, minute, side, count, notional_usd, "
        "max_single_usd) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            total.symbol,
            total.contracts,
            to_db(total.minute),
            total.side,
            total.count,
            str(total.notional_usd),
            str(total.max_single_usd),
        ],
    )
    return total


def _save_spike(db: Database, spike: Spike, now: datetime) -> None:
    """Insert a spike with its evidence, or refresh the evidence when a late push grew the same
    minute."""
    db.execute(
        "INSERT INTO liquidation_spikes (symbol, minute, side, count, notional_usd, baseline_usd, ratio, rule, "
        "detected_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (symbol, minute, side) DO UPDATE SET "
        "count = excluded.count, notional_usd = excluded.notional_usd, baseline_usd = excluded.baseline_usd, "
        "ratio = excluded.ratio, rule = excluded.rule",
        [
            spike.symbol,
            to_db(spike.minute),
            spike.side,
            spike.count,
            str(spike.notional_usd),
            str(spike.baseline_usd),
            spike.ratio,
            spike.rule,
            to_db(now),
        ],
    )


def recent_spike(
    db: Database, symbol: str, now: datetime, window_minutes: int, side: str | None = None
) -> Spike | None:
    """Return the latest spike of a desk symbol in any minute overlapping the last `window_minutes`,
    or None."""
    sql = (
        "SELECT symbol, minute, side, count, notional_usd, baseline_usd, ratio, rule FROM liquidation_spikes "
        "WHERE symbol = ? AND minute > ? AND minute <= ?"
    )
    params: list = [symbol, to_db(now - timedelta(minutes=window_minutes + 1)), to_db(now)]
    if side is not None:
        sql += " AND side = ?"
        params.append(side)
    row = db.execute(
        sql + " ORDER BY minute DESC, CAST(notional_usd AS REAL) DESC LIMIT 1", params
    ).fetchone()
    if row is None:
        return None
    return Spike(
        row[0], from_db(row[1]), row[2], row[3], Decimal(row[4]), Decimal(row[5]), row[6], row[7]
    )


def open_gap(db: Database, started_at: datetime, reason: str) -> bool:
    """Start a blind-time row unless one is already open; return True when this call started one."""
    with writing(db):
        cursor = db.execute(
            "INSERT INTO listener_gaps (started_at, ended_at, reason) SELECT ?, NULL, ? "
            "WHERE NOT EXISTS (SELECT 1 FROM listener_gaps WHERE ended_at IS NULL)",
            [to_db(started_at), reason],
        )
    return cursor.rowcount == 1


def close_gaps(db: Database, ended_at: datetime) -> int:
    """End every open blind-time row (the stream is subscribed again); return how many were
    closed."""
    with writing(db):
        cursor = db.execute(
            "UPDATE listener_gaps SET ended_at = ? WHERE ended_at IS NULL", [to_db(ended_at)]
        )
    return cursor.rowcount


def gaps_between(db: Database, start: datetime, end: datetime) -> list[Gap]:
    """Return the blind-time rows overlapping [start, end], oldest first (an open gap overlaps until
    now)."""
    rows = db.execute(
        "SELECT started_at, ended_at, reason FROM listener_gaps WHERE started_at <= ? "
        "AND (ended_at IS NULL OR ended_at >= ?) ORDER BY started_at",
        [to_db(end), to_db(start)],
    ).fetchall()
    return [Gap(from_db(r[0]), from_db(r[1]) if r[1] else None, r[2]) for r in rows]
