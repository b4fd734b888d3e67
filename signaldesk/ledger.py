"""The desk's money ledger: every yen a trade made or cost, in one place for trade P/L, reports and
loss limits.

Money moves at two kinds of moments: a fill (its realised P/L and its execution fee) and a 06:00 JST
boundary (the leverage fee of each position held across it, booked here per trade in `position_fees`
with the rule of signaldesk.fees). Reports and loss limits read `money_events`; trade P/L subtracts
`trade_leverage_fees`. In paper mode the paper exchange charges the same fees from the same rule and
inputs, so its ledger agrees.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from operator import itemgetter
from typing import TYPE_CHECKING

from signaldesk.clock import from_db, to_db
from signaldesk.columns import decimal_text
from signaldesk.exchange.model import is_leverage
from signaldesk.exchange.tradingday import fee_boundaries
from signaldesk.fees import FeeCharge, boundaries_held, charges
from signaldesk.money import yen
from signaldesk.storage import writing

if TYPE_CHECKING:
    from signaldesk.storage import Database

ZERO = Decimal(0)
BAR = timedelta(minutes=15)
RESTATE_DAYS = (
    3  # a closed trade whose last boundary's close was not known yet is looked at this long
)


@dataclass(frozen=True)
class MoneyEvent:
    """One change of the desk's money: realised P/L, an execution fee or a leverage fee (cost
    positive)."""

    at: datetime
    kind: str  # "fill" | "leverage_fee"
    trade_id: int | None
    symbol: str
    pnl_jpy: Decimal
    fee_jpy: Decimal

    @property
    def net_jpy(self) -> Decimal:
        """Return what the event added to equity."""
        return self.pnl_jpy - self.fee_jpy


@dataclass(frozen=True)
class Money:
    """Realised money of a period: P/L before fees, execution fees, leverage fees and the net."""

    gross_jpy: Decimal = ZERO
    execution_fees_jpy: Decimal = ZERO
    leverage_fees_jpy: Decimal = ZERO

    @property
    def fees_jpy(self) -> Decimal:
        """Return every fee of the period (a maker rebate counts negative)."""
        return self.execution_fees_jpy + self.leverage_fees_jpy

    @property
    def net_jpy(self) -> Decimal:
        """Return realised P/L after every fee."""
        return self.gross_jpy - self.fees_jpy


def summed(events: Sequence[MoneyEvent]) -> Money:
    """Return the money of a list of events."""
    fills = [e for e in events if e.kind == "fill"]
    return Money(
        sum((e.pnl_jpy for e in events), ZERO),
        sum((e.fee_jpy for e in fills), ZERO),
        sum((e.fee_jpy for e in events if e.kind == "leverage_fee"), ZERO),
    )


# ---- reading -------------------------------------------------------------------------------------


def fill_events(
    db: Database, mode: str, start: datetime, end: datetime | None = None
) -> list[MoneyEvent]:
    """Return the desk's fills in [start, end) as money events (no end: to the last one)."""
    rows = db.execute(
        "SELECT f.executed_at, o.trade_id, f.symbol, COALESCE(f.realized_pnl, '0'), f.fee "
        "FROM fills f JOIN orders o ON o.id = f.order_id WHERE o.mode = ? AND f.executed_at >= ? "
        "AND f.executed_at < ? ORDER BY f.executed_at, f.id",
        [mode, to_db(start), _until(end)],
    ).fetchall()
    return [
        MoneyEvent(from_db(at), "fill", tid, sym, Decimal(pnl), Decimal(fee))
        for at, tid, sym, pnl, fee in rows
    ]


def fee_events(
    db: Database, mode: str, start: datetime, end: datetime | None = None
) -> list[MoneyEvent]:
    """Return the leverage fees booked for boundaries in [start, end) (no end: to the last one)."""
    rows = db.execute(
        "SELECT boundary, trade_id, symbol, fee_jpy FROM position_fees WHERE mode = ? "
        "AND boundary >= ? AND boundary < ? ORDER BY boundary, id",
        [mode, to_db(start), _until(end)],
    ).fetchall()
    return [
        MoneyEvent(from_db(at), "leverage_fee", tid, sym, ZERO, Decimal(fee))
        for at, tid, sym, fee in rows
    ]


def _until(end: datetime | None) -> str:
    """Return the database text of an exclusive end (None: beyond every row)."""
    return to_db(end) if end is not None else "9999"


NET_EVENTS_SQL = (
    "SELECT at, pnl, fee FROM ("
    "SELECT 0 AS source, f.executed_at AS at, f.id AS row_id, COALESCE(f.realized_pnl, '0') AS pnl, "
    "f.fee AS fee FROM fills f JOIN orders o ON o.id = f.order_id WHERE o.mode = ? "
    "AND f.executed_at >= ? AND f.executed_at < ? "
    "UNION ALL SELECT 1, boundary, id, '0', fee_jpy FROM position_fees WHERE mode = ? "
    "AND boundary >= ? AND boundary < ?) ORDER BY source, at, row_id"
)


def net_events(
    db: Database, mode: str, start: datetime, end: datetime | None = None
) -> list[tuple[datetime, Decimal]]:
    """Return (moment, what it added to equity) of every fill and leverage fee in [start, end), in
    the order and with the amounts of `money_events` (one query and no records: the risk manager
    reads this every step)."""
    bounds = [mode, to_db(start), _until(end)]
    rows = db.execute(NET_EVENTS_SQL, bounds + bounds).fetchall()
    # fills then fees, each in its own order, then a stable sort by time: as money_events
    return sorted(
        ((from_db(at), Decimal(pnl) - Decimal(fee)) for at, pnl, fee in rows), key=itemgetter(0)
    )


def money_events(
    db: Database, mode: str, start: datetime, end: datetime | None = None
) -> list[MoneyEvent]:
    """Return every fill and leverage fee in [start, end), in time order."""
    events = fill_events(db, mode, start, end) + fee_events(db, mode, start, end)
    return sorted(events, key=lambda e: e.at)


def money_between(db: Database, mode: str, start: datetime, end: datetime) -> Money:
    """Return the realised money of [start, end)."""
    return summed(money_events(db, mode, start, end))


def trade_leverage_fees(db: Database, trade_id: int) -> Decimal:
    """Return the leverage fees booked for one trade."""
    rows = db.execute("SELECT fee_jpy FROM position_fees WHERE trade_id = ?", [trade_id]).fetchall()
    return sum((Decimal(r[0]) for r in rows), ZERO)


def trades_leverage_fees(db: Database, trade_ids: Sequence[int]) -> dict[int, Decimal]:
    """Return the leverage fees booked per trade for several trades."""
    if not trade_ids:
        return {}
    marks = ",".join("?" * len(trade_ids))
    rows = db.execute(
        f"SELECT trade_id, fee_jpy FROM position_fees WHERE trade_id IN ({marks})", list(trade_ids)
    ).fetchall()
    found: dict[int, Decimal] = {}
    for trade_id, fee in rows:
        found[trade_id] = found.get(trade_id, ZERO) + Decimal(fee)
    return found


def boundary_close(db: Database, symbol: str, boundary: datetime) -> Decimal | None:
    """Return the trading day's close: the close of the 15-minute candle ending at the boundary, if
    stored."""
    row = db.execute(
        "SELECT close FROM candles WHERE symbol = ? AND interval = '15m' AND open_time = ?",
        [symbol, to_db(boundary - BAR)],
    ).fetchone()
    return Decimal(row[0]) if row else None


# ---- booking -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Holding:
    """One GMO position of a desk trade: when it opened, its size through time (from the trade's
    fills)."""

    position_id: int | None
    fills: tuple  # (executed_at, signed size) pairs: + entry, - close

    def size_at(self, moment: datetime) -> Decimal:
        """Return the size held just before `moment` (fills stamped at `moment` happened after
        it)."""
        return sum((size for at, size in self.fills if at < moment), ZERO)

    @property
    def opened_at(self) -> datetime:
        """Return the first fill's time."""
        return self.fills[0][0]

    @property
    def closed_at(self) -> datetime | None:
        """Return when the size went back to zero, or None while it is held."""
        return self.fills[-1][0] if sum((s for _, s in self.fills), ZERO) <= 0 else None


def holdings_of(fills) -> list[Holding]:
    """Group a trade's fills (signaldesk.execution.records.FillRow) by GMO position."""
    grouped: dict[int | None, list] = {}
    for fill in fills:
        sign = 1 if fill.purpose == "entry" else -1
        grouped.setdefault(fill.position_id, []).append((fill.executed_at, sign * fill.size))
    return [Holding(pid, tuple(rows)) for pid, rows in grouped.items()]


def due_charges(db: Database, symbol: str, holding: Holding, now: datetime) -> list[FeeCharge]:
    """Return the fees a holding owes up to `now` at the trading days' closes that are known."""
    moments = boundaries_held(holding.opened_at, holding.closed_at, now)
    return charges(moments, holding.size_at, lambda b: boundary_close(db, symbol, b))


def latest_boundary(now: datetime) -> datetime:
    """Return the last 06:00 JST at or before `now` (boundaries are a day apart)."""
    return fee_boundaries(now - timedelta(days=1), now)[-1]


def fee_candidates(db: Database, mode: str, now: datetime, trade_id: int | None) -> list[tuple]:
    """Return (trade id, symbol, status) of trades that may owe a fee: open ones and recently closed
    ones with a fill before the latest 06:00 JST.

    A trade whose every fill came at or after the latest boundary has held nothing across one (a
    holding opens at a fill; the next boundary is still ahead), so its fills are not read.
    """
    one = "" if trade_id is None else " AND t.id = ?"
    return db.execute(
        "SELECT t.id, t.symbol, t.status FROM trades t WHERE t.mode = ? AND t.entry_time IS NOT NULL "
        "AND (t.status IN ('pending', 'open') OR (t.status = 'closed' AND t.exit_time >= ?)) "
        "AND EXISTS (SELECT 1 FROM orders o JOIN fills f ON f.order_id = o.id "
        "WHERE o.trade_id = t.id AND f.executed_at < ?)" + one,
        [
            mode,
            to_db(now - timedelta(days=RESTATE_DAYS)),
            to_db(latest_boundary(now)),
            *([] if trade_id is None else [trade_id]),
        ],
    ).fetchall()


def book_trade_fees(db: Database, trade_id: int, symbol: str, mode: str, now: datetime) -> Decimal:
    """Book the leverage fees one trade owes and has not booked; return the yen booked now."""
    from signaldesk.execution.records import trade_fills

    booked = ZERO
    for holding in holdings_of(trade_fills(db, trade_id)):
        for charge in due_charges(db, symbol, holding, now):
            booked += insert_fee(db, trade_id, symbol, mode, holding.position_id, charge, now)
    return booked


def insert_fee(
    db: Database, trade_id, symbol, mode, position_id, charge: FeeCharge, now: datetime
) -> Decimal:
    """Write one fee row unless it exists; return the fee when written, else zero."""
    cursor = db.execute(
        "INSERT OR IGNORE INTO position_fees (trade_id, mode, symbol, position_id, boundary, "
        "trading_day, "
        "size, close_price, rate, fee_jpy, booked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            trade_id,
            mode,
            symbol,
            position_id,
            to_db(charge.boundary),
            charge.trading_day.isoformat(),
            decimal_text(charge.size),
            decimal_text(charge.close),
            decimal_text(charge.rate),
            decimal_text(charge.amount),
            to_db(now),
        ],
    )
    return charge.amount if cursor.rowcount else ZERO


def book_position_fees(
    db: Database, mode: str, now: datetime, trade_id: int | None = None
) -> list[str]:
    """Book the leverage fees desk trades (or one trade) owe up to `now`; restate a closed trade
    that owed one late, with a notice for the person (the only notices returned)."""
    notices = []
    with writing(db):
        for candidate, symbol, status in fee_candidates(db, mode, now, trade_id):
            if not is_leverage(symbol):
                continue
            booked = book_trade_fees(db, candidate, symbol, mode, now)
            if booked and status == "closed":
                notices.append(restate_closed_trade(db, candidate, booked, now))
    return notices


def restate_closed_trade(db: Database, trade_id: int, fee: Decimal, now: datetime) -> str:
    """Take a leverage fee booked after a trade closed off its P/L; return the notice."""
    from signaldesk.execution.records import load_trade, update_trade

    trade = load_trade(db, trade_id)
    if trade is None:
        raise LookupError(f"trade #{trade_id} is not in the database: no fee restated")
    pnl = (trade.pnl_jpy or ZERO) - fee
    cost = (trade.entry_price or ZERO) * trade.filled_size
    pct = (pnl / cost * 100).quantize(Decimal("0.0001")) if cost else trade.pnl_pct
    update_trade(db, trade_id, now, fees_jpy=trade.fees_jpy + fee, pnl_jpy=pnl, pnl_pct=pct)
    return (
        f"Trade #{trade_id} {trade.direction} {trade.symbol}: leverage fee {yen(fee)} for holding "
        "across "
        f"06:00 JST booked after the close; P/L now {yen(pnl, signed=True)}."
    )
