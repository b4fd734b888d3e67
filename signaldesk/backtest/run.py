"""A backtest end to end: candles into a scratch database, models (fixed or walk-forward), the
replay, the records."""

from __future__ import annotations

import dataclasses
import glob
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from signaldesk import signals
from signaldesk.backtest.engine import (
    STEP,
    ApprovalPolicy,
    BacktestError,
    PolicyDesk,
    Progress,
    StepLog,
    run_steps,
    step_times,
)
from signaldesk.backtest.result import BacktestResult, SignalRecord, TradeRecord
from signaldesk.backtest.scores import BatchScores
from signaldesk.candles import Candle, load_candles, read_candle_csv, save_candles
from signaldesk.clock import from_db

if TYPE_CHECKING:
    from signaldesk.backtest.scores import BatchScores
    from signaldesk.model.inference import LoadedModel
    from signaldesk.settings import Settings
    from signaldesk.storage import Database

log = logging.getLogger("signaldesk.backtest")
WARMUP = timedelta(
    days=7
)  # > 500 bars of 15m candles (LIVE_FETCH_BARS) before the first scored candle
CSV_PATTERN = (
    "{coin}usdt_binance_15m*.csv.gz"  # the shared and bundled files: Binance USDT stand-ins for JPY
)


@dataclass(frozen=True)
class WalkForward:
    """Retrain every `retrain_days` on the `train_days` before (plus calibration), trade only the
    next block."""

    train_days: int = 365
    calibration_days: int = 61
    retrain_days: int = 30
    gap: timedelta = timedelta(days=1)


@dataclass(frozen=True)
class BacktestPlan:
    """Everything one backtest needs to know before it starts."""

    since: datetime
    until: datetime
    policy: ApprovalPolicy
    out_dir: Path
    spread_bps: Decimal
    candles_from: Path | None = None  # a folder of candle CSVs; None = the desk database
    walk_forward: WalkForward | None = None
    every_step: bool = False  # run every step whole (the fast path's reference; slow)


def coin_of(symbol: str) -> str:
    """Return the coin of a desk symbol (BTC_JPY -> btc)."""
    return symbol.split("_")[0].lower()


def csv_candles(
    folder: Path, symbol: str, since: datetime, until: datetime
) -> tuple[list[Candle], str]:
    """Read every 15m CSV of a symbol's coin in the folder, clipped to [since, until); return
    candles and source."""
    files = sorted(glob.glob(str(folder / CSV_PATTERN.format(coin=coin_of(symbol)))))
    if not files:
        raise BacktestError(
            f"--candles {folder}: no file matching {CSV_PATTERN.format(coin=coin_of(symbol))}"
        )
    rows: dict[datetime, Candle] = {}
    for name in files:
        rows.update({c.open_time: c for c in read_candle_csv(Path(name), since, until)})
    names = ", ".join(Path(f).name for f in files)
    source = f"binance:{coin_of(symbol).upper()}USDT 15m (stand-in for {symbol}), {names}"
    return [rows[t] for t in sorted(rows)], source


def db_candles(
    db_path: Path, symbol: str, since: datetime, until: datetime
) -> tuple[list[Candle], str]:
    """Read stored 15m candles of a symbol from the desk database (never written)."""
    from signaldesk.storage import open_db

    if not Path(db_path).is_file():
        raise BacktestError(
            f"no desk database at {db_path}: load candles with `signaldesk backfill`, or pass "
            f"--candles DIR (e.g. data/)"
        )
    db = open_db(db_path)
    try:
        return load_candles(db, symbol, "15m", since=since, until=until), f"desk database {db_path}"
    finally:
        db.close()


def gather_candles(
    plan: BacktestPlan, settings: Settings
) -> tuple[dict[str, list[Candle]], dict[str, str]]:
    """Return candles per symbol from warm-up (or the first training window) to the end, and their
    sources."""
    start = plan.since - WARMUP
    if plan.walk_forward:
        wf = plan.walk_forward
        start = min(
            start, plan.since - timedelta(days=wf.train_days + wf.calibration_days) - 2 * wf.gap
        )
    candles, sources = {}, {}
    for symbol in settings.strategy.symbols:
        rows, source = (
            csv_candles(plan.candles_from, symbol, start, plan.until)
            if plan.candles_from
            else db_candles(settings.db_path, symbol, start, plan.until)
        )
        check_coverage(symbol, rows, plan.since, plan.until)
        candles[symbol], sources[symbol] = rows, source
    return candles, sources


def check_coverage(symbol: str, rows: list[Candle], since: datetime, until: datetime) -> None:
    """Raise BacktestError unless the candles cover the warm-up and the whole period."""
    if (
        not rows
        or rows[0].open_time > since - timedelta(days=5)
        or rows[-1].open_time < until - STEP * 2
    ):
        have = (
            f"{rows[0].open_time:%Y-%m-%d} .. {rows[-1].open_time:%Y-%m-%d %H:%M}"
            if rows
            else "none"
        )
        raise BacktestError(
            f"{symbol}: candles must cover {since - WARMUP:%Y-%m-%d} (warm-up) .. {until:%Y-%m-%d}; "
            f"have {have}. Load them with `signaldesk backfill` or pass --candles DIR"
        )


def scratch_db(out_dir: Path):
    """Create a fresh, migrated database for the backtest's own signals, trades and paper account.

    Only this process uses it and a failed run starts over, so it keeps its rollback journal in
    memory and never waits for the disk (the desk's own database keeps WAL and its sync points).
    """
    from signaldesk.storage import apply_migrations, open_db

    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "backtest.sqlite3"
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    db = open_db(path)
    db.execute("PRAGMA journal_mode = MEMORY")
    db.execute("PRAGMA synchronous = OFF")
    apply_migrations(db)
    return db, path


def fixed_models(
    settings: Settings, plan: BacktestPlan
) -> tuple[Callable[[datetime], LoadedModel], dict]:
    """Return the configured model for every step and what to say about it (overlap with its
    training data)."""
    import pandas as pd

    from signaldesk.model.inference import load_model
    from signaldesk.model.pipeline import training_overlap

    model = load_model(settings.model_dir, plan.until, float("inf"))
    overlap = (
        training_overlap(model.metadata, pd.Timestamp(plan.since), pd.Timestamp(plan.until))
        if model.metadata.get("windows")
        else None
    )
    facts = {
        "model": model.version,
        "model_windows": model.metadata.get("windows"),
        "model_overlap": overlap,
    }
    return (lambda _moment: model), facts


def walk_forward_models(
    candles: dict[str, list[Candle]],
    plan: BacktestPlan,
    settings: Settings,
    say: Callable[[str], None],
) -> tuple[Callable[[datetime], LoadedModel], dict]:
    """Return a model per block: each trained only on candles that opened before its block
    starts."""
    wf = walk_forward_of(plan)
    blocks = block_starts(plan.since, plan.until, wf.retrain_days)
    cache: dict[datetime, LoadedModel] = {}
    trained: list[dict] = []

    def model_for(moment: datetime) -> LoadedModel:
        start = max(b for b in blocks if b <= moment)
        if start not in cache:
            cache.clear()  # one model in memory at a time
            cache[start], facts = train_block(candles, start, plan, settings)
            trained.append(facts)
            say(
                f"walk-forward: trained {facts['version']} on {facts['train']['start'][:10]} .. "
                f"{facts['calibration']['end'][:10]} in {facts['seconds']:.0f} s"
            )
        return cache[start]

    return model_for, {
        "model": "walk-forward",
        "walk_forward": dataclasses.asdict(wf) | {"gap": str(wf.gap)},
        "walk_forward_blocks": trained,
    }


def walk_forward_of(plan: BacktestPlan) -> WalkForward:
    """Return the plan's walk-forward schedule; raise BacktestError for a plan with a fixed
    model."""
    if plan.walk_forward is None:
        raise BacktestError(
            "this backtest plan uses a fixed model: it has no walk-forward schedule"
        )
    return plan.walk_forward


def block_starts(since: datetime, until: datetime, days: int) -> list[datetime]:
    """Return the start of every retraining block in [since, until)."""
    starts, moment = [], since
    while moment < until:
        starts.append(moment)
        moment += timedelta(days=days)
    return starts


def train_block(
    candles: dict[str, list[Candle]], start: datetime, plan: BacktestPlan, settings: Settings
) -> tuple:
    """Fit long/short models on candles opening before `start` (train, gap, calibration, gap);
    return model, facts."""
    import pandas as pd

    from signaldesk.features import candles_to_frame
    from signaldesk.labels import LabelSpec
    from signaldesk.model.training import Window, build_dataset, fit_pair, fold_for_test

    started = time.perf_counter()
    wf = walk_forward_of(plan)
    frames = {
        s: candles_to_frame([c for c in rows if c.open_time < start]) for s, rows in candles.items()
    }
    label = LabelSpec(settings.strategy.label_horizon_bars, settings.strategy.label_move)
    data = build_dataset(frames, label)
    first = (
        pd.Timestamp(start)
        - pd.Timedelta(days=wf.train_days + wf.calibration_days)
        - 2 * pd.Timedelta(wf.gap)
    )
    fold = fold_for_test(
        Window(pd.Timestamp(start), pd.Timestamp(start) + pd.Timedelta(days=wf.retrain_days)),
        max(first, data["open_time"].min()),
        pd.Timedelta(days=wf.calibration_days),
        pd.Timedelta(wf.gap),
        f"wf-{start:%Y%m%d}",
    )
    model = fit_pair(data, fold)
    if data["open_time"].max() >= pd.Timestamp(start):
        raise BacktestError(
            f"walk-forward block {start}: training data reaches into the block (look-ahead)"
        )
    facts = {"version": model.version, **fold.to_dict(), "seconds": time.perf_counter() - started}
    return model, facts


def strategy_with(settings: Settings, thresholds: tuple[float, float] | None):
    """Return settings whose thresholds are these absolute long/short ones (None: unchanged)."""
    if thresholds is None:
        return settings
    strategy = dataclasses.replace(
        settings.strategy,
        long_threshold=thresholds[0],
        short_threshold=thresholds[1],
        threshold_source="settings",  # given thresholds replace the model's operating point
    )
    return dataclasses.replace(settings, strategy=strategy)


def run_backtest(
    plan: BacktestPlan, settings: Settings, progress_stream=None, say: Callable[[str], None] = print
) -> BacktestResult:
    """Replay [since, until) through the desk's code on the paper exchange; return the records for
    the report."""

    timings = {}
    started = time.perf_counter()
    settings = dataclasses.replace(
        settings, mode="paper"
    )  # a backtest never reaches a real exchange
    candles, sources = gather_candles(plan, settings)
    replayed = {
        s: [c for c in rows if c.open_time >= plan.since - WARMUP] for s, rows in candles.items()
    }
    db, path = scratch_db(plan.out_dir)
    try:
        for symbol, rows in replayed.items():
            save_candles(db, symbol, "15m", rows, sources[symbol])
        timings["load"] = time.perf_counter() - started
        models, model_facts = (
            walk_forward_models(candles, plan, settings, say)
            if plan.walk_forward
            else fixed_models(settings, plan)
        )
        started = time.perf_counter()
        scores = BatchScores(replayed)
        timings["features"] = time.perf_counter() - started
        steps, resumes = replay(db, plan, settings, replayed, models, scores, progress_stream)
        meta = describe(plan, settings, sources, model_facts, steps, timings, resumes, path)
        return collect(db, plan, settings, candles, steps, meta)
    finally:
        db.close()


def replay(
    db: Database,
    plan: BacktestPlan,
    settings: Settings,
    candles,
    models,
    scores: BatchScores,
    progress_stream,
) -> tuple[StepLog, int]:
    """Run the replay on the paper exchange over the candles (the fast path, or every step whole);
    return its log and how many loss-limit halts the mornings lifted."""
    from signaldesk.backtest.fast import run_fast
    from signaldesk.exchange.factory import build_exchange
    from signaldesk.exchange.feed import CandleFeed
    from signaldesk.news import read_calendar

    feed = CandleFeed(candles, spread_bps=plan.spread_bps)
    exchange = build_exchange(settings, db, feed=feed)
    desk = PolicyDesk(db, exchange, settings, plan.policy)
    opens = step_times(plan.since, plan.until)
    calendar = read_calendar(settings.strategy.news_calendar)
    progress = Progress(len(opens), progress_stream)
    run = run_steps if plan.every_step else run_fast
    steps = run(
        db,
        exchange,
        feed,
        models,
        settings,
        calendar,
        desk,
        opens,
        progress=progress,
        scores=scores,
    )
    return steps, desk.resumes


def describe(
    plan: BacktestPlan,
    settings: Settings,
    sources,
    model_facts,
    steps: StepLog,
    timings,
    resumes,
    path,
) -> dict:
    """Return the facts of the run for summary.json and the report."""
    s, r = settings.strategy, settings.risk
    return {
        **model_facts,
        "policy": plan.policy.describe(),
        "approve_fraction": plan.policy.fraction,
        "seed": plan.policy.seed,
        "thresholds": {
            "long": s.long_threshold,
            "short": s.short_threshold,
            "top_fraction": s.top_fraction,
        },
        "risk": {
            "risk_per_trade": r.risk_per_trade,
            "stop_atr_multiple": r.stop_atr_multiple,
            "time_stop_hours": r.time_stop_hours,
            "max_trades_per_day": r.max_trades_per_day,
        },
        "spread_bps": str(plan.spread_bps),
        "data_source": sources,
        "cycles": len(steps.equity),
        "steps": dict(
            steps.kinds
        ),  # whole: every stage ran; managed: trade management + rows; quiet: rows
        "timings_seconds": {
            **{k: round(v, 2) for k, v in timings.items()},
            **{k: round(v, 2) for k, v in steps.seconds.items()},
        },
        "loss_limit_resumes": resumes,
        "database": str(path),
        "caveats": [
            "No liquidation history is replayed: the liquidation-spike rule never fires.",
            "Fills are judged on 15-minute candles: a limit fills only when a later candle trades through "
            "its price; when a candle touches both the stop and a take-profit, the paper exchange's rule "
            "decides (see signaldesk/exchange/paperfills.py).",
            f"The order book is the candle close +- {plan.spread_bps} bps / 2 (median bitFlyer spread).",
        ],
    }


def collect(
    db: Database, plan: BacktestPlan, settings: Settings, candles, steps: StepLog, meta: dict
) -> BacktestResult:
    """Read trades, signals and verdicts back from the scratch database into plain records."""
    prices = {
        s: [(c.open_time + STEP, c.close) for c in rows if plan.since <= c.open_time < plan.until]
        for s, rows in candles.items()
    }
    verdicts = signals.status_counts(db)
    missed = db.execute(
        "SELECT COUNT(*) FROM trades WHERE status = 'cancelled' AND CAST(filled_size AS REAL) = 0"
    ).fetchone()[0]
    expired = db.execute(
        "SELECT COUNT(*) FROM orders WHERE purpose = 'entry' AND cancel_type = 'EXPIRED_SOK'"
    ).fetchone()[0]
    meta = {**meta, "leverage_fees_jpy": str(leverage_fees(db))}
    return BacktestResult(
        plan.since,
        plan.until,
        tuple(settings.strategy.symbols),
        Decimal(str(settings.risk.paper_equity_jpy)),
        steps.equity,
        steps.exposure,
        prices,
        trade_records(db),
        signal_records(db),
        verdicts,
        missed,
        expired,
        meta,
    )


def leverage_fees(db: Database) -> Decimal:
    """Return the leverage fees the paper account paid (a positive number)."""
    rows = db.execute("SELECT amount FROM paper_ledger WHERE kind = 'leverage_fee'").fetchall()
    return -sum((Decimal(a) for (a,) in rows), Decimal(0))


def trade_records(db: Database) -> list[TradeRecord]:
    """Return every trade with its fees split into paid and received."""
    rows = db.execute(
        "SELECT t.id, t.signal_id, t.symbol, t.direction, t.status, t.size, t.filled_size, t.entry_time, "
        "t.entry_price, t.exit_time, t.exit_price, t.exit_reason, t.pnl_jpy, s.candle_time FROM trades t "
        "JOIN signals s ON s.id = t.signal_id ORDER BY t.id"
    ).fetchall()
    return [_trade_record(db, row) for row in rows]


def _trade_record(db: Database, row) -> TradeRecord:
    """Build one TradeRecord from a trades row and its fills."""
    fees = [
        Decimal(f)
        for (f,) in db.execute(
            "SELECT f.fee FROM fills f JOIN orders o ON o.id = f.order_id WHERE o.trade_id = ?",
            [row[0]],
        ).fetchall()
    ]
    paid = sum((f for f in fees if f > 0), Decimal(0))
    received = -sum((f for f in fees if f < 0), Decimal(0))
    dec = lambda v: Decimal(v) if v not in (None, "") else None  # noqa: E731
    when = lambda v: from_db(v) if v else None  # noqa: E731
    return TradeRecord(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        Decimal(row[5]),
        Decimal(row[6]),
        when(row[7]),
        dec(row[8]),
        when(row[9]),
        dec(row[10]),
        row[11],
        dec(row[12]),
        paid - received,
        paid,
        received,
        from_db(row[13]) + STEP,
    )


def signal_records(db: Database) -> list[SignalRecord]:
    """Return every scored candle that pointed somewhere, with its final verdict."""
    rows = signals.read_columns(
        db,
        ("candle_time", "symbol", "direction", "status", "close_price", "confidence"),
        "direction IS NOT NULL ORDER BY candle_time, symbol",
    )
    return [
        SignalRecord(from_db(t) + STEP, s, d, st, Decimal(p) if p else None, c)
        for t, s, d, st, p, c in rows
    ]
