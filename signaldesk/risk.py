"""The risk manager: loss limits per JST day/week/month, trade count, position limit across trades,
one trade per symbol, a pause after consecutive losses, a maximum drawdown from the equity peak,
drift and spread rules.

Pure functions take `now` and plain data; `risk_snapshot` and `enforce_loss_limits` are the only
edge functions. Realised P/L is counted per fill (closing fills' P/L minus every fill's fee, maker
rebates adding back), at the time of the fill, so a take-profit 1 yesterday counts yesterday even if
the trade closes today. Equity: in paper mode the paper exchange's JPY balance plus the desk's
unrealised P/L; in live mode the leverage account's `actualProfitLoss` (JPY collateral plus
unrealised P/L of every position). In both modes coins held for configured spot symbols are added at
their conversion rate.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from signaldesk.clock import JST, from_db, jst_day_start, jst_month_start, jst_week_start, to_db
from signaldesk.exchange.model import Asset, Margin, OrderBook, Ticker, is_leverage
from signaldesk.sizing import LONG, SHORT, direction_sign

if TYPE_CHECKING:
    from signaldesk.settings import RiskSettings

ZERO = Decimal(0)
PEAK_KEY = "equity_peak"


@dataclass(frozen=True)
class PnlEvent:
    """Realised P/L of one fill in JPY, net of its fee (negative = loss)."""

    at: datetime
    amount: Decimal


@dataclass(frozen=True)
class OpenExposure:
    """The open part of one desk trade, valued at the price it could be closed at now."""

    trade_id: int
    symbol: str
    direction: str
    size: Decimal
    entry_price: Decimal
    mark_price: Decimal
    unrealised_jpy: Decimal


@dataclass(frozen=True)
class Commitment:
    """What one active desk trade holds or may come to hold: its open size at its entry price plus
    its resting entry orders at their own prices."""

    trade_id: int
    symbol: str
    direction: str
    notional_jpy: Decimal


@dataclass(frozen=True)
class Streak:
    """The run of losing trades ending with the most recent closed trade, and the pause it
    causes."""

    losses: int = 0
    last_loss_at: datetime | None = None
    paused_until: datetime | None = None


@dataclass(frozen=True)
class RiskSnapshot:
    """Everything the risk rules need, gathered at one moment; P/L is realised + unrealised,
    negative = loss."""

    at: datetime
    equity_jpy: Decimal
    halted: bool
    halt_reason: str
    realised_today_jpy: Decimal
    realised_week_jpy: Decimal
    realised_month_jpy: Decimal
    unrealised_jpy: Decimal
    pnl_day_jpy: Decimal
    pnl_week_jpy: Decimal
    pnl_month_jpy: Decimal
    limit_day_jpy: Decimal
    limit_week_jpy: Decimal
    limit_month_jpy: Decimal
    budget_day_left_jpy: Decimal
    budget_week_left_jpy: Decimal
    budget_month_left_jpy: Decimal
    trades_today: int
    max_trades_per_day: int
    open_positions: list[OpenExposure] = field(default_factory=list)
    commitments: list[Commitment] = field(default_factory=list)
    streak: Streak = field(default_factory=Streak)
    equity_peak_jpy: Decimal | None = None
    max_drawdown: Decimal = Decimal("0.20")
    # the account's own equity (equity_jpy above is what the risk rules use: capped in live mode)
    account_equity_jpy: Decimal | None = None

    @property
    def committed_jpy(self) -> Decimal:
        """Return the notional every active trade holds or may come to hold."""
        return sum((c.notional_jpy for c in self.commitments), ZERO)

    @property
    def peak_equity_jpy(self) -> Decimal:
        """Return the equity the drawdown is measured on: the account's (the capital cap would hide
        a fall)."""
        return self.equity_jpy if self.account_equity_jpy is None else self.account_equity_jpy

    @property
    def drawdown(self) -> Decimal:
        """Return the fall of equity from its peak, as a fraction of the peak (0 without a peak)."""
        peak, equity = self.equity_peak_jpy, self.peak_equity_jpy
        if not peak or peak <= 0 or equity >= peak:
            return ZERO
        return (peak - equity) / peak

    def paused(self, at: datetime | None = None) -> bool:
        """Return True while new trades are paused after consecutive losses (at the snapshot's
        moment, or `at`)."""
        until = self.streak.paused_until
        return until is not None and (at or self.at) < until


@dataclass(frozen=True)
class TradeProposal:
    """A trade about to be sent: what, which way, how much, and the signal it came from."""

    symbol: str
    direction: str
    size: Decimal
    entry_price: Decimal
    stop_loss: Decimal
    atr: Decimal
    signal_price: Decimal

    @property
    def notional_jpy(self) -> Decimal:
        """Return the position value at entry."""
        return self.size * self.entry_price

    @property
    def risk_jpy(self) -> Decimal:
        """Return the loss if the stop is hit."""
        return self.size * abs(self.entry_price - self.stop_loss)


def realised_between(events: Iterable[PnlEvent], start: datetime, end: datetime) -> Decimal:
    """Return the realised P/L of events from start up to and including end."""
    return sum((e.amount for e in events if start <= e.at <= end), ZERO)


def mark_price(direction: str, ticker: Ticker) -> Decimal:
    """Return the price a position could be closed at now (bid for a long, ask for a short)."""
    return ticker.bid if direction == LONG else ticker.ask


def unrealised_pnl(direction: str, size: Decimal, entry_price: Decimal, mark: Decimal) -> Decimal:
    """Return the unrealised P/L in JPY of an open size."""
    return direction_sign(direction) * (mark - entry_price) * size


def build_snapshot(
    equity: Decimal,
    halted: bool,
    halt_reason: str,
    events: Sequence[PnlEvent],
    exposures: Sequence[OpenExposure],
    trades_today: int,
    risk: RiskSettings,
    now: datetime,
    commitments: Sequence[Commitment] = (),
    streak: Streak = Streak(),
    equity_peak: Decimal | None = None,
    account_equity: Decimal | None = None,
) -> RiskSnapshot:
    """Return the risk snapshot from equity, realised P/L events and open exposures (pure)."""
    unrealised = sum((x.unrealised_jpy for x in exposures), ZERO)
    day, week, month = (
        realised_between(events, start(now), now)
        for start in (jst_day_start, jst_week_start, jst_month_start)
    )
    fractions = (risk.daily_loss_limit, risk.weekly_loss_limit, risk.monthly_loss_limit)
    limit_day, limit_week, limit_month = (equity * f for f in fractions)
    limits = (limit_day, limit_week, limit_month)
    pnls = (day + unrealised, week + unrealised, month + unrealised)
    budget_day, budget_week, budget_month = (
        limit + pnl for limit, pnl in zip(limits, pnls, strict=True)
    )
    return RiskSnapshot(
        now,
        equity,
        halted,
        halt_reason,
        day,
        week,
        month,
        unrealised,
        *pnls,
        *limits,
        budget_day,
        budget_week,
        budget_month,
        trades_today,
        risk.max_trades_per_day,
        list(exposures),
        list(commitments),
        streak,
        equity_peak,
        risk.max_drawdown,
        account_equity,
    )


def loss_limit_breaches(snapshot: RiskSnapshot) -> list[str]:
    """Return one plain sentence per loss limit that is used up (empty = none)."""
    periods = (
        ("today (JST)", snapshot.pnl_day_jpy, snapshot.limit_day_jpy, snapshot.budget_day_left_jpy),
        (
            "this week (JST, from Monday)",
            snapshot.pnl_week_jpy,
            snapshot.limit_week_jpy,
            snapshot.budget_week_left_jpy,
        ),
        (
            "this month (JST)",
            snapshot.pnl_month_jpy,
            snapshot.limit_month_jpy,
            snapshot.budget_month_left_jpy,
        ),
    )
    return [
        f"Loss limit reached {name}: P/L {pnl:,.0f} JPY against a limit of -{limit:,.0f} JPY"
        for name, pnl, limit, left in periods
        if left <= 0
    ]


def check_new_trade(
    snapshot: RiskSnapshot, proposal: TradeProposal, market: OrderBook, settings, now: datetime
) -> list[str]:
    """Return the reasons a new trade is refused, in words a person understands (empty =
    allowed)."""
    reasons: list[str] = []
    if snapshot.halted:
        reasons.append(
            f"Trading is halted ({snapshot.halt_reason or 'no reason given'}); /resume lifts the halt."
        )
    reasons += loss_limit_breaches(snapshot) or _budget_refusals(snapshot, proposal)
    if snapshot.trades_today >= settings.risk.max_trades_per_day:
        reasons.append(
            f"Already {snapshot.trades_today} trade(s) today (JST); the limit is "
            f"{settings.risk.max_trades_per_day} per day."
        )
    reasons += pause_refusals(snapshot)
    reasons += _position_refusals(snapshot, proposal, settings.risk)
    reasons += _market_refusals(proposal, market, settings)
    return reasons


def pause_refusals(snapshot: RiskSnapshot, at: datetime | None = None) -> list[str]:
    """Refuse new trades during the pause after consecutive losses (at the snapshot's moment, or
    `at`)."""
    if not snapshot.paused(at):
        return []
    streak = snapshot.streak
    return [
        f"{streak.losses} losing trades in a row (the last closed {jst_text(streak.last_loss_at)}): new "
        f"trades are paused until {jst_text(streak.paused_until)}."
    ]


def symbol_refusals(snapshot: RiskSnapshot, symbol: str, risk: RiskSettings) -> list[str]:
    """Refuse a trade on a symbol that already has `max_trades_per_symbol` active trades."""
    held = [c for c in snapshot.commitments if c.symbol == symbol]
    if len(held) < risk.max_trades_per_symbol:
        return []
    names = ", ".join(f"#{c.trade_id} {c.direction}" for c in held)
    return [
        f"{symbol} already has open trade {names} (at most {risk.max_trades_per_symbol} per symbol)."
    ]


def room_jpy(snapshot: RiskSnapshot, risk: RiskSettings) -> Decimal:
    """Return the notional a new trade may still take under the position limit across all trades."""
    return max(snapshot.equity_jpy * risk.max_position_fraction - snapshot.committed_jpy, ZERO)


def jst_text(moment: datetime | None) -> str:
    """Render a moment for a person (JST)."""
    return "-" if moment is None else f"{moment.astimezone(JST):%Y-%m-%d %H:%M} JST"


def _budget_refusals(snapshot: RiskSnapshot, proposal: TradeProposal) -> list[str]:
    """Refuse a trade whose stop-loss would take a loss budget below zero."""
    budgets = (
        ("today's", snapshot.budget_day_left_jpy),
        ("this week's", snapshot.budget_week_left_jpy),
        ("this month's", snapshot.budget_month_left_jpy),
    )
    return [
        f"This trade risks {proposal.risk_jpy:,.0f} JPY at its stop, but only {left:,.0f} JPY of {name} "
        f"loss limit is left."
        for name, left in budgets
        if proposal.risk_jpy > left
    ]


def _position_refusals(
    snapshot: RiskSnapshot, proposal: TradeProposal, risk: RiskSettings
) -> list[str]:
    """Refuse spot shorts, empty sizes and positions above the notional limit."""
    reasons = []
    if proposal.direction == SHORT and not is_leverage(proposal.symbol):
        reasons.append(
            f"{proposal.symbol} is a spot symbol: it cannot be sold short (use the _JPY leverage symbol)."
        )
    if proposal.size <= 0:
        reasons.append("The trade has no size.")
    cap = snapshot.equity_jpy * risk.max_position_fraction
    total = snapshot.committed_jpy + proposal.notional_jpy
    if total > cap:
        held = (
            f"open trades hold {snapshot.committed_jpy:,.0f} JPY and this order is worth "
            if snapshot.commitments
            else "this order is worth "
        )
        reasons.append(
            f"Position value above the limit: {held}{proposal.notional_jpy:,.0f} JPY at its price "
            f"{proposal.entry_price:,.0f}; together {total:,.0f} JPY against {cap:,.0f} JPY "
            f"({risk.max_position_fraction * 100:.0f}% of equity)."
        )
    return reasons + symbol_refusals(snapshot, proposal.symbol, risk)


def _market_refusals(proposal: TradeProposal, market: OrderBook, settings) -> list[str]:
    """Refuse when the book is empty, the spread is too wide, or the price ran away since the
    signal."""
    if not market.asks or not market.bids:
        return [
            f"The {proposal.symbol} order book is empty on one side; no passive price to quote."
        ]
    reasons = []
    if market.spread_bps > settings.strategy.max_spread_bps:
        reasons.append(
            f"Spread is {market.spread_bps:.1f} bps, wider than the {settings.strategy.max_spread_bps} "
            f"bps allowed."
        )
    mid = (market.best_ask + market.best_bid) / 2
    allowed = settings.risk.max_drift_atr * proposal.atr
    if abs(mid - proposal.signal_price) > allowed:
        reasons.append(
            f"Stale signal: price moved {abs(mid - proposal.signal_price):,.0f} JPY since the signal "
            f"({proposal.signal_price:,.0f} -> {mid:,.0f}), more than {settings.risk.max_drift_atr} x ATR "
            f"= {allowed:,.0f} JPY."
        )
    return reasons


def account_equity(
    mode: str,
    assets: Sequence[Asset],
    margin: Margin | None,
    unrealised: Decimal,
    spot_symbols: Sequence[str],
) -> Decimal:
    """Return equity in JPY (see the module docstring for paper vs live)."""
    coins = sum((a.amount * a.conversion_rate for a in assets if a.symbol in spot_symbols), ZERO)
    if mode != "paper" and margin is not None:
        return margin.actual_profit_loss + coins
    jpy = sum((a.amount for a in assets if a.symbol == "JPY"), ZERO)
    return jpy + unrealised + coins


# ---- edge -----------------------------------------------------------------------------------------------------


@dataclass
class KeptSnapshot:
    """The last snapshot taken over a replayed candle feed, with what it was computed from."""

    key: tuple | None = None
    snapshot: RiskSnapshot | None = None
    holds: tuple = ()  # the connection, settings and exchange its key names by id, kept alive


_KEPT = KeptSnapshot()


def risk_snapshot(db, exchange, settings, now: datetime) -> RiskSnapshot:
    """Gather balance, open trades, P/L events and the halt flag into a RiskSnapshot (reads the
    exchange).

    Over a replayed candle feed (a backtest), a second call at the same moment with nothing written
    since returns the first call's snapshot: the trade management and the cycle that follows it
    both take one. A live or paper-live exchange has no replay key, so every call reads.
    """
    key = replay_key(db, exchange, settings, now)
    if key is not None and key == _KEPT.key:
        assert _KEPT.snapshot is not None
        return _KEPT.snapshot
    snapshot = read_snapshot(db, exchange, settings, now)
    if key is not None:  # a replay: keep it, keyed after the paper account's own sync
        key = replay_key(db, exchange, settings, now)
        _KEPT.key, _KEPT.snapshot, _KEPT.holds = key, snapshot, (db.conn, settings, exchange)
    return snapshot


def replay_key(db, exchange, settings, now: datetime) -> tuple | None:
    """Return what a snapshot over a replayed feed depends on (None: not a replay, or inside a
    transaction that a rollback could undo)."""
    replay = getattr(exchange, "replay_key", None)
    if replay is None or db.conn.in_transaction:
        return None
    state = replay()
    return None if state is None else (id(db.conn), id(settings), now, state)


def read_snapshot(db, exchange, settings, now: datetime) -> RiskSnapshot:
    """Read everything a RiskSnapshot holds from the database and the exchange."""
    from signaldesk.golive import capped_equity
    from signaldesk.state import TRADING_KEYS, state_rows, trading_state_in

    stored = state_rows(db, (*TRADING_KEYS, PEAK_KEY))  # the halt and the peak in one read
    state = trading_state_in(stored)
    holdings = active_holdings(db, settings.mode)
    exposures = exposures_of([h for h in holdings if h[4] is not None], exchange)
    unrealised = sum((x.unrealised_jpy for x in exposures), ZERO)
    symbols = settings.strategy.symbols
    margin = (
        exchange.margin() if settings.mode != "paper" and any(map(is_leverage, symbols)) else None
    )
    spot = [s for s in symbols if not is_leverage(s)]
    # live leverage: margin alone
    assets = exchange.assets() if settings.mode == "paper" or spot else []
    equity = account_equity(settings.mode, assets, margin, unrealised, spot)
    events = pnl_events(db, settings.mode, min(jst_week_start(now), jst_month_start(now)))
    count = trades_since(db, settings.mode, jst_day_start(now))
    risk_equity = capped_equity(settings, equity)  # live: at most the capital cap ([golive])
    return build_snapshot(
        risk_equity,
        state.halted,
        state.reason,
        events,
        exposures,
        count,
        settings.risk,
        now,
        commitments_of(holdings),
        loss_streak(db, settings.mode, settings.risk),
        peak_in(stored),
        equity,
    )


def active_holdings(db, mode: str) -> list[tuple]:
    """Return (id, symbol, direction, remaining size, entry price, resting entry notional) of every
    active trade, oldest first: what `commitments` and `open_exposures` read, in one query."""
    return db.execute(
        "SELECT t.id, t.symbol, t.direction, t.remaining_size, t.entry_price, "
        "COALESCE((SELECT SUM((CAST(o.size AS REAL) - CAST(o.executed_size AS REAL)) * CAST(o.price AS REAL)) "
        "FROM orders o WHERE o.trade_id = t.id AND o.purpose = 'entry' "
        "AND o.status IN ('OPEN', 'PARTIAL', 'PLACING', 'UNKNOWN')), 0) "
        "FROM trades t WHERE t.mode = ? AND t.status IN ('pending', 'open') ORDER BY t.id",
        [mode],
    ).fetchall()


def commitments(db, mode: str) -> list[Commitment]:
    """Return what every active trade holds (open size at its entry price) and may still come to
    hold (its resting or unresolved entry orders at their own prices)."""
    return commitments_of(active_holdings(db, mode))


def commitments_of(holdings: Sequence[tuple]) -> list[Commitment]:
    """Return the commitments of rows of `active_holdings`."""
    found = []
    for trade_id, symbol, direction, remaining, entry, resting in holdings:
        held = Decimal(remaining) * Decimal(entry) if entry else ZERO
        found.append(
            Commitment(
                trade_id, symbol, direction, held + Decimal(str(resting)).quantize(Decimal(1))
            )
        )
    return found


def loss_streak(db, mode: str, risk: RiskSettings) -> Streak:
    """Return the run of losing trades ending with the latest closed trade and the pause it
    causes."""
    rows = db.execute(
        "SELECT pnl_jpy, exit_time FROM trades WHERE mode = ? AND status = 'closed' AND exit_time IS NOT NULL "
        "ORDER BY exit_time DESC, id DESC LIMIT ?",
        [mode, max(risk.max_consecutive_losses, 1)],
    ).fetchall()
    losses = 0
    for pnl, _ in rows:
        if Decimal(pnl or "0") >= 0:
            break
        losses += 1
    if not losses:
        return Streak()
    last = from_db(rows[0][1])
    pausing = risk.max_consecutive_losses and losses >= risk.max_consecutive_losses
    until = last + timedelta(hours=risk.loss_cooldown_hours) if pausing else None
    return Streak(losses, last, until)


def equity_peak(db) -> Decimal | None:
    """Return the highest equity the desk has recorded (see `enforce_loss_limits`)."""
    from signaldesk.state import state_rows

    return peak_in(state_rows(db, (PEAK_KEY,)))


def peak_in(rows: dict[str, tuple]) -> Decimal | None:
    """Return the recorded equity peak held in rows of `state.state_rows`, or None."""
    value = rows.get(PEAK_KEY, (None,))[0]
    return Decimal(value) if value else None


def open_exposures(db, exchange, mode: str) -> list[OpenExposure]:
    """Return the open part of every desk trade, marked at the current ticker."""
    rows = db.execute(
        "SELECT id, symbol, direction, remaining_size, entry_price FROM trades "
        "WHERE mode = ? AND status IN ('pending', 'open') AND entry_price IS NOT NULL ORDER BY id",
        [mode],
    ).fetchall()
    return exposures_of(rows, exchange)


def exposures_of(holdings: Sequence[tuple], exchange) -> list[OpenExposure]:
    """Return the open exposures of trade rows (id, symbol, direction, remaining size, entry price,
    ...) that have an entry price, marked at the current ticker (one ticker read per symbol)."""
    tickers: dict[str, Ticker] = {}
    exposures = []
    for trade_id, symbol, direction, remaining, entry, *_ in holdings:
        if Decimal(remaining) <= 0:
            continue
        ticker = tickers.get(symbol) or tickers.setdefault(symbol, exchange.ticker(symbol))
        mark = mark_price(direction, ticker)
        pnl = unrealised_pnl(direction, Decimal(remaining), Decimal(entry), mark)
        exposures.append(
            OpenExposure(trade_id, symbol, direction, Decimal(remaining), Decimal(entry), mark, pnl)
        )
    return exposures


def pnl_events(db, mode: str, since: datetime) -> list[PnlEvent]:
    """Return the realised P/L (net of fees) of every desk fill and leverage fee since a moment."""
    from signaldesk.ledger import net_events

    return [PnlEvent(at, amount) for at, amount in net_events(db, mode, since)]


def trades_since(db, mode: str, since: datetime) -> int:
    """Return how many desk trades were started since a moment (cancelled entries that never filled
    excluded)."""
    row = db.execute(
        "SELECT COUNT(*) FROM trades WHERE mode = ? AND created_at >= ? AND status != 'cancelled'",
        [mode, to_db(since)],
    ).fetchone()
    return int(row[0])


def enforce_loss_limits(
    db, snapshot: RiskSnapshot, now: datetime, mode: str = "paper"
) -> list[str]:
    """Halt trading and queue a critical alert when a loss limit is used up or equity fell
    `max_drawdown` from its peak; say when a losing streak pauses new trades; return notices for the
    person."""
    notices = track_drawdown(db, snapshot, now) + announce_pause(db, snapshot, now)
    return notices + halt_on_loss_limits(db, snapshot, now)


def track_drawdown(db, snapshot: RiskSnapshot, now: datetime) -> list[str]:
    """Keep the equity peak; halt (until /resume) at `max_drawdown` below it. After a person resumed
    such a halt the peak restarts from the equity of that moment."""
    from signaldesk.outbox import queue_alert
    from signaldesk.state import get_value, halt, set_value

    key, marker = PEAK_KEY, "drawdown_halt"
    peak = snapshot.equity_peak_jpy
    if get_value(db, marker) and not snapshot.halted:
        set_value(db, marker, "", now, "risk")
        peak = None
    equity = snapshot.peak_equity_jpy
    if peak is None or equity > peak:
        set_value(db, key, format(equity, "f"), now, "risk")
        return []
    fall = (peak - equity) / peak if peak > 0 else ZERO
    if fall < snapshot.max_drawdown or snapshot.halted:
        return []
    reason = (
        f"Maximum drawdown reached: equity {equity:,.0f} JPY is {fall:.1%} below its peak of "
        f"{peak:,.0f} JPY (limit {snapshot.max_drawdown:.0%})"
    )
    if not halt(db, reason, now, "risk"):
        return []
    set_value(db, marker, "1", now, "risk")
    from signaldesk.execution.notices import Notice

    text = f"Trading halted: {reason}. Open positions keep their stops; /resume lifts the halt."
    notice = Notice(text, "drawdown_halt", equity=equity, fall=fall, peak=peak,
                    limit=snapshot.max_drawdown)  # fmt: skip
    queue_alert(
        db, "critical", "max_drawdown", notice, now, dedupe_key=f"max_drawdown:{to_db(now)}"
    )
    return [notice]


def announce_pause(db, snapshot: RiskSnapshot, now: datetime) -> list[str]:
    """Queue one warning when a losing streak starts pausing new trades."""
    from signaldesk.outbox import queue_alert

    if not snapshot.paused():
        return []
    from signaldesk.execution.notices import Notice

    streak = snapshot.streak
    if streak.last_loss_at is None:
        raise ValueError("a paused losing streak has no last loss")
    notice = Notice(pause_refusals(snapshot)[0], "loss_streak_pause", losses=streak.losses,
                    last_loss_at=streak.last_loss_at, paused_until=streak.paused_until)  # fmt: skip
    key = f"loss_streak:{to_db(streak.last_loss_at)}"
    return (
        [notice] if queue_alert(db, "warning", "loss_streak", notice, now, dedupe_key=key) else []
    )


def halt_on_loss_limits(db, snapshot: RiskSnapshot, now: datetime) -> list[str]:
    """Halt trading and queue a critical alert when a loss limit is used up; return notices for the
    person."""
    from signaldesk.outbox import queue_alert
    from signaldesk.state import halt

    breaches = loss_limit_breaches(snapshot)
    if not breaches or snapshot.halted:
        return []
    reason = breaches[0]
    if not halt(db, reason, now, "risk"):
        return []
    text = f"Trading halted: {'; '.join(breaches)}. Open positions keep their stops; /resume lifts the halt."
    queue_alert(db, "critical", "loss_limit", text, now, dedupe_key=f"loss_limit:{to_db(now)}")
    return [text]
