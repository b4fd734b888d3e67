"""The paper exchange: the `Exchange` interface over SQLite (`paper_*` tables) and a market feed,
filled honestly.

Honest where simulators are optimistic: a post-only order that would cross expires (EXPIRED_SOK); a
resting limit fills only when a later bar trades through its price; stops trigger on a later bar
reaching them and fill at the worse of their price and the bar's open; spot cannot go short;
leverage positions pay GMO's leverage fee (signaldesk.fees) for every 06:00 JST they are held
across, at the trading day's close. Only bars opening at or after an order started resting are
compared with it, so nothing fills on prices seen before the order existed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

from signaldesk.candles import Candle
from signaldesk.clock import from_db, to_db
from signaldesk.exchange.errors import InsufficientFunds, NotFound, OrderRejected
from signaldesk.exchange.feed import CandleFeed, MarketFeed
from signaldesk.exchange.model import (
    ACTIVE_STATUSES,
    BUY,
    CLOSE_SETTLE,
    FAK,
    FOK,
    LIMIT,
    MARKET,
    OPEN_SETTLE,
    SELL,
    SOK,
    STOP,
    Asset,
    CancelFailure,
    CancelResult,
    CloseBulkRequest,
    CloseRequest,
    Execution,
    FeeLimit,
    Margin,
    Order,
    OrderBook,
    OrderRequest,
    Position,
    PositionSummary,
    SymbolRules,
    Ticker,
    TradingVolume,
    is_leverage,
)
from signaldesk.exchange.orderrules import check_order_shape
from signaldesk.exchange.paperfills import (
    DEFAULT_RULES,
    LEVERAGE,
    Fill,
    bar_fill,
    crosses,
    market_fills,
    position_pnl,
    required_margin,
    stop_triggers_now,
    sweep,
)
from signaldesk.exchange.precision import fee as fill_fee
from signaldesk.fees import boundaries_held, charges
from signaldesk.storage import writing

ZERO = Decimal(0)
LOSSCUT = "LOSSCUT"
LOSSCUT_FEE = Decimal(
    "0.005"
)  # GMO charges 0.5 % of the position's value when a loss-cut settles it (spec §7.7)
ACTIVE_SQL = "('WAITING', 'ORDERED', 'MODIFYING', 'CANCELLING')"
ORDER_COLUMNS = (
    "order_id, symbol, side, execution_type, settle_type, time_in_force, size, executed_size, price, "
    "losscut_price, status, cancel_type, position_id, bulk, placed_at, active_from, checked_until, order_type"
)


def text(value: Decimal) -> str:
    """Render a Decimal for the database (plain notation)."""
    return format(value, "f")


@dataclass(frozen=True)
class PaperOrder:
    """One row of paper_orders."""

    order_id: int
    symbol: str
    side: str
    execution_type: str
    settle_type: str
    time_in_force: str
    size: Decimal
    executed_size: Decimal
    price: Decimal
    losscut_price: Decimal
    status: str
    cancel_type: str | None
    position_id: int | None
    bulk: bool
    placed_at: datetime
    active_from: datetime
    checked_until: datetime | None
    order_type: str = "NORMAL"

    @classmethod
    def from_row(cls, row: tuple) -> PaperOrder:
        """Build from a SELECT of ORDER_COLUMNS."""
        (
            oid,
            symbol,
            side,
            etype,
            settle,
            tif,
            size,
            executed,
            price,
            losscut,
            status,
            cancel,
            pos,
            bulk,
            placed,
            active_from,
            checked,
            order_type,
        ) = row
        return cls(
            oid,
            symbol,
            side,
            etype,
            settle,
            tif,
            Decimal(size),
            Decimal(executed),
            Decimal(price),
            Decimal(losscut),
            status,
            cancel,
            pos,
            bool(bulk),
            from_db(placed),
            from_db(active_from),
            from_db(checked) if checked else None,
            order_type,
        )

    @property
    def remaining(self) -> Decimal:
        """Return the size still to fill."""
        return self.size - self.executed_size

    def to_order(self) -> Order:
        """Return the order as the exchange interface reports it."""
        return Order(
            self.order_id,
            self.order_id,
            self.symbol,
            self.side,
            self.execution_type,
            self.settle_type,
            self.size,
            self.executed_size,
            self.price,
            self.losscut_price,
            self.status,
            self.cancel_type,
            self.time_in_force,
            self.placed_at,
            self.order_type,
        )


@dataclass(frozen=True)
class PaperPosition:
    """One open row of paper_positions."""

    position_id: int
    symbol: str
    side: str
    size: Decimal
    price: Decimal
    losscut_price: Decimal
    opened_at: datetime
    fee_paid_until: datetime


def open_account(db, account: str, starting_jpy: Decimal, now: datetime) -> bool:
    """Create a paper account funded with `starting_jpy` unless it exists; return True when
    created."""
    if starting_jpy <= 0:
        raise ValueError(f"starting_jpy must be > 0, got {starting_jpy}")
    with writing(db):
        if db.execute("SELECT 1 FROM paper_accounts WHERE account = ?", [account]).fetchone():
            return False
        db.execute(
            "INSERT INTO paper_accounts (account, starting_jpy, created_at) VALUES (?, ?, ?)",
            [account, text(starting_jpy), to_db(now)],
        )
        db.execute(
            "INSERT INTO paper_balances (account, asset, amount, updated_at) VALUES (?, 'JPY', ?, ?)",
            [account, text(starting_jpy), to_db(now)],
        )
        db.execute(
            "INSERT INTO paper_ledger (account, at, kind, asset, amount, reference) "
            "VALUES (?, ?, 'deposit', 'JPY', ?, 'starting balance')",
            [account, to_db(now), text(starting_jpy)],
        )
        return True


class PaperExchange:
    """The `Exchange` interface kept in SQLite and filled against a MarketFeed (live public data or
    candles)."""

    def __init__(
        self,
        db,
        feed: MarketFeed,
        *,
        account: str = "paper",
        starting_jpy: Decimal = Decimal("1000000"),
        rules: dict[str, SymbolRules] | None = None,
    ):
        self.db, self.feed, self.account = db, feed, account
        self.rules = dict(rules or DEFAULT_RULES)
        self._synced: tuple | None = None  # see `_sync_key`
        open_account(db, account, starting_jpy, feed.now())

    # -- market data (from the feed)
    # ---------------------------------------------------------------------------

    def status(self) -> str:
        """Return the feed's market status."""
        return self.feed.status()

    def symbol_rules(self) -> dict[str, SymbolRules]:
        """Return the paper trade rules (the spec's 2026 GMO table by default)."""
        return dict(self.rules)

    def ticker(self, symbol: str) -> Ticker:
        """Return the feed's ticker."""
        return self.feed.ticker(symbol)

    def order_book(self, symbol: str) -> OrderBook:
        """Return the feed's order book."""
        return self.feed.order_book(symbol)

    def klines(self, symbol: str, interval: str, date: str) -> list[Candle]:
        """Return the feed's klines."""
        return self.feed.klines(symbol, interval, date)

    # -- the engine
    # ------------------------------------------------------------------------------------------

    def sync(self) -> None:
        """Bring paper state up to the feed's present: fill resting orders on new bars, charge
        leverage fees."""
        if self._synced is not None and self._synced == self._sync_key(self._synced):
            return
        self._bring_up_to_date()
        self._synced = None if self.db.conn.in_transaction else self._sync_key()

    def replay_key(self) -> tuple | None:
        """Return the state of this replayed account and its feed (None for a live feed): equal
        keys, equal reads (see `_sync_key`)."""
        key = self._sync_key()
        return None if key is None else (id(self), *key)

    def _sync_key(self, recorded: tuple | None = None) -> tuple | None:
        """Return what a sync over a replayed feed depends on besides the paper rows: the feed's
        time, and a count of this connection's writes and of other connections' commits (None
        for any other feed: live bars arrive from outside).

        A sync leaves the paper rows where a second sync would leave them (every resting order
        compared with every released bar, every knowable fee charged), so while the key is the
        one recorded after the last sync (nothing written since, the feed still at the same
        candle) the next sync has nothing to do. Not recorded inside a transaction: a rollback
        would undo the sync without changing the counts. Compared with a `recorded` key, the
        database is asked for its version only when time and writes still match.
        """
        if not isinstance(self.feed, CandleFeed):
            return None
        moment, writes = self.feed.now(), self.db.conn.total_changes
        if recorded is not None and recorded[:2] != (moment, writes):
            return None
        return moment, writes, self.db.execute("PRAGMA data_version").fetchone()[0]

    def _bring_up_to_date(self) -> None:
        """Match every resting order against the bars it has not seen; charge leverage fees."""
        needed, matched = self._bars_needed_since(), False
        for symbol in sorted(needed):
            # matching one symbol's bars wrote rows: read the next symbol's need afresh
            since = self._bars_needed_since(symbol).get(symbol) if matched else needed[symbol]
            bars = self.feed.price_bars(symbol, since) if since else []
            if bars:
                matched = True
                with writing(self.db):
                    for bar in bars:
                        self._match_bar(symbol, bar)
        self._charge_leverage_fees(self.feed.now())

    def _bars_needed_since(self, symbol: str | None = None) -> dict[str, datetime]:
        """Return, per symbol with resting orders (or for one symbol), the earliest bar open time
        some resting order has not been compared with."""
        sql = (
            "SELECT symbol, checked_until, active_from FROM paper_orders WHERE account = ? "
            f"AND status IN {ACTIVE_SQL}"
        )
        params: list = [self.account]
        if symbol:
            sql += " AND symbol = ?"
            params.append(symbol)
        earliest: dict[str, datetime] = {}
        for name, checked, active_from in self.db.execute(sql, params).fetchall():
            moment = (
                from_db(checked) + timedelta(microseconds=1) if checked else from_db(active_from)
            )
            if name not in earliest or moment < earliest[name]:
                earliest[name] = moment
        return earliest

    def _match_bar(self, symbol: str, bar: Candle) -> None:
        """Fill every resting order of the symbol that this bar trades through (oldest order first;
        a position's loss-cut last: the market reaches a stop in front of it first)."""
        orders = self._active(symbol)
        for order in [o for o in orders if o.order_type != LOSSCUT] + [
            o for o in orders if o.order_type == LOSSCUT
        ]:
            order = self._order(order.order_id)
            if (
                order.status not in ACTIVE_STATUSES
                or bar.open_time < order.active_from
                or (order.checked_until and bar.open_time <= order.checked_until)
            ):
                continue
            fill = bar_fill(order.execution_type, order.side, order.price, bar)
            if fill is not None:
                self._execute(order, [replace(fill, size=order.remaining)], bar.open_time)
        self.db.execute(
            f"UPDATE paper_orders SET checked_until = ? WHERE account = ? AND symbol = ? "
            f"AND status IN {ACTIVE_SQL} AND active_from <= ?",
            [to_db(bar.open_time), self.account, symbol, to_db(bar.open_time)],
        )

    def _charge_leverage_fees(self, now: datetime) -> None:
        """Charge GMO's leverage fee (signaldesk.fees) per position and 06:00 JST held across, at
        the size held then and that day's close; one ledger line each, stamped at the boundary."""
        rows = self.db.execute(
            "SELECT position_id, symbol, closed_at, fee_paid_until FROM paper_positions "
            "WHERE account = ? AND (closed_at IS NULL OR closed_at > fee_paid_until)",
            [self.account],
        ).fetchall()
        due = [self._fees_due(r[0], r[1], from_db(r[3]), r[2] and from_db(r[2]), now) for r in rows]
        due = [d for d in due if d[2] is not None]
        if not due:
            return
        with writing(self.db):
            for position_id, charged, paid_until in due:
                for charge in charged:
                    ref = f"position {position_id}"
                    self._move("JPY", -charge.amount, "leverage_fee", ref, charge.boundary)
                self.db.execute(
                    "UPDATE paper_positions SET fee_paid_until = ? WHERE position_id = ?",
                    [to_db(paid_until), position_id],
                )

    def _fees_due(self, position_id: int, symbol: str, paid: datetime, closed, now: datetime):
        """Return (position, charges due, the new paid-until or None when nothing changes)."""
        moments = boundaries_held(paid, closed, now)
        charged = charges(
            moments, lambda b: self._size_at(position_id, b), lambda b: self._close_at(symbol, b)
        )
        if closed is not None and len(charged) == len(moments):
            return position_id, charged, closed  # nothing more to charge: leave the position be
        return position_id, charged, charged[-1].boundary if charged else None

    def _size_at(self, position_id: int, moment: datetime) -> Decimal:
        """Return the size of a position just before a moment (opening minus closing executions)."""
        rows = self.db.execute(
            "SELECT settle_type, size FROM paper_executions WHERE account = ? AND position_id = ? "
            "AND executed_at < ?",
            [self.account, position_id, to_db(moment)],
        ).fetchall()
        return sum((Decimal(n) if t == OPEN_SETTLE else -Decimal(n) for t, n in rows), ZERO)

    def _close_at(self, symbol: str, boundary: datetime) -> Decimal | None:
        """Return the trading day's close: the close of the feed's bar ending at the boundary."""
        bars = self.feed.price_bars(symbol, boundary - self.feed.step)
        last = [b for b in bars if b.open_time + self.feed.step == boundary]
        return last[-1].close if last else None

    # -- rows ------------------------------------------------------------------------------------------------

    def _active(self, symbol: str | None = None) -> list[PaperOrder]:
        """Return resting orders (of one symbol), oldest first."""
        sql = (
            f"SELECT {ORDER_COLUMNS} FROM paper_orders WHERE account = ? AND status IN {ACTIVE_SQL}"
        )
        params: list = [self.account]
        if symbol:
            sql += " AND symbol = ?"
            params.append(symbol)
        return [
            PaperOrder.from_row(r)
            for r in self.db.execute(sql + " ORDER BY order_id", params).fetchall()
        ]

    def _order(self, order_id: int) -> PaperOrder:
        """Return one order; NotFound (like ERR-5123) when this account has none with that id."""
        row = self.db.execute(
            f"SELECT {ORDER_COLUMNS} FROM paper_orders WHERE account = ? AND order_id = ?",
            [self.account, int(order_id)],
        ).fetchone()
        if row is None:
            raise NotFound(f"order {order_id} does not exist", endpoint="paper", code="ERR-5123")
        return PaperOrder.from_row(row)

    def _positions(self, symbol: str | None = None) -> list[PaperPosition]:
        """Return open positions (of one symbol), oldest first."""
        sql = (
            "SELECT position_id, symbol, side, size, price, losscut_price, opened_at, fee_paid_until "
            "FROM paper_positions WHERE account = ? AND closed_at IS NULL"
        )
        params: list = [self.account]
        if symbol:
            sql += " AND symbol = ?"
            params.append(symbol)
        rows = self.db.execute(sql + " ORDER BY position_id", params).fetchall()
        return [
            PaperPosition(
                r[0],
                r[1],
                r[2],
                Decimal(r[3]),
                Decimal(r[4]),
                Decimal(r[5]),
                from_db(r[6]),
                from_db(r[7]),
            )
            for r in rows
        ]

    def _balance(self, asset: str) -> Decimal:
        """Return the amount of one asset."""
        row = self.db.execute(
            "SELECT amount FROM paper_balances WHERE account = ? AND asset = ?",
            [self.account, asset],
        ).fetchone()
        return Decimal(row[0]) if row else ZERO

    def _move(self, asset: str, amount: Decimal, kind: str, reference: str, at: datetime) -> None:
        """Add `amount` (may be negative) to a balance and write the ledger line."""
        if amount == 0:
            return
        self.db.execute(
            "INSERT INTO paper_balances (account, asset, amount, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (account, asset) DO UPDATE SET amount = ?, updated_at = excluded.updated_at",
            [self.account, asset, text(amount), to_db(at), text(self._balance(asset) + amount)],
        )
        self.db.execute(
            "INSERT INTO paper_ledger (account, at, kind, asset, amount, reference) VALUES (?, ?, ?, ?, ?, ?)",
            [self.account, to_db(at), kind, asset, text(amount), reference],
        )

    def _set_status(
        self, order: PaperOrder, status: str, cancel_type: str | None, at: datetime
    ) -> None:
        """Move an order to a new status."""
        self.db.execute(
            "UPDATE paper_orders SET status = ?, cancel_type = ?, updated_at = ? WHERE order_id = ?",
            [status, cancel_type, to_db(at), order.order_id],
        )

    # -- fills -----------------------------------------------------------------------------------------------

    def _execute(self, order: PaperOrder, fills: list[Fill], at: datetime) -> None:
        """Apply fills to balances/positions, record executions and update the order."""
        executed, ran_out = order.executed_size, False
        for fill in fills:
            done = (
                self._close_fill(order, fill, at)
                if order.settle_type == CLOSE_SETTLE
                else self._open_fill(order, fill, at)
            )
            executed += done
            if done < fill.size:
                ran_out = True
                break
        status, cancel = ("EXECUTED", None) if executed >= order.size else (order.status, None)
        if ran_out:  # the positions this close order was for are gone
            status, cancel = "CANCELED", "CLOSED_ORDER"
        self.db.execute(
            "UPDATE paper_orders SET executed_size = ?, status = ?, cancel_type = ?, updated_at = ? "
            "WHERE order_id = ?",
            [text(executed), status, cancel, to_db(at), order.order_id],
        )

    def _record(
        self,
        order: PaperOrder,
        fill: Fill,
        size: Decimal,
        position_id: int | None,
        loss_gain: Decimal,
        charged: Decimal,
        at: datetime,
    ) -> None:
        """Insert one execution row."""
        self.db.execute(
            "INSERT INTO paper_executions (account, order_id, position_id, symbol, side, settle_type, size, price, "
            "loss_gain, fee, maker, executed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                self.account,
                order.order_id,
                position_id,
                order.symbol,
                order.side,
                order.settle_type,
                text(size),
                text(fill.price),
                text(loss_gain),
                text(charged),
                int(fill.maker),
                to_db(at),
            ],
        )

    def _open_fill(self, order: PaperOrder, fill: Fill, at: datetime) -> Decimal:
        """Apply a spot trade or a leverage opening fill; return the size done."""
        rules = self.rules[order.symbol]
        charged = fill_fee(fill.price, fill.size, rules, maker=fill.maker)
        ref = f"order {order.order_id}"
        position_id = None
        if is_leverage(order.symbol):
            cursor = self.db.execute(
                "INSERT INTO paper_positions (account, symbol, side, size, price, losscut_price, opened_at, "
                "fee_paid_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    self.account,
                    order.symbol,
                    order.side,
                    text(fill.size),
                    text(fill.price),
                    text(order.losscut_price),
                    to_db(at),
                    to_db(at),
                ],
            )
            position_id = cursor.lastrowid
            if order.losscut_price > 0:
                self._insert_losscut(order, position_id, fill.size)
        else:
            coin, gross = order.symbol, fill.price * fill.size
            self._move(coin, fill.size if order.side == BUY else -fill.size, "trade", ref, at)
            self._move("JPY", -gross if order.side == BUY else gross, "trade", ref, at)
        self._move("JPY", -charged, "fee", ref, at)
        self._record(order, fill, fill.size, position_id, ZERO, charged, at)
        return fill.size

    def _close_fill(self, order: PaperOrder, fill: Fill, at: datetime) -> Decimal:
        """Close positions with a fill (one named position, or FIFO across the opposite side);
        return size done."""
        targets = [
            p
            for p in self._positions(order.symbol)
            if p.side != order.side and (order.bulk or p.position_id == order.position_id)
        ]
        rules, left = self.rules[order.symbol], fill.size
        for position in targets:
            if left <= 0:
                break
            size = min(left, position.size)
            pnl = position_pnl(position.side, position.price, fill.price, size)
            charged = fill_fee(fill.price, size, rules, maker=fill.maker)
            if order.order_type == LOSSCUT:
                charged = fill.price * size * LOSSCUT_FEE
            self._move("JPY", pnl, "pnl", f"position {position.position_id}", at)
            self._move("JPY", -charged, "fee", f"order {order.order_id}", at)
            self._record(order, fill, size, position.position_id, pnl, charged, at)
            rest = position.size - size
            self.db.execute(
                "UPDATE paper_positions SET size = ?, closed_at = ? WHERE position_id = ?",
                [text(rest), to_db(at) if rest == 0 else None, position.position_id],
            )
            if rest == 0:
                self._end_closes_of(position.position_id, order.order_id, at)
            left -= size
        return fill.size - left

    # -- funds -----------------------------------------------------------------------------------------------

    def _unrealized(self, positions: list[PaperPosition]) -> Decimal:
        """Return the unrealised P/L of positions at the feed's last prices."""
        last = {s: self.feed.ticker(s).last for s in {p.symbol for p in positions}}
        return sum((position_pnl(p.side, p.price, last[p.symbol], p.size) for p in positions), ZERO)

    def _reserved_jpy(self) -> Decimal:
        """Return JPY held back by resting spot buys and leverage opens."""
        rows = self.db.execute(
            "SELECT symbol, side, price, size, executed_size FROM paper_orders WHERE account = ? "
            f"AND status IN {ACTIVE_SQL} AND settle_type != ? ORDER BY order_id",
            [self.account, CLOSE_SETTLE],
        ).fetchall()
        held = ZERO
        for symbol, side, price, size, executed in rows:
            remaining = Decimal(size) - Decimal(executed)
            if is_leverage(symbol):
                held += required_margin(Decimal(price), remaining)
            elif side == BUY:
                held += Decimal(price) * remaining * (1 + max(self.rules[symbol].taker_fee, ZERO))
        return held

    def _available_jpy(self) -> Decimal:
        """Return JPY free for new orders: cash + unrealised P/L - used margin - reserved."""
        positions = self._positions()
        used = sum((required_margin(p.price, p.size) for p in positions), ZERO)
        return self._balance("JPY") + self._unrealized(positions) - used - self._reserved_jpy()

    def _available_coin(self, coin: str) -> Decimal:
        """Return coins free for new spot sells."""
        held = sum((o.remaining for o in self._active(coin) if o.side == SELL), ZERO)
        return self._balance(coin) - held

    def _check_funds(self, request: OrderRequest, reference_price: Decimal) -> None:
        """Raise InsufficientFunds when the account cannot carry the order (spot sells need coins:
        no shorts)."""
        rules = self.rules[request.symbol]
        if not is_leverage(request.symbol) and request.side == SELL:
            if self._available_coin(request.symbol) < request.size:
                raise InsufficientFunds(
                    f"{request.symbol}: selling {request.size} needs that many coins "
                    f"(available {self._available_coin(request.symbol)}); spot cannot go short",
                    endpoint="paper",
                    code="ERR-208",
                )
            return
        value = reference_price * request.size
        need = (
            required_margin(reference_price, request.size) if is_leverage(request.symbol) else value
        )
        need += value * max(rules.taker_fee, ZERO)
        available = self._available_jpy()
        if need > available:
            raise InsufficientFunds(
                f"{request.symbol}: order needs {need:.0f} JPY, available {available:.0f} JPY",
                endpoint="paper",
                code="ERR-201" if is_leverage(request.symbol) else "ERR-208",
            )

    # -- placing
    # ---------------------------------------------------------------------------------------------

    def _rules_for(self, symbol: str) -> SymbolRules:
        """Return the paper rules of a symbol; OrderRejected for unknown symbols."""
        if symbol not in self.rules:
            raise OrderRejected(
                f"symbol {symbol!r} is not traded here (paper knows {', '.join(self.rules)})",
                reason="invalid_parameter",
                endpoint="paper",
                code="ERR-5106",
            )
        return self.rules[symbol]

    def _insert(
        self,
        symbol: str,
        side: str,
        execution_type: str,
        settle: str,
        tif: str,
        size: Decimal,
        price: Decimal | None,
        losscut: Decimal | None,
        position_id: int | None,
        bulk: bool,
    ) -> PaperOrder:
        """Insert a new resting order row (WAITING for stops, ORDERED otherwise) and return it."""
        now = to_db(self.feed.now())
        cursor = self.db.execute(
            "INSERT INTO paper_orders (account, symbol, side, execution_type, settle_type, time_in_force, size, "
            "price, losscut_price, status, position_id, bulk, placed_at, active_from, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                self.account,
                symbol,
                side,
                execution_type,
                settle,
                tif,
                text(size),
                text(price or ZERO),
                text(losscut or ZERO),
                "WAITING" if execution_type == STOP else "ORDERED",
                position_id,
                int(bulk),
                now,
                now,
                now,
            ],
        )
        return self._order(cursor.lastrowid)

    def _insert_losscut(self, order: PaperOrder, position_id: int, size: Decimal) -> None:
        """Keep a new position's loss-cut as a hidden stop (it uses no closable size and is not
        listed)."""
        now = to_db(self.feed.now())
        self.db.execute(
            "INSERT INTO paper_orders (account, symbol, side, execution_type, settle_type, time_in_force, size, "
            "price, status, position_id, bulk, placed_at, active_from, updated_at, order_type) "
            "VALUES (?, ?, ?, 'STOP', 'CLOSE', 'FAK', ?, ?, 'WAITING', ?, 0, ?, ?, ?, ?)",
            [
                self.account,
                order.symbol,
                SELL if order.side == BUY else BUY,
                text(size),
                text(order.losscut_price),
                position_id,
                now,
                now,
                now,
                LOSSCUT,
            ],
        )

    def _end_closes_of(self, position_id: int, but: int, at: datetime) -> None:
        """Cancel the resting close orders of a position that is gone (GMO: cancelType
        CLOSED_ORDER)."""
        self.db.execute(
            f"UPDATE paper_orders SET status = 'CANCELED', cancel_type = 'CLOSED_ORDER', updated_at = ? "
            f"WHERE account = ? AND position_id = ? AND order_id != ? AND status IN {ACTIVE_SQL}",
            [to_db(at), self.account, position_id, but],
        )

    def _arrive(self, order: PaperOrder, book: OrderBook) -> None:
        """Apply what happens the moment an order reaches the book (market fill, cross, expiry or
        rest)."""
        now = self.feed.now()
        if order.execution_type == MARKET:
            self._execute(order, market_fills(order.side, order.size, book), now)
        elif order.execution_type == LIMIT and crosses(order.side, order.price, book):
            self._cross(order, book, now)
        elif order.execution_type == LIMIT and order.time_in_force in (FAK, FOK):
            self._set_status(order, "EXPIRED", f"EXPIRED_{order.time_in_force}", now)

    def _cross(self, order: PaperOrder, book: OrderBook, now: datetime) -> None:
        """Handle a limit that would trade at once: post-only expires, FOK all-or-none, others take
        liquidity."""
        if order.time_in_force == SOK:
            self._set_status(order, "EXPIRED", "EXPIRED_SOK", now)
            return
        fills = sweep(order.side, order.remaining, book, limit=order.price)
        available = sum((f.size for f in fills), ZERO)
        if order.time_in_force == FOK and available < order.remaining:
            self._set_status(order, "EXPIRED", "EXPIRED_FOK", now)
            return
        self._execute(order, fills, now)
        if order.time_in_force == FAK and available < order.remaining:
            self._set_status(self._order(order.order_id), "EXPIRED", "EXPIRED_FAK", now)

    def place_order(self, request: OrderRequest) -> int:
        """Place a spot order or open a leverage position; return its id (it may already be filled
        or expired)."""
        self.sync()
        rules = self._rules_for(request.symbol)
        tif = check_order_shape(
            rules,
            request.side,
            request.execution_type,
            request.size,
            request.price,
            request.time_in_force,
            request.losscut_price,
        )
        book = self.feed.order_book(request.symbol)
        stop = (
            request.price if request.execution_type == STOP else None
        )  # shape checked: STOPs price
        if stop is not None and stop_triggers_now(request.side, stop, book):
            raise OrderRejected(
                f"{request.symbol}: stop {request.price} would trigger at once",
                reason="stop_would_trigger",
                endpoint="paper",
                code="ERR-5129",
            )
        reference = request.price or (book.best_ask if request.side == BUY else book.best_bid)
        self._check_funds(request, reference)
        with writing(self.db):
            order = self._insert(
                request.symbol,
                request.side,
                request.execution_type,
                OPEN_SETTLE,
                tif,
                request.size,
                request.price,
                request.losscut_price,
                None,
                False,
            )
            self._arrive(order, book)
        return order.order_id

    def _closable(
        self, position: PaperPosition, active: Sequence[PaperOrder] | None = None
    ) -> Decimal:
        """Return the size of a position not yet covered by resting close orders (`active`: the
        symbol's resting orders when the caller has read them)."""
        covered = sum(
            (
                o.remaining
                for o in (self._active(position.symbol) if active is None else active)
                if o.settle_type == CLOSE_SETTLE
                and o.position_id == position.position_id
                and o.order_type != LOSSCUT
            ),
            ZERO,
        )
        return position.size - covered

    def close_order(self, request: CloseRequest) -> int:
        """Place an order closing (part of) one leverage position; return its id."""
        self.sync()
        rules = self._rules_for(request.symbol)
        tif = check_order_shape(
            rules,
            request.side,
            request.execution_type,
            request.size,
            request.price,
            request.time_in_force,
        )
        position = next(
            (p for p in self._positions(request.symbol) if p.position_id == request.position_id),
            None,
        )
        if position is None:
            raise NotFound(
                f"position {request.position_id} does not exist", endpoint="paper", code="ERR-254"
            )
        if position.side == request.side:
            raise OrderRejected(
                f"closing a {position.side} position needs side {SELL if position.side == BUY else BUY}",
                reason="position_conflict",
                endpoint="paper",
                code="ERR-70",
            )
        if request.size > position.size:
            raise OrderRejected(
                f"close size {request.size} exceeds the position {position.size}",
                reason="position_conflict",
                endpoint="paper",
                code="ERR-189",
            )
        if request.size > self._closable(position):
            raise OrderRejected(
                f"close size {request.size} exceeds the closable size {self._closable(position)} "
                f"(resting close orders use the rest)",
                reason="position_conflict",
                endpoint="paper",
                code="ERR-200",
            )
        return self._place_close(
            request.symbol,
            request.side,
            request.execution_type,
            tif,
            request.size,
            request.price,
            request.position_id,
            False,
        )

    def close_bulk(self, request: CloseBulkRequest) -> int:
        """Place an order closing `size` across positions of the opposite side, oldest first; return
        its id."""
        self.sync()
        rules = self._rules_for(request.symbol)
        tif = check_order_shape(
            rules,
            request.side,
            request.execution_type,
            request.size,
            request.price,
            request.time_in_force,
        )
        open_size = sum(
            (p.size for p in self._positions(request.symbol) if p.side != request.side), ZERO
        )
        if open_size == 0:
            raise NotFound(
                f"no {request.symbol} positions to close with {request.side}",
                endpoint="paper",
                code="ERR-422",
            )
        if request.size > open_size:
            raise OrderRejected(
                f"close size {request.size} exceeds the open size {open_size}",
                reason="position_conflict",
                endpoint="paper",
                code="ERR-189",
            )
        return self._place_close(
            request.symbol,
            request.side,
            request.execution_type,
            tif,
            request.size,
            request.price,
            None,
            True,
        )

    def _place_close(
        self,
        symbol: str,
        side: str,
        execution_type: str,
        tif: str,
        size: Decimal,
        price: Decimal | None,
        position_id: int | None,
        bulk: bool,
    ) -> int:
        """Insert a close order and let it arrive at the book."""
        book = self.feed.order_book(symbol)
        if execution_type == STOP and price is not None and stop_triggers_now(side, price, book):
            raise OrderRejected(
                f"{symbol}: stop {price} would trigger at once",
                reason="stop_would_trigger",
                endpoint="paper",
                code="ERR-5129",
            )
        with writing(self.db):
            order = self._insert(
                symbol,
                side,
                execution_type,
                CLOSE_SETTLE,
                tif,
                size,
                price,
                None,
                position_id,
                bulk,
            )
            self._arrive(order, book)
        return order.order_id

    # -- cancelling and changing
    # -----------------------------------------------------------------------------

    def cancel_order(self, order_id: int) -> None:
        """Cancel one order; an order already final counts as cancelled; NotFound for unknown
        ids."""
        self.sync()
        order = self._order(order_id)
        if order.status in ACTIVE_STATUSES:
            with writing(self.db):
                self._set_status(order, "CANCELED", "USER", self.feed.now())

    def cancel_orders(self, order_ids: Sequence[int]) -> CancelResult:
        """Cancel up to 10 orders; report which were cancelled and which refused (ERR-5122 /
        ERR-5123)."""
        self.sync()
        cancelled, failed = [], []
        for order_id in order_ids:
            try:
                order = self._order(order_id)
            except NotFound:
                failed.append(CancelFailure(int(order_id), "ERR-5123", "order does not exist"))
                continue
            if order.status not in ACTIVE_STATUSES:
                failed.append(CancelFailure(order.order_id, "ERR-5122", f"order is {order.status}"))
                continue
            with writing(self.db):
                self._set_status(order, "CANCELED", "USER", self.feed.now())
            cancelled.append(order.order_id)
        return CancelResult(tuple(cancelled), tuple(failed))

    def cancel_bulk(
        self, symbols: Sequence[str], side: str | None = None, settle_type: str | None = None
    ) -> list[int]:
        """Cancel every matching resting order; return the ids cancelled."""
        self.sync()
        chosen = [
            o
            for o in self._active()
            if o.order_type != LOSSCUT
            and o.symbol in symbols
            and (side is None or o.side == side)
            and (settle_type is None or o.settle_type == settle_type)
        ]
        with writing(self.db):
            for order in chosen:
                self._set_status(order, "CANCELED", "USER", self.feed.now())
        return [o.order_id for o in chosen]

    def change_order(
        self,
        order_id: int,
        price: Decimal,
        losscut_price: Decimal | None = None,
        *,
        symbol: str | None = None,
    ) -> None:
        """Change the price of a resting limit/stop; it rests anew from now (a crossing post-only
        expires)."""
        self.sync()
        order = self._order(order_id)
        if order.status not in ("ORDERED", "WAITING") or order.execution_type == MARKET:
            raise OrderRejected(
                f"order {order_id} is {order.status} and cannot be changed",
                reason="order_final",
                endpoint="paper",
                code="ERR-5122",
            )
        check_order_shape(
            self.rules[order.symbol],
            order.side,
            order.execution_type,
            order.size,
            price,
            order.time_in_force,
        )
        book = self.feed.order_book(order.symbol)
        now = to_db(self.feed.now())
        with writing(self.db):
            self.db.execute(
                "UPDATE paper_orders SET price = ?, losscut_price = COALESCE(?, losscut_price), "
                "active_from = ?, checked_until = NULL, updated_at = ? WHERE order_id = ?",
                [
                    text(price),
                    text(losscut_price) if losscut_price is not None else None,
                    now,
                    now,
                    order.order_id,
                ],
            )
            changed = self._order(order.order_id)
            if changed.execution_type == LIMIT and crosses(changed.side, changed.price, book):
                self._cross(changed, book, self.feed.now())

    def change_losscut_price(
        self, position_id: int, losscut_price: Decimal, *, symbol: str | None = None
    ) -> None:
        """Set the loss-cut price of one open position (it settles the position at market, with the
        0.5 % loss-cut fee, when a later bar reaches it)."""
        self.sync()
        position = next((p for p in self._positions() if p.position_id == position_id), None)
        if position is None:
            raise NotFound(
                f"position {position_id} does not exist", endpoint="paper", code="ERR-254"
            )
        now = to_db(self.feed.now())
        with writing(self.db):
            self.db.execute(
                "UPDATE paper_positions SET losscut_price = ? WHERE position_id = ?",
                [text(losscut_price), int(position_id)],
            )
            changed = self.db.execute(
                f"UPDATE paper_orders SET price = ?, active_from = ?, checked_until = NULL, updated_at = ? "
                f"WHERE account = ? AND position_id = ? AND order_type = 'LOSSCUT' AND status IN {ACTIVE_SQL}",
                [text(losscut_price), now, now, self.account, int(position_id)],
            ).rowcount
            if not changed:
                order = replace(self._stub(position), losscut_price=losscut_price)
                self._insert_losscut(order, position.position_id, position.size)

    # -- private reads
    # ---------------------------------------------------------------------------------------

    def assets(self) -> list[Asset]:
        """Return JPY and coin balances; available excludes what resting orders hold back."""
        self.sync()
        rows = self.db.execute(
            "SELECT asset, amount FROM paper_balances WHERE account = ? ORDER BY asset != 'JPY', "
            "asset",
            [self.account],
        ).fetchall()
        assets = []
        for asset, amount in rows:
            amount = Decimal(amount)
            if asset == "JPY":
                available = amount - self._reserved_jpy()
                assets.append(Asset("JPY", amount, available, Decimal(1)))
            else:
                assets.append(
                    Asset(asset, amount, self._available_coin(asset), self._price_of(asset))
                )
        return assets

    def _price_of(self, coin: str) -> Decimal:
        """Return a coin's JPY rate from the feed (spot symbol, else its leverage symbol)."""
        try:
            return self.feed.ticker(coin).last
        except KeyError:
            return self.feed.ticker(f"{coin}_JPY").last

    def margin(self) -> Margin:
        """Return the leverage margin summary (2x leverage, margin at opening prices)."""
        self.sync()
        positions = self._positions()
        unrealized = self._unrealized(positions)
        used = sum((required_margin(p.price, p.size) for p in positions), ZERO)
        total = self._balance("JPY") + unrealized
        return Margin(total, total - used - self._reserved_jpy(), used, unrealized, "NORMAL")

    def trading_volume(self) -> TradingVolume:
        """Return the last 7 days' executed JPY value, tier 1, and the paper fees."""
        self.sync()
        since = to_db(self.feed.now() - timedelta(days=7))
        rows = self.db.execute(
            "SELECT price, size FROM paper_executions WHERE account = ? AND executed_at >= ?",
            [self.account, since],
        ).fetchall()
        volume = sum((Decimal(p) * Decimal(s) for p, s in rows), ZERO)
        limits = tuple(FeeLimit(r.symbol, r.taker_fee, r.maker_fee) for r in self.rules.values())
        return TradingVolume(volume, 1, limits)

    def active_orders(self, symbol: str) -> list[Order]:
        """Return resting orders of one symbol (a position's loss-cut is no order until it
        fires)."""
        self.sync()
        return [o.to_order() for o in self._active(symbol) if o.order_type != LOSSCUT]

    def _stub(self, position: PaperPosition) -> PaperOrder:
        """Return an order-shaped record of a position's opening side (to insert its loss-cut)."""
        now = self.feed.now()
        return PaperOrder(
            0,
            position.symbol,
            position.side,
            LIMIT,
            OPEN_SETTLE,
            FAK,
            position.size,
            ZERO,
            position.price,
            position.losscut_price,
            "EXECUTED",
            None,
            None,
            False,
            now,
            now,
            None,
        )

    def orders(self, order_ids: Sequence[int]) -> list[Order]:
        """Return orders by id (unknown ids are left out, like GMO)."""
        self.sync()
        found = []
        for order_id in order_ids:
            try:
                found.append(self._order(order_id).to_order())
            except NotFound:
                continue
        return found

    def _executions(self, where: str, params: list) -> list[Execution]:
        """Return executions matching a WHERE clause, newest first."""
        rows = self.db.execute(
            "SELECT execution_id, order_id, position_id, symbol, side, settle_type, size, price, loss_gain, fee, "
            f"executed_at FROM paper_executions WHERE account = ? AND {where} ORDER BY execution_id DESC",
            [self.account, *params],
        ).fetchall()
        return [
            Execution(
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                r[5],
                Decimal(r[6]),
                Decimal(r[7]),
                Decimal(r[8]),
                Decimal(r[9]),
                from_db(r[10]),
            )
            for r in rows
        ]

    def executions(self, order_id: int) -> list[Execution]:
        """Return the fills of one order."""
        self.sync()
        return self._executions("order_id = ?", [int(order_id)])

    def latest_executions(self, symbol: str) -> list[Execution]:
        """Return the fills of the last day for one symbol, newest first (at most 100)."""
        self.sync()
        since = to_db(self.feed.now() - timedelta(days=1))
        return self._executions("symbol = ? AND executed_at >= ?", [symbol, since])[:100]

    def open_positions(self, symbol: str) -> list[Position]:
        """Return open leverage positions of one symbol with unrealised P/L at the feed's last
        price."""
        self.sync()
        positions = self._positions(symbol)
        if not positions:
            return []
        last, active = self.feed.ticker(symbol).last, self._active(symbol)
        return [
            Position(
                p.position_id,
                p.symbol,
                p.side,
                p.size,
                p.size - self._closable(p, active),
                p.price,
                position_pnl(p.side, p.price, last, p.size),
                LEVERAGE,
                p.losscut_price,
                p.opened_at,
            )
            for p in positions
        ]

    def position_summary(self, symbol: str | None = None) -> list[PositionSummary]:
        """Return open positions summed per symbol and side."""
        symbols = [symbol] if symbol else sorted({p.symbol for p in self._positions()})
        summary = []
        for name in symbols:
            for side in (BUY, SELL):
                rows = [p for p in self.open_positions(name) if p.side == side]
                if rows:
                    size = sum((p.size for p in rows), ZERO)
                    average = sum((p.price * p.size for p in rows), ZERO) / size
                    summary.append(
                        PositionSummary(
                            name,
                            side,
                            average,
                            sum((p.loss_gain for p in rows), ZERO),
                            sum((p.ordered_size for p in rows), ZERO),
                            size,
                        )
                    )
        return summary
