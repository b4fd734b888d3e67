"""The replay's fast path: the desk's own code runs wherever something can happen; the rest is
booked in bulk.

`engine.run_steps` runs every step whole. This path runs the same functions but only where they can
act:

- a whole step (`engine.desk_step`: management, cycle, outcomes, verdicts, sweep, marks) when the
  cycle proposes a trade (a candle passes every rule), on the first step of each JST day
  (trades-today and the loss-limit periods start there, and the daily live-AUC check runs) and when
  the model changes (walk-forward);
- a managed step while a trade is pending or open, an order works or is unresolved, or the exchange
  holds a position, a resting order or coins, and after a morning lifted a halt: the bot's
  management step runs, then the market is read (`gather_market`) and the cycle's rows judged
  against it;
- a quiet step otherwise: nothing can trade, fill or halt, so only the cycle's rows are judged,
  against the market read on the first quiet step after the last managed or whole step with this
  step's order books, news blackout and clock-bound rules (the end of a loss-streak pause, an
  expired news calendar; nothing else it reads changes while the desk is idle within a JST day: no
  fill, order or halt, no trade held on any symbol, and equity is the JPY balance; the backtest's
  database holds no liquidation spikes, which the replay checks first, and otherwise it reads the
  whole market every step).

Managed and quiet steps write nothing to the cycle's tables as they go: their rows (every candle
LOGGED or FILTERED) and the outcomes that mature at their moments are kept and written in bulk
before the next whole step, exactly as the step-by-step replay writes them
(`tests/backtest/test_fast_path_parity.py` compares the two databases). Nothing the management step
or the market reads depends on those rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import TYPE_CHECKING

from signaldesk.backtest.engine import (
    BacktestError,
    DeskSide,
    Progress,
    StepLog,
    cycle_now,
    cycle_step,
    desk_step,
    has_open_trade,
    walk,
)
from signaldesk.clock import JST
from signaldesk.cycle import (
    Market,
    gather_market,
    judge,
    latest_closed_open_time,
    moment_rules,
    news_blackout,
    order_books,
)
from signaldesk.signals import PENDING
from signaldesk.storage import writing

if TYPE_CHECKING:
    from signaldesk.backtest.scores import BatchScores
    from signaldesk.exchange.base import Exchange
    from signaldesk.exchange.feed import CandleFeed
    from signaldesk.model.inference import LoadedModel
    from signaldesk.news import NewsEvent
    from signaldesk.settings import Settings
    from signaldesk.storage import Database


@dataclass
class QuietBook:
    """What managed and quiet steps owe the database: the cycle's equity snapshots, its rows and
    their outcome moments."""

    rows: list = field(default_factory=list)
    moments: list[datetime] = field(default_factory=list)
    snapshots: list = field(default_factory=list)  # (moment, RiskSnapshot) pairs

    def flush(self, db: Database, settings: Settings) -> None:
        """Write the snapshots and rows (those maturing by the last moment with their outcomes),
        then resolve and score outcomes as each step's own call would have."""
        from signaldesk.equity import record_snapshots
        from signaldesk.outcomes import score_outcomes_through

        with writing(db):  # one commit for all of it
            record_snapshots(db, settings.mode, self.snapshots)
            horizon = settings.strategy.label_horizon_bars
            score_outcomes_through(db, horizon, self.moments, arriving=self.rows)
        self.rows, self.moments, self.snapshots = [], [], []


@dataclass
class QuietMarket:
    """The market rows are judged against: read by `gather_market`, kept while the desk is idle."""

    db: Database
    exchange: Exchange
    settings: Settings
    calendar: list
    spikes_possible: bool
    market: Market | None = None

    def read(self, now: datetime) -> Market:
        """Read the whole market at `now` (after management) and keep it."""
        self.market = gather_market(
            self.db, self.exchange, self.settings, self.settings.strategy.symbols, now,
            self.calendar, {}, replay=True,
        )  # fmt: skip
        return self.market

    def at(self, now: datetime) -> Market:
        """Return a quiet step's market: the kept one with this step's order books, news and the
        rules that end with the clock (a loss-streak pause, the news calendar)."""
        if self.market is None or self.spikes_possible:
            return self.read(now)
        return replace(
            self.market,
            books=order_books(self.exchange, self.settings.strategy.symbols),
            news_event=news_blackout(self.calendar, now, self.settings),
            **moment_rules(self.market.risk, self.settings, self.calendar, now),
        )


def desk_idle(db: Database, exchange: Exchange, settings: Settings) -> bool:
    """Return True when no management step can act (see the module docstring)."""
    from signaldesk.execution.records import UNRESOLVED, WORKING, active_trades, orders_with_status

    if active_trades(db, settings.mode) or orders_with_status(
        db, settings.mode, WORKING + UNRESOLVED
    ):
        return False
    for symbol in settings.strategy.symbols:
        if exchange.active_orders(symbol) or exchange.open_positions(symbol):
            return False
    return all(asset.amount == 0 for asset in exchange.assets() if asset.symbol != "JPY")


def spikes_possible(db: Database, settings: Settings, opens: Sequence[datetime]) -> bool:
    """Return True when the database holds a liquidation spike a step of the replay could see."""
    from signaldesk.liquidations import recent_spike

    if not opens:
        return False
    last = cycle_now(opens[-1], settings)
    window = (last - opens[0]).total_seconds() // 60 + settings.strategy.liquidation_window_minutes
    return any(recent_spike(db, s, last, int(window)) for s in settings.strategy.symbols)


def judged_rows(
    scores: BatchScores, model: LoadedModel, market: Market, settings: Settings, now: datetime
) -> list | None:
    """Return the cycle's rows at `now` judged against `market`; None when one proposes a trade."""
    latest_open = latest_closed_open_time(now, settings.strategy.candle_publish_delay_seconds)
    rows = []
    for symbol in settings.strategy.symbols:
        scored = scores.scored(symbol, latest_open, model)
        judge(scored, market, settings)
        if scored.status == PENDING:
            return None
        rows.append(scored.to_signal(model.version, now, None))  # no expiry: not PENDING
    return rows


@dataclass
class Pace:
    """What the fast path knows between steps: the last step's JST day and model, and idleness."""

    idle: bool
    day: date | None = None
    model: str | None = None

    def new_period(self, now: datetime, model_version: str) -> bool:
        """Return True on a new JST day or model (the step runs whole), and remember this step's."""
        day = now.astimezone(JST).date()
        new = day != self.day or model_version != self.model
        self.day, self.model = day, model_version
        return new


@dataclass
class FastReplay:
    """One fast replay: the desk, its market, what is owed to the database, and the step log."""

    db: Database
    exchange: Exchange
    settings: Settings
    calendar: list
    desk: DeskSide
    scores: BatchScores
    market: QuietMarket
    pace: Pace
    log: StepLog = field(default_factory=StepLog)
    book: QuietBook = field(default_factory=QuietBook)

    def step(self, model: LoadedModel, now: datetime) -> None:
        """Replay one step: whole, managed or quiet (see the module docstring)."""
        if self.pace.new_period(now, model.version):
            return self.whole(model, now, managed=False)
        if not self.pace.idle:
            self.log.timed("manage", self.desk.manage, now)
            market = self.log.timed("market", self.market.read, now)
        else:
            market = self.log.timed("market", self.market.at, now)
        rows = self.log.timed("rows", judged_rows, self.scores, model, market, self.settings, now)
        if rows is None:
            return self.whole(model, now, managed=not self.pace.idle)
        self.log.count("quiet" if self.pace.idle else "managed")
        self.book.snapshots.append((now, market.risk))  # idle: the kept equity, now
        self.book.rows += rows
        self.book.moments.append(now)
        self.log.equity.append((now, market.equity_jpy))
        self.log.exposure.append((now, not self.pace.idle and has_open_trade(self.db)))
        if not self.pace.idle:
            self.after_desk_acted()

    def whole(self, model: LoadedModel, now: datetime, managed: bool) -> None:
        """Flush what is owed, then run the desk step whole (its management done if `managed`)."""
        self.log.timed("bookkeeping", self.book.flush, self.db, self.settings)
        run = cycle_step if managed else desk_step
        run(
            self.db, self.exchange, model, self.settings, self.calendar, self.desk, now, self.log,
            self.scores,
        )  # fmt: skip
        self.log.count("whole")
        self.after_desk_acted()

    def after_desk_acted(self) -> None:
        """Forget the kept market and find out whether the desk is idle now."""
        self.market.market = None
        self.pace.idle = self.log.timed("idle", desk_idle, self.db, self.exchange, self.settings)

    def morning(self, report_day, now: datetime) -> None:
        """Run the desk's morning; a lifted halt makes the step managed (it may halt again)."""
        from signaldesk.state import trading_state

        before = trading_state(self.db)
        self.desk.morning(report_day, now)
        if trading_state(self.db) != before:
            self.pace.idle = False


def run_fast(
    db: Database,
    exchange: Exchange,
    feed: CandleFeed,
    models: Callable[[datetime], LoadedModel],
    settings: Settings,
    calendar: list[NewsEvent],
    desk: DeskSide,
    opens: Sequence[datetime],
    progress: Progress | None = None,
    scores: BatchScores | None = None,
) -> StepLog:
    """Replay like `engine.run_steps` with `scores`, running the desk's code where it can act."""
    if scores is None:
        raise BacktestError(
            "the fast path replays scores computed once: pass backtest.scores.BatchScores"
        )
    market = QuietMarket(db, exchange, settings, calendar, spikes_possible(db, settings, opens))
    replay = FastReplay(
        db,
        exchange,
        settings,
        calendar,
        desk,
        scores,
        market,
        Pace(desk_idle(db, exchange, settings)),
    )
    walk(
        opens, settings, feed, replay.morning, lambda o, now: replay.step(models(o), now), progress
    )
    replay.log.timed("bookkeeping", replay.book.flush, db, settings)
    return replay.log
