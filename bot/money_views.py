"""Message text of the money commands (/profit, /balance, /daily, /weekly, /monthly, /performance,
/trades, /stats) and the weekly review, in the trader's language: HTML, escaped, one money format
(signaldesk.money through `Words`), samples always given."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from bot.card_view import price_note_text
from bot.report_view import (
    fees_text,
    hit_rate_text,
    profit_factor_text,
    sample,
    sharpe_text,
    trade_line,
    win_rate_text,
)
from bot.trade_view import exit_words
from bot.views import direction_words, status_words
from signaldesk.i18n import N_, Html, Words

UNIT_TITLES = {
    "day": N_("<b>Daily P/L, the last {n}</b> (JST; newest first)"),
    "week": N_("<b>Weekly P/L (from Monday), the last {n}</b> (JST; newest first)"),
    "month": N_("<b>Monthly P/L, the last {n}</b> (JST; newest first)"),
}
WINDOW_TITLES = {7: N_("Last 7 days"), 30: N_("Last 30 days"), None: N_("Since the first signal")}
LIST_LIMIT = 10


def profit_text(w: Words, p, days: int | None) -> Html:
    """Render /profit: realised P/L after fees over a span, with the trades it comes from."""
    span = w.tn("the last {n} day", "the last {n} days", days) if days else w.t("all time")
    if not p.stats.trades and not p.money.fees_jpy:
        return w.t("<b>Profit, {span}</b>\nNo closed trades and no fees since {since}.", span=span,
                   since=w.when(p.since))  # fmt: skip
    hold = w.duration(p.average_hold) if p.average_hold else w.t("n/a")
    best = max(p.trades, key=lambda t: t.pnl_jpy, default=None)
    lines = [
        w.t("<b>Profit, {span}</b> (since {since})", span=span, since=w.when(p.since)),
        w.t("P/L {pnl} after {fees}", pnl=w.yen(p.money.net_jpy, signed=True),
            fees=fees_text(w, p.money)),
        w.t("Closed {sample}: won {won}, lost {lost} · average hold {hold}",
            sample=sample(w, p.stats.trades), won=p.stats.winners, lost=p.stats.losers, hold=hold),
        w.t("{win} · {pf} · max drawdown {dd} · {sharpe}", win=capitalized(win_rate_text(w, p.stats)),
            pf=profit_factor_text(w, p.stats), dd=w.yen(p.stats.max_drawdown_jpy),
            sharpe=sharpe_text(w, p.stats)),
    ]  # fmt: skip
    if best is not None:
        lines.append(w.t("Best trade #{id} {symbol} {direction} {pnl}", id=best.id,
                         symbol=best.symbol, direction=direction_words(w, best.direction),
                         pnl=w.yen(best.pnl_jpy, signed=True)))  # fmt: skip
    if p.deposit is not None and not days:
        share = p.money.net_jpy / p.deposit.amount_jpy * 100
        lines.append(w.t("Against the deposit of {deposit}: {share}",
                         deposit=w.yen(p.deposit.amount_jpy),
                         share=w.percent(share, 2, signed=True)))  # fmt: skip
    return Html("\n".join(lines))


def capitalized(text: Html) -> Html:
    """Return a phrase that starts a line with its first letter capitalised (no-op in Japanese)."""
    return Html(text[:1].upper() + text[1:])


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
    note: str = ""  # the pairs behind converted prices when they are not GMO's (price_note)


def balance_text(w: Words, v: BalanceView) -> Html:
    """Render /balance."""
    lines = [w.t("<b>Balance</b> · {mode}", mode=v.mode)]
    if v.mode == "paper":
        lines.append(w.t("Paper money: a simulated account, no real yen at stake."))
    lines.append(w.t("Equity {equity} = cash {cash} + unrealised {unrealised}",
                     equity=w.yen(v.equity_jpy), cash=w.yen(v.cash_jpy),
                     unrealised=w.yen(v.unrealised_jpy, signed=True)))  # fmt: skip
    if v.deposit_jpy:
        change = v.equity_jpy - v.deposit_jpy
        lines.append(w.t("Deposit {deposit} on {at}: change {change} ({share})",
                         deposit=w.yen(v.deposit_jpy), at=w.when(v.deposit_at),
                         change=w.yen(change, signed=True),
                         share=w.percent(change / v.deposit_jpy * 100, 2, signed=True)))  # fmt: skip
    if v.capital_cap_jpy is not None:
        lines.append(w.t("Live capital cap: sizes and loss limits use at most {cap}",
                         cap=w.yen(v.capital_cap_jpy)))  # fmt: skip
    lines += position_lines(w, v.positions)
    notes = [w.t("<i>{note}</i>", note=price_note_text(w, v.note))] if v.note else []
    return Html("\n".join(lines + notes))


def position_lines(w: Words, positions: Sequence) -> list[Html]:
    """Render the open positions behind the unrealised P/L."""
    if not positions:
        return [w.t("No open positions.")]
    lines = [w.t("Open positions {n}:", n=len(positions))]
    for x in positions:
        lines.append(w.t("• #{id} {symbol} {direction} {size} at {entry}, now {mark}: {pnl}",
                         id=x.trade_id, symbol=x.symbol, direction=direction_words(w, x.direction),
                         size=w.number(x.size), entry=w.price(x.entry_price),
                         mark=w.price(x.mark_price),
                         pnl=w.yen(x.unrealised_jpy, signed=True)))  # fmt: skip
    return lines


def period_label(w: Words, period, unit: str) -> Html:
    """Render a period's name: 2026-03-09, week of 2026-03-09, 2026-03 (ja: 2026年3月9日...)."""
    if unit == "month":
        return w.t("{year}-{month:02d}", year=period.start.year, month=period.start.month)
    if unit == "week":
        return w.t("week of {day}", day=w.day(period.start))
    return w.day(period.start)


def periods_text(w: Words, rows: Sequence, unit: str) -> Html:
    """Render /daily, /weekly or /monthly: P/L after fees, fees, trades and equity per period."""
    lines = [w.t(UNIT_TITLES[unit], n=len(rows))]
    for p in rows:
        ret = w.t(" ({percent})", percent=w.percent(p.return_pct, 2, signed=True))
        end = w.t(" · equity {equity}", equity=w.yen(p.equity_end_jpy))
        lines.append(w.t("{period}: {pnl}{ret} · {sample} · fees {fees}{end}",
                         period=period_label(w, p, unit), pnl=w.yen(p.money.net_jpy, signed=True),
                         ret=ret if p.return_pct is not None else Html(""),
                         sample=sample(w, p.trades), fees=w.yen(p.money.fees_jpy),
                         end=end if p.equity_end_jpy is not None else Html("")))  # fmt: skip
    total = sum((p.money.net_jpy for p in rows), Decimal(0))
    lines.append(w.t("Total {pnl}", pnl=w.yen(total, signed=True)))
    return Html("\n".join(lines))


def performance_text(w: Words, rows: Sequence) -> Html:
    """Render /performance: per symbol and direction."""
    if not rows:
        return w.t("<b>Performance</b>\nNo closed trades yet.")
    lines = [w.t("<b>Performance by symbol and direction</b> (closed trades, after fees)")]
    for p in rows:
        lines.append(w.t("{symbol} {direction}: {pnl} · {win} · {pf} · fees {fees}",
                         symbol=p.symbol, direction=direction_words(w, p.direction),
                         pnl=w.yen(p.net_jpy, signed=True), win=win_rate_text(w, p.stats),
                         pf=profit_factor_text(w, p.stats), fees=w.yen(p.fees_jpy)))  # fmt: skip
    return Html("\n".join(lines))


def trades_text(w: Words, trades: Sequence, asked: int) -> Html:
    """Render /trades: the last closed trades, newest first."""
    if not trades:
        return w.t("No closed trades yet.")
    lines = [w.t("<b>The last {sample}</b> (asked for {asked}; newest first)",
                 sample=sample(w, len(trades)), asked=asked)]  # fmt: skip
    for t in trades:
        line = trade_line(w, t)
        lines.append(Html(f"{w.when(t.exit_time)} {line[2:] if line.startswith('• ') else line}"))
    return Html("\n".join(lines))


def group_text(w: Words, name: str, group, would: bool) -> Html:
    """Render one verdict group: count and JPY outcome (with what is not known yet)."""
    if not group.count:
        return w.t("{group} 0", group=w.t(name))
    waiting = group.count - group.resolved
    tail = [w.t("{n} not filled", n=group.not_filled)] if group.not_filled else []
    if waiting:
        tail.append(w.t("{n} not simulated yet", n=waiting) if would
                    else w.t("{n} still open", n=waiting))  # fmt: skip
    extra = w.t(" ({tail})", tail=Html(w.t(", ").join(tail))) if tail else Html("")
    pnl = w.yen(group.pnl_jpy, signed=True)
    if would:
        return w.t("{group} {n}: would have made {pnl}{extra}", group=w.t(name), n=group.count,
                   pnl=pnl, extra=extra)  # fmt: skip
    return w.t("{group} {n}: {pnl}{extra}", group=w.t(name), n=group.count, pnl=pnl, extra=extra)


def value_text(w: Words, r) -> Html:
    """Render the person's value added with its interval and the random-rejection baseline."""
    if r.interval_jpy is None:
        return w.t("Your value added: n/a (no decided signal with a known outcome yet)")
    low, high = r.interval_jpy
    base = Html("")
    if r.random_baseline_jpy is not None:
        base = w.t("; turning down the same share at random: {pnl}",
                   pnl=w.yen(r.random_baseline_jpy, signed=True))  # fmt: skip
    return w.t("Your value added {pnl} (95% bootstrap interval {low} to {high}{base})",
               pnl=w.yen(r.value_added_jpy, signed=True), low=w.yen(low, signed=True),
               high=w.yen(high, signed=True), base=base)  # fmt: skip


def window_title(w: Words, days: int | None) -> Html:
    """Return a review window's title."""
    if days in WINDOW_TITLES:
        return w.t(WINDOW_TITLES[days])
    return w.t("Last {days} days", days=days)


def review_block(w: Words, r) -> list[Html]:
    """Render one window of the review."""
    return [
        w.t("<b>{title}</b>", title=window_title(w, r.days)),
        group_text(w, N_("Approved"), r.approved, would=False),
        group_text(w, N_("Rejected"), r.rejected, would=True),
        group_text(w, N_("Expired"), r.expired, would=True),
        group_text(w, N_("Filtered at the last step"), r.filtered, would=True),
        value_text(w, r),
        hit_rate_text(w, r.hits, r.scored, None, r.backtest_hit_rate),
    ]


def unchosen_line(w: Words, signal, outcome) -> Html:
    """Render one unchosen signal with its would-have outcome."""
    head = w.t("• #{id} {symbol} {direction} {status}", id=signal.id, symbol=signal.symbol,
               direction=direction_words(w, signal.direction),
               status=status_words(w, signal.status))  # fmt: skip
    if outcome is None:
        return w.t("{head}: not simulated yet", head=head)
    if outcome.outcome == "closed":
        return w.t("{head}: would have made {pnl} ({reason})", head=head,
                   pnl=w.yen(outcome.pnl_jpy, signed=True),
                   reason=exit_words(w, outcome.exit_reason))  # fmt: skip
    if outcome.outcome == "not_filled":
        return w.t("{head}: the entry would not have filled", head=head)
    if outcome.outcome == "no_plan":
        return w.t("{head}: no plan to trade", head=head)
    return w.t("{head}: refused: {detail}", head=head, detail=outcome.detail[:120])


def same_signals(a, b) -> bool:
    """Return True when two windows hold the same signals (the longer one added nothing)."""
    counts = [(r.approved, r.rejected, r.expired, r.filtered, r.scored) for r in (a, b)]
    return counts[0] == counts[1]


def review_blocks(w: Words, reviews: Sequence) -> list[Html]:
    """Render the windows; a longer one that adds nothing to the one before is one line."""
    lines: list[Html] = []
    for before, r in zip([None, *reviews], reviews, strict=False):
        if before is not None and same_signals(before, r):
            lines += [Html(""), w.t("<b>{title}</b>: the same signals as above",
                                    title=window_title(w, r.days))]  # fmt: skip
        else:
            lines += [Html(""), *review_block(w, r)]
    return lines


def stats_text(w: Words, reviews: Sequence) -> Html:
    """Render /stats: the 7-day, 30-day and all-time reviews."""
    head = w.t("<b>What you add</b> (approved: what the trades made; the rest: the plan replayed)")
    return Html("\n".join([head, *review_blocks(w, reviews)]))


def weekly_review_text(w: Words, day, reviews: Sequence, week_profit, unchosen: Sequence) -> Html:
    """Render the Monday review: the week's P/L, the reviews, and the week's unchosen signals."""
    lines = [
        w.t("<b>Weekly review to {day} (JST)</b>", day=w.day(day)),
        w.t("The week: P/L {pnl} after {fees}; {win}",
            pnl=w.yen(week_profit.money.net_jpy, signed=True),
            fees=fees_text(w, week_profit.money), win=win_rate_text(w, week_profit.stats)),
    ]  # fmt: skip
    lines += review_blocks(w, reviews)
    if unchosen:
        lines += [Html(""), w.t("<b>Signals not taken this week</b> ({n}, newest first)",
                                n=len(unchosen))]  # fmt: skip
        lines += [unchosen_line(w, s, o) for s, o in unchosen[:LIST_LIMIT]]
    return Html("\n".join(lines))
