"""One 15-minute cycle: closed candles in, features, both probabilities, rules, one row per symbol
and candle out."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from signaldesk import signals
from signaldesk.candles import Candle, find_gaps, load_candles, save_candles
from signaldesk.clock import floor_to
from signaldesk.equity import record_snapshot
from signaldesk.exchange.model import OrderBook, SymbolRules
from signaldesk.exchange.tradingday import kline_date, trading_day
from signaldesk.rules import Candidate, Check, Context, evaluate, status_of
from signaldesk.signals import FILTERED, LOGGED, PENDING, Signal
from signaldesk.storage import writing

if TYPE_CHECKING:
    from signaldesk.model.inference import Prediction

log = logging.getLogger("signaldesk.cycle")
STEP = timedelta(minutes=15)
# The listener beats once a minute while subscribed; silence longer than this means the feed is
# down.
LISTENER_SILENCE = timedelta(seconds=150)
HISTORY_DAYS_WHEN_EMPTY = 7


class CycleError(Exception):
    """The cycle cannot score this candle (data not published, bad model, ...); nothing was
    written."""


@dataclass(frozen=True)
class Market:
    """What the desk knows at the moment of one cycle apart from the candles and the model."""

    books: dict[str, OrderBook]
    rules: dict[str, SymbolRules]
    news_event: str | None
    spikes: dict[tuple[str, str], str]
    halted: bool
    halt_reason: str
    trades_today: int
    loss_limit_breaches: tuple[str, ...]
    equity_jpy: Decimal
    held: dict[str, str] = field(default_factory=dict)
    paused: str | None = None
    liquidation_blind: str | None = None
    news_warning: str | None = None
    news_blocks: bool = False
    room_jpy: Decimal | None = None
    risk: object = (
        None  # the RiskSnapshot behind these figures, saved as the cycle's equity snapshot
    )


@dataclass
class Scored:
    """The cycle's verdict on one symbol at one candle, ready to be written."""

    symbol: str
    candle_time: datetime
    close: Decimal | None
    previous: Candle | None
    last: Candle | None
    features: dict = field(default_factory=dict)
    prediction: Prediction | None = None
    checks: list[Check] = field(default_factory=list)
    status: str = FILTERED
    atr: Decimal | None = None
    proposal: dict = field(default_factory=dict)
    # The model's top contributions for this row, computed only when a verdict needs explaining.
    explain: Callable[[], list] | None = None

    def to_signal(self, model_version: str, now: datetime, expires: datetime | None) -> Signal:
        """Return the signals row of this verdict (a proposal and an expiry only when PENDING)."""
        p = self.prediction
        return Signal(
            created_at=now,
            symbol=self.symbol,
            candle_time=self.candle_time,
            direction=p.direction if p else None,
            confidence=p.confidence if p else None,
            prob_long=p.prob_long if p else None,
            prob_short=p.prob_short if p else None,
            confidence_rank=p.confidence_rank if p else None,
            features=self.features,
            model_version=model_version,
            status=self.status,
            reasons=[c.as_dict() for c in self.checks],
            close_price=self.close,
            atr=self.atr,
            expires_at=expires if self.status == PENDING else None,
            **self.proposal,
        )


def latest_closed_open_time(now: datetime, publish_delay_seconds: int) -> datetime:
    """Return the open time of the newest 15-minute candle that is closed and published at `now`."""
    return floor_to(now - timedelta(seconds=publish_delay_seconds), 15) - STEP


def missing_candles(db, exchange, symbol: str, latest_open: datetime) -> list[Candle]:
    """Fetch only the closed 15-minute candles the cache lacks (by GMO trading day); never the
    forming one."""
    stored = load_candles(db, symbol, "15m", limit=1)
    start = (
        stored[-1].open_time + STEP
        if stored
        else latest_open - timedelta(days=HISTORY_DAYS_WHEN_EMPTY)
    )
    day, last_day, fresh = trading_day(start), trading_day(latest_open), []
    while start <= latest_open and day <= last_day:
        fresh += [
            c
            for c in exchange.klines(symbol, "15m", kline_date("15min", day))
            if start <= c.open_time <= latest_open
        ]
        day += timedelta(days=1)
    return fresh


def feature_window(
    db, symbol: str, latest_open: datetime, bars: int
) -> tuple[list[Candle], str | None]:
    """Return the last `bars` candles up to `latest_open` and a data problem (missing or gapped), if
    any."""
    candles = load_candles(db, symbol, "15m", until=latest_open + STEP, limit=bars)
    return candles, window_problem([c.open_time for c in candles], latest_open, bars)


def window_problem(times: list[datetime], latest_open: datetime, bars: int) -> str | None:
    """Return why the newest `bars` stored candles (opening at `times`) cannot be scored."""
    if not times or times[-1] != latest_open:
        have = f"newest stored is {times[-1]:%Y-%m-%d %H:%M} UTC" if times else "no candles stored"
        return f"candle {latest_open:%Y-%m-%d %H:%M} UTC is not available ({have})"
    if len(times) < bars:
        return f"only {len(times)} of {bars} candles needed for features"
    gaps = find_gaps(times, "15m")
    if gaps:
        missing = sum(g.missing for g in gaps)
        return (
            f"{missing} candle(s) missing in the feature window (first after "
            f"{gaps[0].last_present:%Y-%m-%d %H:%M} UTC); not scoring on gapped data"
        )
    return None


def unscored(symbol: str, latest_open: datetime, candles: list[Candle]) -> Scored:
    """Return a symbol's verdict before scoring: its close and last two candles, when present."""
    last = candles[-1] if candles and candles[-1].open_time == latest_open else None
    previous = candles[-2] if last and len(candles) > 1 else None
    return Scored(symbol, latest_open, last.close if last else None, previous, last)


def with_score(scored: Scored, latest, prediction, explain: Callable[[], list]) -> Scored:
    """Attach the features, both probabilities, the ATR and how to explain the score to a
    verdict."""
    scored.prediction = prediction
    scored.features = {"values": latest.as_dict(), "volume_ratio": latest.volume_ratio}
    scored.explain = explain
    scored.atr = Decimal(str(latest.atr))
    return scored


def explain_verdict(scored: Scored) -> None:
    """Store the features that moved the score most (largest first) in a verdict that was not
    LOGGED.

    A row below the operating point is recorded with its features and reasons but not explained:
    nobody reads why a score that fired nothing was what it was, and explaining costs more than
    scoring (LightGBM's per-feature contributions of 300 trees, about three quarters of a backtest's
    model time).
    """
    if scored.explain is None or scored.status == LOGGED:
        return
    scored.features["top"] = [
        {"feature": t.feature, "value": t.value, "contribution": t.contribution}
        for t in scored.explain()
    ]


def score_symbol(
    symbol: str,
    candles: list[Candle],
    data_problem: str | None,
    model,
    latest_open: datetime,
    timings: dict[str, float],
) -> Scored:
    """Compute features and both calibrated probabilities for the last candle of a clean window."""
    from signaldesk.features import FeatureError, candles_to_frame, latest_features

    scored = unscored(symbol, latest_open, candles)
    if data_problem:
        scored.checks = [Check("data", False, data_problem)]
        return scored
    started = time.perf_counter()
    try:
        latest = latest_features(candles_to_frame(candles))
    except FeatureError as exc:
        scored.checks = [Check("data", False, str(exc))]
        return scored
    timings["features"] = timings.get("features", 0.0) + time.perf_counter() - started
    started = time.perf_counter()
    prediction = model.predict(latest.values)
    timings["inference"] = timings.get("inference", 0.0) + time.perf_counter() - started
    return with_score(scored, latest, prediction, explainer(model, latest.values, prediction))


def explainer(model, values, prediction) -> Callable[[], list]:
    """Return a call that gives the model's top 3 contributions to one row's score, in its
    direction."""
    return lambda: model.top_contributions(values, 3, prediction.direction)


def score_windows(db, symbols, model, latest_open: datetime, timings: dict) -> list[Scored]:
    """Score every symbol on its last `LIVE_FETCH_BARS` stored candles (the live cycle's way)."""
    from signaldesk.features import LIVE_FETCH_BARS

    return [
        score_symbol(
            symbol,
            *feature_window(db, symbol, latest_open, LIVE_FETCH_BARS),
            model,
            latest_open,
            timings,
        )
        for symbol in symbols
    ]


def candidate_of(symbol: str, p) -> Candidate:
    """The rules' view of one prediction."""
    return Candidate(
        symbol,
        p.direction,
        p.confidence,
        p.confidence_rank,
        p.prob_long,
        p.prob_short,
        getattr(p, "cutoff", None),
        getattr(p, "measured_edge", None),
    )


def judge(scored: Scored, market: Market, settings) -> None:
    """Apply every rule to a scored symbol and, when it passes, attach the proposed trade."""
    if scored.prediction is None:
        scored.status = FILTERED
        return
    p = scored.prediction
    candidate = candidate_of(scored.symbol, p)
    book = market.books.get(scored.symbol)
    side = "long" if p.direction == "LONG" else "short"
    spike = market.spikes.get((scored.symbol, side))
    context = Context(
        spread_bps=book.spread_bps if book else None,
        volume_ratio=scored.features["volume_ratio"],
        news_event=market.news_event,
        spike_side=side if spike else None,
        spike_detail=spike or "",
        halted=market.halted,
        halt_reason=market.halt_reason,
        trades_today=market.trades_today,
        loss_limit_breaches=market.loss_limit_breaches,
        held=market.held.get(scored.symbol),
        paused=market.paused,
        liquidation_blind=market.liquidation_blind,
        news_warning=market.news_warning,
        news_blocks=market.news_blocks,
    )
    scored.checks = evaluate(candidate, context, settings)
    scored.status = status_of(scored.checks)
    if scored.status == PENDING:
        propose_trade(scored, market, settings)
    explain_verdict(scored)


def propose_trade(scored: Scored, market: Market, settings) -> None:
    """Attach entry, stop, take-profits, size and JPY at risk; a size refusal filters the signal
    instead."""
    from signaldesk.execution.plan import entry_side, passive_price
    from signaldesk.sizing import size_for_risk, trade_levels

    book, rules = market.books[scored.symbol], market.rules[scored.symbol]
    assert scored.prediction is not None, "judge proposes only for a scored prediction"
    direction = scored.prediction.direction
    # what execution will post, on the tick grid
    entry = passive_price(entry_side(direction), book, rules.tick_size)
    if entry is None or scored.atr is None:
        refusal = f"no {scored.symbol} price or ATR to plan the trade from"
    else:
        try:
            levels = trade_levels(direction, entry, scored.atr, rules.tick_size, settings.risk)
            sizing = size_for_risk(market.equity_jpy, levels, rules, settings.risk, market.room_jpy)
            refusal = sizing.refusal
        except ValueError as exc:
            refusal = str(exc)
    if refusal:
        scored.checks.append(Check("size", False, refusal))
        scored.status = FILTERED
        return
    scored.proposal = {
        "entry_price": levels.entry,
        "stop_loss": levels.stop_loss,
        "take_profit_1": levels.take_profit_1,
        "take_profit_2": levels.take_profit_2,
        "size": sizing.size,
        "risk_jpy": sizing.risk_jpy,
    }


def write_scores(db, scored: list[Scored], model_version: str, settings, now: datetime) -> int:
    """Write one row per symbol and candle in one transaction; an existing row is left unchanged.
    Return rows new."""
    expires = now + timedelta(minutes=settings.strategy.approval_window_minutes)
    return signals.insert_all(db, [s.to_signal(model_version, now, expires) for s in scored])


@dataclass(frozen=True)
class CycleResult:
    """What one cycle did: the candle, verdicts per symbol, rows written, alerts raised and time per
    stage."""

    candle_time: datetime
    statuses: dict[str, str]
    written: int
    fetched: int
    alerts: list
    timings: dict[str, float]


def gather_market(
    db, exchange, settings, symbols, now: datetime, calendar, timings: dict, replay: bool = False
) -> Market:
    """Read order books, symbol rules, news, liquidation spikes and the risk state for this cycle;
    say where the desk is blind (no liquidation feed, no news calendar) so the rules fail closed."""
    from signaldesk.liquidations import recent_spike
    from signaldesk.risk import loss_limit_breaches, risk_snapshot, room_jpy

    started = time.perf_counter()
    books = order_books(exchange, symbols)
    rules = exchange.symbol_rules()
    snapshot = risk_snapshot(db, exchange, settings, now)
    timings["fetch"] = timings.get("fetch", 0.0) + time.perf_counter() - started
    spikes = {}
    for symbol in symbols:
        for side in ("long", "short"):
            spike = recent_spike(
                db, symbol, now, settings.strategy.liquidation_window_minutes, side
            )
            if spike:
                spikes[(symbol, side)] = describe_spike(spike)
    return Market(
        books,
        rules,
        news_blackout(calendar, now, settings),
        spikes,
        snapshot.halted,
        snapshot.halt_reason,
        snapshot.trades_today,
        tuple(loss_limit_breaches(snapshot)),
        snapshot.equity_jpy,
        risk=snapshot,
        held=held_symbols(snapshot, settings.risk, symbols),
        liquidation_blind=None if replay else liquidation_blindness(db, settings, now),
        room_jpy=room_jpy(snapshot, settings.risk),
        **moment_rules(snapshot, settings, calendar, now),
    )


def moment_rules(snapshot, settings, calendar, now: datetime) -> dict:
    """Return the Market fields that change with the clock alone while the desk is idle: the end of
    a loss-streak pause and the news calendar running out (the replay's quiet steps recompute
    them)."""
    from signaldesk.risk import pause_refusals

    warning = news_calendar_problem(settings, calendar, now)
    return dict(
        paused=next(iter(pause_refusals(snapshot, now)), None),
        news_warning=warning,
        news_blocks=bool(warning) and news_filters(settings),
    )


def held_symbols(snapshot, risk, symbols) -> dict[str, str]:
    """Return, per symbol that already has its allowed open trades, the reason a new signal is
    filtered."""
    from signaldesk.risk import symbol_refusals

    return {s: r[0] for s in symbols if (r := symbol_refusals(snapshot, s, risk))}


def liquidation_blindness(db, settings, now: datetime) -> str | None:
    """Return why the liquidation feed cannot vouch for the rule's window (listener never ran,
    silent, or a recorded gap in the window), or None when it can or the feed is not required."""
    from signaldesk.clock import JST
    from signaldesk.liquidations import gaps_between
    from signaldesk.state import last_beat

    if not settings.strategy.liquidation_feed_required:
        return None
    start = now - timedelta(minutes=settings.strategy.liquidation_window_minutes)
    beat = last_beat(db, "listener")
    if beat is None:
        return "liquidation feed unavailable: the listener has never run"
    gaps = gaps_between(db, start, now)
    if now - beat > LISTENER_SILENCE:
        since = min([beat, *(g.started_at for g in gaps)])
        return f"liquidation feed unavailable since {since.astimezone(JST):%H:%M} JST"
    if gaps:
        return f"liquidation feed unavailable since {gaps[0].started_at.astimezone(JST):%H:%M} JST"
    return None


def news_calendar_problem(settings, calendar, now: datetime) -> str | None:
    """Return why the news calendar cannot vouch for this moment (missing, or nothing listed
    ahead)."""
    from signaldesk.news import future_events

    path = settings.strategy.news_calendar
    if not path.is_file():
        return f"no news calendar at {path}: the blackout cannot be checked"
    if not future_events(calendar, now):
        return f"the news calendar {path.name} lists no event after now (expired)"
    return None


def news_filters(settings) -> bool:
    """Return True when a missing or expired calendar filters signals (`[strategy]
    news_calendar_required`)."""
    required = settings.strategy.news_calendar_required
    return required == "always" or (required == "live" and settings.mode == "live")


def order_books(exchange, symbols) -> dict[str, OrderBook]:
    """Read the order book of every symbol."""
    return {symbol: exchange.order_book(symbol) for symbol in symbols}


def news_blackout(calendar, now: datetime, settings) -> str | None:
    """Return the listed event whose blackout covers `now`, as a verdict reason, or None."""
    from signaldesk.news import blackout_event

    event = blackout_event(calendar, now, settings.strategy.news_blackout_minutes)
    return f"{event.title} at {event.at:%Y-%m-%d %H:%M} UTC" if event else None


def describe_spike(spike) -> str:
    """Return a liquidation spike as a verdict reason a trader understands."""
    ratio = f", {spike.ratio:.1f}x baseline" if spike.ratio else ""
    return (
        f"{spike.side}s liquidated: {spike.count} liquidations, {spike.notional_usd:,.0f} USD in the minute "
        f"{spike.minute:%H:%M} UTC (baseline {spike.baseline_usd:,.0f} USD{ratio})"
    )


def run_cycle(
    db, exchange, model, settings, now: datetime, calendar, *, fetch: bool = True, scores=None
) -> CycleResult:
    """Score the newest closed candle of every symbol and record one verdict per symbol.

    Steps:
    1. Work out the newest candle GMO has closed and published (`latest_closed_open_time`); the
       still-forming candle is never used.
    2. Read everything from the exchange first: the candles the database lacks, then the market
       (`gather_market`: order books, the risk snapshot, halted flag, loss limits, liquidation
       spikes, news). A refused or malformed answer raises here, before anything was written.
    3. In one write transaction: the equity snapshot, the new candles, the scores (features over a
       bounded window and one model call per symbol, or the backtest's precomputed `scores`, whose
       `scored(symbol, latest_open, model)` returns what `score_symbol` would), every rule's verdict
       (`judge`), and the rows (`write_scores`). A crash or error inside leaves no partial cycle.
    4. Verdicts are idempotent: every verdict, LOGGED included, is a `signals` row unique per symbol
       and candle, so a second run for the same candle adds no verdict and announces nothing twice.
    5. Return what happened, with price-move alerts for the caller to deliver after the commit.
    """
    timings: dict[str, float] = {}
    symbols = settings.strategy.symbols
    latest_open = latest_closed_open_time(now, settings.strategy.candle_publish_delay_seconds)
    started = time.perf_counter()
    fresh = {
        symbol: missing_candles(db, exchange, symbol, latest_open) if fetch else []
        for symbol in symbols
    }
    timings["fetch"] = time.perf_counter() - started
    market = gather_market(
        db, exchange, settings, symbols, now, calendar, timings, replay=not fetch
    )
    with writing(db):
        record_snapshot(db, settings.mode, market.risk)
        fetched = sum(
            save_candles(db, s, "15m", rows, "gmo:klines", now) for s, rows in fresh.items() if rows
        )
        scored = (
            score_windows(db, symbols, model, latest_open, timings)
            if scores is None
            else [scores.scored(symbol, latest_open, model) for symbol in symbols]
        )
        for s in scored:
            judge(s, market, settings)
        started = time.perf_counter()
        written = write_scores(db, scored, model.version, settings, now)
        timings["writes"] = time.perf_counter() - started
    alerts = price_alerts(scored, settings)
    return CycleResult(
        latest_open, {s.symbol: s.status for s in scored}, written, fetched, alerts, timings
    )


def price_alerts(scored: list[Scored], settings) -> list:
    """Return warnings for symbols whose last candle moved more than the configured fraction."""
    from signaldesk.health import price_move_alert

    alerts = []
    for s in scored:
        if s.last is not None:
            alert = price_move_alert(
                s.symbol, s.previous, s.last, settings.health.price_move_warning
            )
            if alert:
                alerts.append(alert)
    return alerts
