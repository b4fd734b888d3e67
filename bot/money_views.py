"""Message text of the money commands (/profit, /balance, /daily, /weekly, /monthly, /performance,
/trades, /stats) and the weekly review: HTML, escaped, one money format (signaldesk.money), samples
always given."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from html import escape

from bot.views import (
    duration,
    fees_text,
    hit_rate_text,
    jst,
    pnl,
    profit_factor_text,
    sample,
    sharpe_text,
    trade_line,
    win_rate_text,
)
from signaldesk.clock import JST
from signaldesk.money import exit_words, yen

UNIT_TITLES = {"day": "Daily", "week": "Weekly (from Monday)", "month": "Monthly"}
WINDOW_TITLES = {7: "Last 7 days", 30: "Last 30 days", None: "Since the first signal"}
LIST_LIMIT = 10


def profit_text(p, days: int | None) -> str:
    """Render /profit: realised P/L after fees over a span, with the trades it comes from."""
    span = f"the last {sample(days, 'day')}" if days else "all time"
    if not p.stats.trades and not p.money.fees_jpy:
        return f"<b>Profit, {span}</b>\nNo closed trades and no fees since {jst(p.since)}."
    hold = duration(p.average_hold) if p.average_hold else "n/a"
    best = max(p.trades, key=lambda t: t.pnl_jpy, default=None)
    lines = [
        f"<b>Profit, {span}</b> (since {jst(p.since)})",
        f"P/L {pnl(p.money.net_jpy)} after {fees_text(p.money)}",
        f"Closed {sample(p.stats.trades)}: won {p.stats.winners}, lost {p.stats.losers} · "
        f"average hold {hold}",
        f"{win_rate_text(p.stats).capitalize()} · {profit_factor_text(p.stats)} · max drawdown "
        f"{yen(p.stats.max_drawdown_jpy)} · {sharpe_text(p.stats)}",
    ]
    if best is not None:
        lines.append(
            f"Best trade #{best.id} {escape(best.symbol)} {best.direction} {pnl(best.pnl_jpy)}"
        )
    if p.deposit is not None and not days:
        share = p.money.net_jpy / p.deposit.amount_jpy * 100
        lines.append(f"Against the deposit of {yen(p.deposit.amount_jpy)}: {share:+.2f}%")
    return "\n".join(lines)


@dataclass(frozen=True)
class BalanceView:
    """What /balance shows: the account now, the deposit, the positions behind the unrealised
    P/L."""

    mode: str
    equity_jpy: Decimal
    cash_jpy: Decimal
    unrealised_jpy: Decimal
    positions: Sequence  # signaldesk.risk.OpenExposure
    deposit_jpy: Decimal | None
    deposit_at: datetime | None
    capital_cap_jpy: Decimal | None  # live only: the equity sizes and loss limits may use
    note: str = ""  # where the prices come from when they are not GMO's


def balance_text(v: BalanceView) -> str:
    """Render /balance."""
    lines = [f"<b>Balance</b> · {escape(v.mode)}"]
    if v.mode == "paper":
        lines.append("Paper money: a simulated account, no real yen at stake.")
    lines += [
        f"Equity {yen(v.equity_jpy)} = cash {yen(v.cash_jpy)} + unrealised {pnl(v.unrealised_jpy)}",
    ]
    if v.deposit_jpy:
        change = v.equity_jpy - v.deposit_jpy
        lines.append(
            f"Deposit {yen(v.deposit_jpy)} on {jst(v.deposit_at)}: change {pnl(change)} "
            f"({change / v.deposit_jpy * 100:+.2f}%)"
        )
    if v.capital_cap_jpy is not None:
        lines.append(
            f"Live capital cap: sizes and loss limits use at most {yen(v.capital_cap_jpy)}"
        )
    lines.append(f"Open positions {len(v.positions)}:" if v.positions else "No open positions.")
    lines += [
        f"• #{x.trade_id} {escape(x.symbol)} {x.direction} {x.size} @ {yen(x.entry_price)}, now "
        f"{yen(x.mark_price)}: {pnl(x.unrealised_jpy)}"
        for x in v.positions
    ]
    return "\n".join(lines + ([f"<i>{escape(v.note)}</i>"] if v.note else []))


def period_label(period, unit: str) -> str:
    """Render a period's name: 2026-03-09, week of 2026-03-09, 2026-03."""
    if unit == "month":
        return f"{period.start:%Y-%m}"
    return f"{'week of ' if unit == 'week' else ''}{period.start.isoformat()}"


def periods_text(rows: Sequence, unit: str) -> str:
    """Render /daily, /weekly or /monthly: P/L after fees, fees, trades and equity per period."""
    lines = [f"<b>{UNIT_TITLES[unit]} P/L, the last {len(rows)}</b> (JST; newest first)"]
    for p in rows:
        ret = f" ({p.return_pct:+.2f}%)" if p.return_pct is not None else ""
        end = f" · equity {yen(p.equity_end_jpy)}" if p.equity_end_jpy is not None else ""
        lines.append(
            f"{period_label(p, unit)}: {pnl(p.money.net_jpy)}{ret} · {sample(p.trades)} · fees "
            f"{yen(p.money.fees_jpy)}{end}"
        )
    lines.append(f"Total {pnl(sum((p.money.net_jpy for p in rows), Decimal(0)))}")
    return "\n".join(lines)


def performance_text(rows: Sequence) -> str:
    """Render /performance: per symbol and direction."""
    if not rows:
        return "<b>Performance</b>\nNo closed trades yet."
    lines = ["<b>Performance by symbol and direction</b> (closed trades, after fees)"]
    for p in rows:
        lines.append(
            f"{escape(p.symbol)} {p.direction}: {pnl(p.net_jpy)} · {win_rate_text(p.stats)} · "
            f"{profit_factor_text(p.stats)} · fees {yen(p.fees_jpy)}"
        )
    return "\n".join(lines)


def trades_text(trades: Sequence, asked: int) -> str:
    """Render /trades: the last closed trades, newest first."""
    if not trades:
        return "No closed trades yet."
    lines = [f"<b>The last {sample(len(trades))}</b> (asked for {asked}; newest first)"]
    for t in trades:
        lines.append(f"{t.exit_time.astimezone(JST):%m-%d %H:%M} {trade_line(t)[2:]}")
    return "\n".join(lines)


def group_text(words: str, group, would: bool) -> str:
    """Render one verdict group: count and JPY outcome (with what is not known yet)."""
    if not group.count:
        return f"{words} 0"
    verb = "would have made " if would else ""
    waiting = group.count - group.resolved
    tail = [f"{group.not_filled} not filled"] if group.not_filled else []
    tail += [f"{waiting} {'still open' if not would else 'not simulated yet'}"] if waiting else []
    extra = f" ({', '.join(tail)})" if tail else ""
    return f"{words} {group.count}: {verb}{pnl(group.pnl_jpy)}{extra}"


def value_text(r) -> str:
    """Render the person's value added with its interval and the random-rejection baseline."""
    if r.interval_jpy is None:
        return "Your value added: n/a (no decided signal with a known outcome yet)"
    low, high = r.interval_jpy
    base = (
        f"; turning down the same share at random: {pnl(r.random_baseline_jpy)}"
        if r.random_baseline_jpy is not None
        else ""
    )
    return (
        f"Your value added {pnl(r.value_added_jpy)} "
        f"(95% bootstrap interval {pnl(low)} to {pnl(high)}{base})"
    )


def review_block(r) -> list[str]:
    """Render one window of the review."""
    return [
        f"<b>{WINDOW_TITLES.get(r.days, f'Last {r.days} days')}</b>",
        group_text("Approved", r.approved, would=False),
        group_text("Rejected", r.rejected, would=True),
        group_text("Expired", r.expired, would=True),
        group_text("Filtered at the last step", r.filtered, would=True),
        value_text(r),
        hit_rate_text(r.hits, r.scored, None, r.backtest_hit_rate),
    ]


def unchosen_line(signal, outcome) -> str:
    """Render one unchosen signal with its would-have outcome."""
    head = f"• #{signal.id} {escape(signal.symbol)} {signal.direction} {signal.status.lower()}"
    if outcome is None:
        return f"{head}: not simulated yet"
    if outcome.outcome == "closed":
        return f"{head}: would have made {pnl(outcome.pnl_jpy)} ({exit_words(outcome.exit_reason)})"
    words = {"not_filled": "the entry would not have filled", "no_plan": "no plan to trade"}
    return f"{head}: {words.get(outcome.outcome, 'refused: ' + escape(outcome.detail[:120]))}"


def same_signals(a, b) -> bool:
    """Return True when two windows hold the same signals (the longer one added nothing)."""
    counts = [(r.approved, r.rejected, r.expired, r.filtered, r.scored) for r in (a, b)]
    return counts[0] == counts[1]


def review_blocks(reviews: Sequence) -> list[str]:
    """Render the windows; a longer one that adds nothing to the one before is one line."""
    lines: list[str] = []
    for before, r in zip([None, *reviews], reviews, strict=False):
        title = WINDOW_TITLES.get(r.days, f"Last {r.days} days")
        if before is not None and same_signals(before, r):
            lines += ["", f"<b>{title}</b>: the same signals as above"]
        else:
            lines += ["", *review_block(r)]
    return lines


def stats_text(reviews: Sequence) -> str:
    """Render /stats: the 7-day, 30-day and all-time reviews."""
    head = "<b>What you add</b> (approved: what the trades made; the rest: the plan replayed)"
    return "\n".join([head, *review_blocks(reviews)])


def weekly_review_text(day, reviews: Sequence, week_profit, unchosen: Sequence) -> str:
    """Render the Monday review: the week's P/L, the reviews, and the week's unchosen signals."""
    lines = [
        f"<b>Weekly review to {day.isoformat()} (JST)</b>",
        f"The week: P/L {pnl(week_profit.money.net_jpy)} after {fees_text(week_profit.money)}; "
        f"{win_rate_text(week_profit.stats)}",
    ]
    lines += review_blocks(reviews)
    if unchosen:
        lines += ["", f"<b>Signals not taken this week</b> ({len(unchosen)}, newest first)"]
        lines += [unchosen_line(s, o) for s, o in unchosen[:LIST_LIMIT]]
    return "\n".join(lines)
