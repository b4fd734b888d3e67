"""The cycle's signal rules, in order, as pure functions: every verdict is recorded with its
reasons."""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from signaldesk.signals import FILTERED, LOGGED, PENDING


class Check(NamedTuple):
    """One rule's verdict for one candidate: passed or not, and why, in words a person
    understands (a named tuple: fourteen are made per verdict, 70,080 verdicts a year)."""

    rule: str
    ok: bool
    detail: str

    def as_dict(self) -> dict:
        """Return the check as a JSON-ready dict."""
        return {"rule": self.rule, "ok": self.ok, "detail": self.detail}


class Candidate(NamedTuple):
    """What the model says about one symbol at one candle (a named tuple: one is made per verdict,
    70,080 a year)."""

    symbol: str
    direction: str
    confidence: float
    confidence_rank: float
    prob_long: float
    prob_short: float
    # The model's operating-point probability for `direction`, and whether its walk-forward edge
    # after costs is above zero with its interval (None: not known for this model).
    cutoff: float | None = None
    measured_edge: bool | None = None


class Context(NamedTuple):
    """What the rules need to know about the market and the desk at that moment (a named tuple, as
    `Candidate`)."""

    spread_bps: Decimal | None
    volume_ratio: float
    news_event: str | None
    spike_side: str | None  # the liquidated side matching the candidate direction, when it spiked
    spike_detail: str
    halted: bool
    halt_reason: str
    trades_today: int
    loss_limit_breaches: tuple[str, ...]
    data_problem: str | None = None
    held: str | None = None  # the symbol already has its allowed number of open trades
    paused: str | None = None  # new trades paused after consecutive losses
    liquidation_blind: str | None = None  # the liquidation feed cannot vouch for the rule's window
    news_warning: str | None = None  # the news calendar is missing or expired
    news_blocks: bool = False  # ... and that filters (live mode by default)


def fires(confidence, other, cutoff):
    """The one threshold rule: a side fires when its probability reaches the cutoff and beats the
    other.

    Works on floats (the live rule below) and on numpy arrays alike (`OperatingPoint.sides`, which
    training and evaluation use to count how often the model fires), so both count the same signals.
    """
    return (confidence >= cutoff) & (confidence > other)


def threshold_check(c: Candidate, strategy) -> Check:
    """The direction's probability meets its threshold and beats the other direction's.

    The threshold is the model's own operating point (strategy.threshold_source = "model", when the
    model has one) or the absolute strategy.long_threshold / short_threshold.
    """
    threshold = strategy.long_threshold if c.direction == "LONG" else strategy.short_threshold
    shown = f"{threshold:.2f} (strategy threshold"
    if strategy.threshold_source == "model" and c.cutoff is not None:
        threshold, shown = c.cutoff, f"{c.cutoff:.3f} (model operating point"
    other = c.prob_short if c.direction == "LONG" else c.prob_long
    ok = bool(fires(c.confidence, other, threshold))
    op = ">=" if c.confidence >= threshold else "<"
    return Check(
        "threshold", ok, f"{c.direction} {c.confidence:.3f} {op} {shown}; other side {other:.3f})"
    )


def edge_check(c: Candidate, announce_without_edge: bool) -> Check:
    """Say whether the model's walk-forward edge after costs is measured; without one, announce only
    if allowed."""
    if c.measured_edge is None:
        return Check("edge", True, "edge after costs not measured for this model")
    if c.measured_edge:
        return Check("edge", True, "walk-forward edge after costs above zero with its interval")
    detail = "no measured edge after costs: decision support only"
    if not announce_without_edge:
        detail += " (not announced: strategy.announce_without_edge = false)"
    return Check("edge", announce_without_edge, detail)


def evaluate(c: Candidate, ctx: Context, settings) -> list[Check]:
    """Apply every rule in the design's order and return all verdicts."""
    s = settings.strategy
    top = 1 - s.top_fraction
    spread = "unknown" if ctx.spread_bps is None else f"{ctx.spread_bps:.2f} bps"
    spot_short = c.direction == "SHORT" and not c.symbol.endswith("_JPY")
    return [
        Check("data", ctx.data_problem is None, ctx.data_problem or "candles complete"),
        threshold_check(c, s),
        Check(
            "top_rank",
            c.confidence_rank >= top,
            f"confidence rank {c.confidence_rank:.1%} vs top {s.top_fraction:.0%} (needs >= {top:.0%})",
        ),
        Check(
            "spread",
            ctx.spread_bps is not None and ctx.spread_bps <= s.max_spread_bps,
            f"spread {spread} vs max {s.max_spread_bps} bps",
        ),
        Check(
            "volume",
            ctx.volume_ratio >= s.min_volume_ratio,
            f"volume {ctx.volume_ratio:.0%} of its average (needs >= {s.min_volume_ratio:.0%})",
        ),
        news_check(ctx, s.news_blackout_minutes),
        liquidation_check(ctx),
        Check(
            "halted",
            not ctx.halted,
            f"trading halted: {ctx.halt_reason}" if ctx.halted else "trading running",
        ),
        Check("open_trade", ctx.held is None, ctx.held or "no open trade on this symbol"),
        Check("loss_streak", ctx.paused is None, ctx.paused or "no losing streak pause"),
        Check(
            "trades_today",
            ctx.trades_today < settings.risk.max_trades_per_day,
            f"{ctx.trades_today} of {settings.risk.max_trades_per_day} trades today",
        ),
        Check(
            "loss_limits",
            not ctx.loss_limit_breaches,
            "; ".join(ctx.loss_limit_breaches) or "within day/week/month loss limits",
        ),
        Check(
            "spot_short",
            not spot_short,
            "spot symbols cannot go short" if spot_short else "direction allowed",
        ),
        edge_check(c, s.announce_without_edge),
    ]


def news_check(ctx: Context, blackout_minutes: int) -> Check:
    """The news blackout, failing closed when the calendar is missing or expired (where that
    filters)."""
    if ctx.news_event:
        return Check("news", False, f"news blackout: {ctx.news_event}")
    if ctx.news_warning:
        effect = "filtered" if ctx.news_blocks else "warning only in paper mode"
        return Check("news", not ctx.news_blocks, f"{ctx.news_warning} ({effect})")
    return Check("news", True, f"no listed event within +-{blackout_minutes} min")


def liquidation_check(ctx: Context) -> Check:
    """No liquidation spike in the trade's direction, and a feed that was up for the whole
    window."""
    if ctx.spike_side is not None:
        return Check("liquidations", False, ctx.spike_detail)
    if ctx.liquidation_blind:
        return Check("liquidations", False, ctx.liquidation_blind)
    return Check("liquidations", True, "no liquidation spike")


def status_of(checks: list[Check]) -> str:
    """Return LOGGED when below threshold (or rank), FILTERED when another rule blocks, else
    PENDING."""
    failed = {c.rule for c in checks if not c.ok}
    if failed & {"threshold", "top_rank"}:
        return LOGGED
    return FILTERED if failed else PENDING
