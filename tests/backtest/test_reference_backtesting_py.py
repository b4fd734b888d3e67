"""Reference check: on real candles, our replay of a fixed rule trades like backtesting.py running
the same rule.

Our side is the backtest engine itself, on the fast path a user's backtest runs
(signaldesk.backtest.fast.run_fast with the run.py helpers; its scores computed once by
BatchScores): the cycle scores every candle with the fixed rule (tests/backtest/reference_rule.py),
the policy approves every signal, the execution code posts and manages the orders on the paper
exchange fed by the candles. The reference is backtesting.py 0.6.6 running `MirrorStrategy`: the
same rule on the same features, with the desk's order rules rebuilt from backtesting.py's own orders
(limit, stop, contingent SL/TP, market close at the bar's close).

Simplifications, each because backtesting.py cannot express the desk's rule, and each the same on
both sides:
- one symbol, BTC_JPY, on the bundled Binance BTCUSDT 15m candles (prices in USDT stand in for JPY,
  as in every backtest of the bundled data), starting cash = paper equity 1,000,000;
- fees: BTC_JPY's default paper fees are maker 0 / taker 0 (commission 0, the main window); a
  second, shorter window runs both sides at a flat 0.05 % on every fill. backtesting.py charges one
  commission function of (size, price) for every fill and cannot tell a maker fill from a taker
  fill, so spot BTC's maker -0.01 % / taker 0.05 % cannot be mirrored (and spot cannot go short);
- a 0.1 bps spread instead of the 4.3 bps replay default: backtesting.py closes at market at the
  candle close and has no bid/ask for closing orders; with half the spread below one tick (1 JPY),
  our market exits at the bid/ask and its exits at the close differ by less than one tick. Entry and
  take-profit limits still sit at the bid/ask rounded to the tick, exactly as the desk posts them;
- one take-profit closing everything (take_profit_1_fraction = 1): a partial limit exit of one of
  several overlapping trades has no expression in backtesting.py (contingent orders close a whole
  trade; with hedging a separate sell opens a short), so there is no second take-profit and no
  break-even stage;
- rules that never act in this window are switched off instead of mirrored: the volume ratio (min
  0), the news blackout (no calendar), the trades-per-day limit (50, the most allowed) and the
  day/week/month loss limits (1 = 100 % of equity); so are two that would act and have their own
  tests: one open trade per symbol (10 here, so signals may overlap as in backtesting.py's hedging
  mode) and the pause after consecutive losses (0 = off); the position limit across all trades does
  act and is mirrored;
- the rule trades only candles opening before 16:00 UTC, so no position is held at 06:00 JST (21:00
  UTC) when the leverage fee is charged: backtesting.py has no financing cost (the test checks our
  leverage fees are 0);
- not a simplification but a choice: risk_per_trade 0.04 % instead of 2 %, so that both sizing
  limits bind in the window (see reference_settings).

Tolerances, from the only two ways the two sides may legitimately differ:
- the same trades: same count, entry bar, direction, size, exit bar and exit reason, and the same
  unfilled entries, exactly (a different size or bar is a different decision, never rounding);
- prices less than one tick (1 JPY) apart: a market exit is at the bid/ask (ours) vs the close
  (backtesting.py), half the spread apart (<= 0.55 JPY at these prices); a limit fills LIMIT_NUDGE
  (0.001 JPY) apart; a stop fills at the same price. A whole tick apart is another price level (e.g.
  a stop rounded the other way) and fails;
- P/L per trade within its size x one tick (0.3-0.9 JPY; only one leg can be up to half a spread
  off, the other 0.001 JPY); the total P/L and the final equity within the sum of those, about 20
  JPY or 0.45 % of the window's total P/L (the equity check also catches cash moved outside the
  trades, e.g. a leverage fee or a stray fill).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from signaldesk.backtest.engine import STEP, ApprovalPolicy, PolicyDesk, step_times
from signaldesk.backtest.fast import run_fast
from signaldesk.backtest.result import TradeRecord
from signaldesk.backtest.run import WARMUP, csv_candles, leverage_fees, scratch_db, trade_records
from signaldesk.backtest.scores import BatchScores
from signaldesk.candles import save_candles
from signaldesk.exchange.feed import CandleFeed
from signaldesk.exchange.paper import PaperExchange
from signaldesk.exchange.paperfills import DEFAULT_RULES
from signaldesk.features import FEATURE_NAMES
from signaldesk.news import read_calendar
from signaldesk.settings import Settings
from tests.backtest.reference_rule import (
    LONG,
    SHORT,
    MirrorPlan,
    ReferenceRuleModel,
    ReferenceRun,
    ReferenceTrade,
    reference_settings,
    run_reference,
)

DATA = Path(__file__).resolve().parents[2] / "data"
SYMBOL = "BTC_JPY"
SINCE, UNTIL = (
    datetime(2025, 6, 9, tzinfo=UTC),
    datetime(2025, 6, 18, tzinfo=UTC),
)  # 27 trades, every exit kind
FEE_SINCE, FEE_UNTIL = (
    datetime(2025, 5, 28, 12, tzinfo=UTC),
    datetime(2025, 5, 30, 12, tzinfo=UTC),
)  # 11 + 1 unfilled
FLAT_FEE = Decimal("0.0005")  # maker = taker = 0.05 %: GMO's spot taker fee, charged on every fill
SPREAD_BPS = Decimal("0.1")
TICK = DEFAULT_RULES[SYMBOL].tick_size
HISTORY_START = datetime(
    2025, 4, 1, tzinfo=UTC
)  # the mirror's features see every bundled candle before a bar


@dataclasses.dataclass
class DeskRun:
    """Our side of the check: trade records, leverage fees paid and the equity after the last
    step."""

    trades: list[TradeRecord]
    leverage_fees: Decimal
    equity_final: Decimal


@dataclasses.dataclass(frozen=True)
class Pair:
    """One trade of ours and its backtesting.py twin (None where one side has no such trade)."""

    ours: TradeRecord | None
    ref: ReferenceTrade | None

    @property
    def allowance(self) -> Decimal:
        """Return the P/L tolerance of this trade: its size x one tick."""
        return (self.ours.filled_size if self.ours else self.ref.size) * TICK


def settings_for(tmp: Path, fee: Decimal = Decimal(0)):
    """Return the simplified settings and the paper symbol rules (BTC_JPY with maker = taker =
    `fee`)."""
    rules = {
        **DEFAULT_RULES,
        SYMBOL: dataclasses.replace(DEFAULT_RULES[SYMBOL], maker_fee=fee, taker_fee=fee),
    }
    base = dataclasses.replace(Settings(), db_path=tmp / "unused.sqlite3", log_dir=tmp / "log")
    return reference_settings(base, tmp / "no-news-calendar.csv"), rules


def run_desk(out_dir: Path, settings, rules, since: datetime, until: datetime) -> DeskRun:
    """Replay [since, until) through the fast path with the fixed rule, as run_backtest does (its
    model injected)."""
    candles, _ = csv_candles(DATA, SYMBOL, since - WARMUP, until)
    db, _ = scratch_db(out_dir)
    try:
        save_candles(db, SYMBOL, "15m", candles, "bundled csv")
        feed = CandleFeed({SYMBOL: candles}, spread_bps=SPREAD_BPS)
        exchange = PaperExchange(db, feed, starting_jpy=settings.risk.paper_equity_jpy, rules=rules)
        desk = PolicyDesk(db, exchange, settings, ApprovalPolicy())
        model = ReferenceRuleModel()
        steps = run_fast(
            db,
            exchange,
            feed,
            lambda _moment: model,
            settings,
            read_calendar(settings.strategy.news_calendar),
            desk,
            step_times(since, until),
            scores=BatchScores({SYMBOL: candles}),
        )
        return DeskRun(trade_records(db), leverage_fees(db), steps.equity[-1][1])
    finally:
        db.close()


def run_mirror(
    settings, rules, since: datetime, until: datetime, commission: float | None = None
) -> ReferenceRun:
    """Run backtesting.py over the same candles (plus earlier history for its features) and
    settings."""
    candles, _ = csv_candles(DATA, SYMBOL, HISTORY_START, until)
    plan = MirrorPlan(
        since, SPREAD_BPS, settings.risk, rules[SYMBOL], settings.risk.paper_equity_jpy
    )
    with warnings.catch_warnings():  # trades still open at the end are counted and compared instead
        warnings.filterwarnings("ignore", message="Some trades remain open")
        warnings.filterwarnings(
            "ignore", message="DatetimeIndex.dayofweek"
        )  # inside backtesting.py's stats
        return run_reference(
            candles, plan, float(rules[SYMBOL].maker_fee) if commission is None else commission
        )


def pair_trades(ours: Sequence[TradeRecord], ref: Sequence[ReferenceTrade]) -> list[Pair]:
    """Pair closed trades by entry bar and direction, in entry order; unmatched trades pair with
    None."""
    mine = {(t.entry_time, t.direction): t for t in ours if t.status == "closed"}
    theirs = {(t.entry_time, t.direction): t for t in ref}
    return [Pair(mine.get(key), theirs.get(key)) for key in sorted(mine.keys() | theirs.keys())]


def trade_problems(pair: Pair) -> list[str]:
    """Return how one pair breaks the tolerances (empty when it agrees)."""
    o, r = pair.ours, pair.ref
    if o is None or r is None:
        side = "backtesting.py" if o is None else "our engine"
        t = o or r
        return [f"{t.entry_time:%m-%d %H:%M} {t.direction}: only {side} has this trade"]
    checks = [
        ("size", o.filled_size, r.size, o.filled_size == r.size),
        ("exit time", o.exit_time, r.exit_time, o.exit_time == r.exit_time),
        ("exit reason", o.exit_reason, r.exit_reason, o.exit_reason == r.exit_reason),
        ("entry price", o.entry_price, r.entry_price, abs(o.entry_price - r.entry_price) < TICK),
        ("exit price", o.exit_price, r.exit_price, abs(o.exit_price - r.exit_price) < TICK),
        ("P/L", o.pnl_jpy, r.pnl_jpy, abs(o.pnl_jpy - r.pnl_jpy) <= pair.allowance),
    ]
    return [
        f"{o.entry_time:%m-%d %H:%M} {o.direction}: {name} differs: ours {mine}, backtesting.py {theirs}"
        for name, mine, theirs, ok in checks
        if not ok
    ]


def comparison_problems(desk: DeskRun, ref: ReferenceRun) -> list[str]:
    """Return every disagreement between the two runs beyond the stated tolerances."""
    pairs = pair_trades(desk.trades, ref.trades)
    problems = [p for pair in pairs for p in trade_problems(pair)]
    allowance = sum((pair.allowance for pair in pairs), Decimal(0))
    ours_total = sum((t.pnl_jpy for t in desk.trades if t.status == "closed"), Decimal(0))
    ref_total = sum((t.pnl_jpy for t in ref.trades), Decimal(0))
    if abs(ours_total - ref_total) > allowance:
        problems.append(
            f"total P/L {ours_total:.2f} vs {ref_total:.2f} JPY, allowed +-{allowance:.2f}"
        )
    if abs(desk.equity_final - ref.equity_final) > allowance:
        problems.append(f"final equity {desk.equity_final:.2f} vs {ref.equity_final:.2f} JPY")
    if missed_entries(desk) != ref_missed_entries(ref):
        problems.append(
            f"unfilled entries differ: {missed_entries(desk)} vs {ref_missed_entries(ref)}"
        )
    if sum(t.status == "open" for t in desk.trades) != ref.still_open:
        problems.append("a different number of trades is still open at the end")
    return problems


def missed_entries(desk: DeskRun) -> list[datetime]:
    """Return the signal candles (open time) whose entry never filled, ours."""
    return sorted(t.signal_time - STEP for t in desk.trades if t.status == "cancelled")


def ref_missed_entries(ref: ReferenceRun) -> list[datetime]:
    """Return the signal candles (open time) whose entry never filled, backtesting.py's."""
    return sorted(
        tag.to_pydatetime() for tag, s in ref.signals.items() if s.exit_reason == "entry not filled"
    )


def comparison_table(desk: DeskRun, ref: ReferenceRun) -> str:
    """Return both trade lists side by side with the differences, for the log."""
    lines = [
        f"{'entry (UTC)':<11} {'dir':<5} {'size':>5} {'bt.py':>5} {'entry ours':>11} {'entry bt.py':>11} "
        f"{'exit (UTC)':<11} {'exit ours':>11} {'exit bt.py':>11} {'reason':<9} {'P/L ours':>8} "
        f"{'P/L bt.py':>9} {'diff':>5}"
    ]
    show = lambda v, places: "-" if v is None else f"{v:.{places}f}"  # noqa: E731
    for pair in pair_trades(desk.trades, ref.trades):
        o, r = pair.ours, pair.ref
        t = o or r
        lines.append(
            f"{t.entry_time:%m-%d %H:%M} {t.direction:<5} {show(o and o.filled_size, 3):>5} "
            f"{show(r and r.size, 3):>5} {show(o and o.entry_price, 3):>11} {show(r and r.entry_price, 3):>11} "
            f"{t.exit_time:%m-%d %H:%M} {show(o and o.exit_price, 3):>11} {show(r and r.exit_price, 3):>11} "
            f"{t.exit_reason:<9} {show(o and o.pnl_jpy, 2):>8} {show(r and r.pnl_jpy, 2):>9} "
            f"{show(o and r and o.pnl_jpy - r.pnl_jpy, 2):>5}"
        )
    ours_total = sum((t.pnl_jpy for t in desk.trades if t.status == "closed"), Decimal(0))
    ref_total = sum((t.pnl_jpy for t in ref.trades), Decimal(0))
    lines.append(
        f"total P/L ours {ours_total:,.2f} JPY, backtesting.py {ref_total:,.2f} JPY; final equity ours "
        f"{desk.equity_final:,.2f}, backtesting.py {ref.equity_final:,.2f}; unfilled entries "
        f"{len(missed_entries(desk))} / {len(ref_missed_entries(ref))}; leverage fees {desk.leverage_fees}"
    )
    return "\n".join(lines)


@pytest.fixture(scope="module")
def zero_fee(tmp_path_factory) -> tuple[DeskRun, ReferenceRun, tuple]:
    """Run both sides over the main window with the default BTC_JPY fees (maker 0, taker 0)."""
    tmp = tmp_path_factory.mktemp("reference")
    settings, rules = settings_for(tmp)
    return (
        run_desk(tmp, settings, rules, SINCE, UNTIL),
        run_mirror(settings, rules, SINCE, UNTIL),
        (settings, rules),
    )


def test_trades_and_pl_agree_with_backtesting_py(zero_fee):
    desk, ref, _ = zero_fee
    print(
        f"\nreference check {SINCE:%Y-%m-%d} .. {UNTIL:%Y-%m-%d}, fees 0 / 0\n"
        + comparison_table(desk, ref)
    )
    assert desk.leverage_fees == 0, (
        "a position was held across 06:00 JST; the rule's session window is broken"
    )
    assert len([t for t in desk.trades if t.status == "closed"]) >= 20, "too few trades to compare"
    problems = comparison_problems(desk, ref)
    assert not problems, "\n".join(problems)


def test_every_exit_kind_and_both_directions_are_compared(zero_fee):
    desk, ref, _ = zero_fee
    closed = [t for t in desk.trades if t.status == "closed"]
    assert {t.exit_reason for t in closed} == {"tp1", "stop_loss", "time_stop"}
    assert {t.direction for t in closed} == {LONG, SHORT}
    assert any(s.exit_reason == "stop_loss_at_step" for s in ref.signals.values()), (
        "no trade closed at market because a step's price was already through its stop"
    )


def test_the_comparison_fails_when_backtesting_py_uses_a_wider_stop(zero_fee):
    desk, _, (settings, rules) = zero_fee
    wider = dataclasses.replace(
        settings, risk=dataclasses.replace(settings.risk, stop_atr_multiple=Decimal("2.5"))
    )
    problems = comparison_problems(desk, run_mirror(wider, rules, SINCE, UNTIL))
    assert any("exit price differs" in p for p in problems)


def test_the_comparison_fails_when_only_backtesting_py_charges_a_fee(zero_fee):
    desk, _, (settings, rules) = zero_fee
    problems = comparison_problems(
        desk, run_mirror(settings, rules, SINCE, UNTIL, commission=float(FLAT_FEE))
    )
    assert any("P/L differs" in p for p in problems)


def test_fees_agree_with_backtesting_py_at_a_flat_fee(tmp_path):
    settings, rules = settings_for(tmp_path, FLAT_FEE)
    desk = run_desk(tmp_path, settings, rules, FEE_SINCE, FEE_UNTIL)
    ref = run_mirror(settings, rules, FEE_SINCE, FEE_UNTIL)
    print(
        f"\nreference check {FEE_SINCE:%Y-%m-%d %H:%M} .. {FEE_UNTIL:%Y-%m-%d %H:%M}, fees {FLAT_FEE} / "
        f"{FLAT_FEE}\n" + comparison_table(desk, ref)
    )
    assert sum((t.fees_jpy for t in desk.trades), Decimal(0)) > 0
    assert missed_entries(desk), "no unfilled entry in the fee window to compare"
    problems = comparison_problems(desk, ref)
    assert not problems, "\n".join(problems)


def test_the_rule_model_signals_only_inside_the_session():
    # Synthetic feature rows: zeros except the three features the rule reads.
    model = ReferenceRuleModel()
    values = lambda **f: [f.get(name, 0.0) for name in FEATURE_NAMES]  # noqa: E731
    oversold = model.predict(values(rsi_14=0.2, bb_percent_b=-0.1, hour_utc=10 / 24))
    late = model.predict(values(rsi_14=0.2, bb_percent_b=-0.1, hour_utc=16 / 24))
    overbought = model.predict(values(rsi_14=0.8, bb_percent_b=1.2, hour_utc=0.0))
    assert (oversold.direction, oversold.confidence, oversold.confidence_rank) == (LONG, 0.9, 1.0)
    assert (overbought.direction, overbought.prob_short) == (SHORT, 0.9)
    assert late.confidence == 0.5
