"""The replay loop: one live-like step per 15-minute candle over stored history, on the paper
exchange.

Each step does what the deployed desk does around a cycle, in the same order and with the same
functions: the bot's trade management (fills since the last step), the cycle (features, model,
rules, proposal), outcome resolution, the person's verdicts on pending signals (approval ->
execute_signal, as the bot does), and the expiry sweep. Who plays the person is a `DeskSide`:
`PolicyDesk` decides directly by a seeded policy (backtest); the bot's lock-step driver
(jobs/demo/lockstep.py) sends the same verdicts through the real Telegram handlers (demo, parity).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from signaldesk import signals
from signaldesk.approvals import decide, expire_stale_signals
from signaldesk.signals import APPROVED, REJECTED
from signaldesk.state import resume, trading_state

if TYPE_CHECKING:
    from typing import TextIO

    from signaldesk.backtest.scores import BatchScores
    from signaldesk.exchange.base import Exchange
    from signaldesk.exchange.feed import CandleFeed
    from signaldesk.model.inference import LoadedModel
    from signaldesk.news import NewsEvent
    from signaldesk.settings import Settings
    from signaldesk.storage import Database

STEP = timedelta(minutes=15)
POLICY_ACTOR = "backtest:policy"


class BacktestError(ValueError):
    """The backtest cannot run as asked (no candles, bad period, bad option); the message says what
    to change."""


@dataclass(frozen=True)
class ApprovalPolicy:
    """The simulated person: approve every pending signal, or a seeded random fraction (the rest
    rejected)."""

    fraction: float = 1.0
    seed: int = 0

    def chooser(self) -> Callable[[int], bool]:
        """Return approve(signal_id) -> bool; draws happen in signal order, so a seed always gives
        the same run."""
        rng = random.Random(self.seed)
        return lambda _signal_id: self.fraction >= 1.0 or rng.random() < self.fraction

    def describe(self) -> str:
        """Return the policy as a person reads it."""
        return (
            "approve all"
            if self.fraction >= 1.0
            else f"approve {self.fraction:.0%} at random (seed {self.seed})"
        )


def parse_policy(text: str, seed: int) -> ApprovalPolicy:
    """Parse `all` or a fraction in (0, 1]; raise BacktestError naming the allowed values."""
    if text.strip().lower() == "all":
        return ApprovalPolicy(1.0, seed)
    try:
        fraction = float(text)
    except ValueError:
        fraction = -1.0
    if not 0 < fraction <= 1:
        raise BacktestError(
            f"--approve {text!r}: allowed values are 'all' or a fraction in (0, 1], e.g. 0.7"
        )
    return ApprovalPolicy(fraction, seed)


class DeskSide(Protocol):
    """The person and the bot around the cycle: trade management, verdicts, the expiry sweep, the
    morning report."""

    def manage(self, now: datetime) -> None: ...  # noqa: D102
    def decide_pending(self, now: datetime) -> None: ...  # noqa: D102
    def sweep(self, now: datetime) -> None: ...  # noqa: D102
    def morning(self, day, now: datetime) -> None: ...  # noqa: D102


@dataclass
class PolicyDesk:
    """Verdicts by an approval policy, executed with the functions the bot calls after a tap (no
    Telegram)."""

    db: Database
    exchange: Exchange
    settings: Settings
    policy: ApprovalPolicy
    approve: Callable[[int], bool] = field(init=False)
    resumes: int = 0

    def __post_init__(self):
        self.approve = self.policy.chooser()

    def manage(self, now: datetime) -> None:
        """Run the bot's management step (fills, stops, take-profits, time stops, loss limits)."""
        from signaldesk.execution import manage_trades

        manage_trades(self.db, self.exchange, self.settings, now)

    def decide_pending(self, now: datetime) -> None:
        """Decide every open signal by the policy; an approval is executed at once, as the bot
        does."""
        from signaldesk.execution import execute_signal

        for signal in signals.pending(self.db, now):
            signal_id = signal.id
            assert signal_id is not None, "signals.pending reads saved rows: each has its id"
            verdict = APPROVED if self.approve(signal_id) else REJECTED
            if (
                decide(self.db, signal_id, verdict, POLICY_ACTOR, now).changed
                and verdict == APPROVED
            ):
                execute_signal(self.db, self.exchange, self.settings, signal_id, now)

    def sweep(self, now: datetime) -> None:
        """Expire what nobody decided in time."""
        expire_stale_signals(self.db, now)

    def morning(self, day, now: datetime) -> None:
        """Lift a loss-limit halt each morning, as a person reading the report would (limits re-halt
        if still hit)."""
        self.resumes += resume_after_loss_limit(self.db, now, POLICY_ACTOR)


def resume_after_loss_limit(db: Database, now: datetime, by: str) -> int:
    """Resume a halt set by the risk manager; return 1 when this call lifted one."""
    state = trading_state(db)
    if state.halted and state.by == "risk":
        return int(resume(db, now, by))
    return 0


@dataclass
class Progress:
    """A one-line progress bar on a stream (stderr); silent when `stream` is None."""

    total: int
    stream: TextIO | None
    label: str = "replay"
    started: float = field(default_factory=time.perf_counter)
    shown: int = -1

    def update(self, done: int, moment: datetime) -> None:
        """Redraw on a terminal when the whole percent changes; elsewhere (logs, CI) write a line
        every 10%."""
        percent = done * 100 // max(self.total, 1)
        live = bool(getattr(self.stream, "isatty", lambda: False)())
        if self.stream is None or percent == self.shown or not (live or percent % 10 == 0):
            return
        self.shown = percent
        elapsed = time.perf_counter() - self.started
        eta = elapsed / done * (self.total - done) if done else 0.0
        bar = "#" * (percent // 4) + "." * (25 - percent // 4)
        self.stream.write(
            f"{'\r' if live else ''}{self.label} [{bar}] {percent:3d}% {done}/{self.total} cycles, "
            f"{moment:%Y-%m-%d %H:%M} UTC, {elapsed:5.0f} s, ~{eta:4.0f} s left "
        )
        if done >= self.total or not live:
            self.stream.write("\n")
        self.stream.flush()


@dataclass
class StepLog:
    """Per-cycle observations and time per stage."""

    equity: list[tuple[datetime, Decimal]] = field(default_factory=list)
    exposure: list[tuple[datetime, bool]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    kinds: dict[str, int] = field(default_factory=dict)  # steps by kind (whole, managed, quiet)

    def count(self, kind: str) -> None:
        """Count one step of a kind."""
        self.kinds[kind] = self.kinds.get(kind, 0) + 1

    def timed(self, stage: str, fn: Callable, *args, **kwargs):
        """Run fn(*args, **kwargs), adding its wall time to `stage`."""
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - started


def step_times(since: datetime, until: datetime) -> list[datetime]:
    """Return the candle open times of [since, until) on the 15-minute grid."""
    first = since.replace(minute=since.minute - since.minute % 15, second=0, microsecond=0)
    first += STEP if first < since else timedelta(0)
    count = max(int((until - first) / STEP), 0)
    return [first + n * STEP for n in range(count)]


def cycle_now(candle_open: datetime, settings: Settings) -> datetime:
    """Return the moment the live cycle for a candle runs: its close plus the publication delay."""
    return candle_open + STEP + timedelta(seconds=settings.strategy.candle_publish_delay_seconds)


def run_steps(
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
    """Replay one whole desk step per candle open time; return equity, exposure and time per stage.

    `scores` (backtest.scores.BatchScores) gives the cycle the candles' scores computed once;
    without it the cycle scores each candle from its stored window, as the live cycle does.
    """
    log = StepLog()

    def step(candle_open: datetime, now: datetime) -> None:
        desk_step(db, exchange, models(candle_open), settings, calendar, desk, now, log, scores)
        log.count("whole")

    walk(opens, settings, feed, desk.morning, step, progress)
    return log


def walk(
    opens: Sequence[datetime], settings: Settings, feed: CandleFeed, morning, step, progress=None
) -> None:
    """Release the candles one by one; at each, the morning when it is due, then `step(open,
    now)`."""
    day = None
    for done, candle_open in enumerate(opens, start=1):
        now = cycle_now(candle_open, settings)
        feed.advance_to(now)
        day, report_day = morning_due(day, now, settings)
        if report_day is not None:
            morning(report_day, now)
        step(candle_open, now)
        if progress:
            progress.update(done, now)


def desk_step(
    db: Database,
    exchange: Exchange,
    model: LoadedModel,
    settings: Settings,
    calendar: list[NewsEvent],
    desk: DeskSide,
    now: datetime,
    log: StepLog,
    scores: BatchScores | None,
):
    """Run what the deployed desk does around one cycle, in its order; mark equity and exposure."""
    log.timed("manage", desk.manage, now)
    cycle_step(db, exchange, model, settings, calendar, desk, now, log, scores)


def cycle_step(
    db: Database,
    exchange: Exchange,
    model: LoadedModel,
    settings: Settings,
    calendar: list[NewsEvent],
    desk: DeskSide,
    now: datetime,
    log: StepLog,
    scores: BatchScores | None,
):
    """Run a desk step after its trade management: cycle, outcomes, verdicts, sweep, marks."""
    from signaldesk.cycle import run_cycle
    from signaldesk.cycle_job import resolve_and_score
    from signaldesk.risk import risk_snapshot

    result = log.timed(
        "cycle", run_cycle, db, exchange, model, settings, now, calendar, fetch=False, scores=scores
    )
    for stage, seconds in result.timings.items():  # the cycle's own split: fetch (book, risk), ...
        log.seconds[f"cycle.{stage}"] = log.seconds.get(f"cycle.{stage}", 0.0) + seconds
    log.timed("outcomes", resolve_and_score, db, settings, model.version, now)
    log.timed("decide", desk.decide_pending, now)
    log.timed("sweep", desk.sweep, now)
    snapshot = log.timed("mark", risk_snapshot, db, exchange, settings, now)
    log.equity.append((now, snapshot.equity_jpy))
    log.exposure.append((now, has_open_trade(db)))


def morning_due(day, now: datetime, settings: Settings) -> tuple[object, object]:
    """Return (the current report day, the day to report on now or None): once per local day, past
    the report time."""
    local = now.astimezone(settings.report.tz)
    if local.time() < settings.report.time or local.date() == day:
        return day, None
    return local.date(), (local.date() - timedelta(days=1) if day is not None else None)


def has_open_trade(db: Database) -> bool:
    """Return True when any trade holds a position."""
    return db.execute("SELECT 1 FROM trades WHERE status = 'open' LIMIT 1").fetchone() is not None
