"""The morning report and the figures the money commands share, in the trader's language: the day's
money after fees, its trades, equity at the day's end, statistics with the samples they come from,
what the unchosen signals would have made, and the signals held because they came outside the
trader's active hours."""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal

from bot.card_view import price_note_text
from bot.trade_view import exit_words
from bot.views import direction_words, status_words
from signaldesk import signals
from signaldesk.i18n import Html, Words


def sample(w: Words, count: int) -> Html:
    """Render a sample size: `1 trade`, `3 trades` / `3件`."""
    return w.tn("{n} trade", "{n} trades", count)


def win_rate_text(w: Words, stats) -> Html:
    """Render a win rate with the trades it comes from."""
    if not stats.trades:
        return w.t("win rate n/a (no trades)")
    return w.t("win rate {rate} ({won} of {sample})", rate=w.percent(stats.win_rate * 100, 0),
               won=stats.winners, sample=sample(w, stats.trades))  # fmt: skip


def profit_factor_text(w: Words, stats) -> Html:
    """Render a profit factor with its sample, saying so when there is no winner or no loser."""
    n = sample(w, stats.trades)
    if not stats.trades:
        return w.t("profit factor n/a (no trades)")
    if stats.profit_factor is None:
        return w.t("profit factor n/a (none of {sample} won or lost)", sample=n)
    if stats.winners == 0:
        return w.t("profit factor 0 (no winner in {sample})", sample=n)
    if math.isinf(stats.profit_factor):
        return w.t("profit factor ∞ (no loser in {sample})", sample=n)
    return w.t("profit factor {pf} ({sample})", pf=f"{stats.profit_factor:.2f}", sample=n)


def sharpe_text(w: Words, stats) -> Html:
    """Render the per-trade Sharpe, only from 20 trades up."""
    if stats.sharpe is None:
        return w.t("Sharpe n/a ({sample})", sample=sample(w, stats.trades))
    return w.t("Sharpe {sharpe} per trade ({sample})", sharpe=f"{stats.sharpe:.2f}",
               sample=sample(w, stats.trades))  # fmt: skip


def fees_text(w: Words, money) -> Html:
    """Render a period's fees split into execution and leverage fees."""
    return w.t("fees {fees} (execution {execution}, leverage {leverage})",
               fees=w.yen(money.fees_jpy), execution=w.yen(money.execution_fees_jpy),
               leverage=w.yen(money.leverage_fees_jpy))  # fmt: skip


def trade_line(w: Words, t) -> Html:
    """Render one closed trade: id, symbol, direction, P/L, exit reason in words, fees."""
    if t.leverage_fees_jpy:
        return w.t("• #{id} {symbol} {direction} {pnl} ({reason}; fees {fees}, leverage "
                   "{leverage})", id=t.id, symbol=t.symbol,
                   direction=direction_words(w, t.direction), pnl=w.yen(t.pnl_jpy, signed=True),
                   reason=exit_words(w, t.exit_reason), fees=w.yen(t.fees_jpy),
                   leverage=w.yen(t.leverage_fees_jpy))  # fmt: skip
    return w.t("• #{id} {symbol} {direction} {pnl} ({reason}; fees {fees})", id=t.id,
               symbol=t.symbol, direction=direction_words(w, t.direction),
               pnl=w.yen(t.pnl_jpy, signed=True), reason=exit_words(w, t.exit_reason),
               fees=w.yen(t.fees_jpy))  # fmt: skip


def position_line(w: Words, p: dict) -> Html:
    """Render one open position of an equity snapshot."""
    return w.t("• #{id} {symbol} {direction} {size} at {entry}, marked {mark}: unrealised {pnl}",
               id=p["trade_id"], symbol=p["symbol"], direction=direction_words(w, p["direction"]),
               size=w.number(Decimal(p["size"])), entry=w.price(Decimal(p["entry_price"])),
               mark=w.price(Decimal(p["mark_price"])),
               pnl=w.yen(Decimal(p["unrealised_jpy"]), signed=True))  # fmt: skip


def equity_lines(w: Words, r) -> list[Html]:
    """Render equity at the day's end, its change, and the positions open then."""
    if r.equity is None:
        return [w.t("Equity at the day's end: n/a (no snapshot yet: the cycle writes one every 15 "
                    "minutes)")]  # fmt: skip
    lines = [
        w.t("Equity {equity} at {at} (the day's last snapshot; change {change})",
            equity=w.yen(r.equity.equity_jpy), at=w.when(r.equity.taken_at, r.equity.taken_at),
            change=w.yen(r.equity_change_jpy, signed=True)),
        w.t("Open at the day's end: {n} (unrealised {pnl})", n=len(r.equity.positions),
            pnl=w.yen(r.equity.unrealised_jpy, signed=True)),
    ]  # fmt: skip
    return lines + [position_line(w, p) for p in r.equity.positions]


def missed_text(w: Words, missed: dict) -> Html:
    """Render the would-have outcomes of the day's rejected, expired and filtered signals."""
    parts = []
    for status in (signals.REJECTED, signals.EXPIRED, signals.FILTERED):
        group = missed[status]
        if not group.count:
            continue
        part = w.t("{status} {n}: {pnl}", status=status_words(w, status), n=group.count,
                   pnl=w.yen(group.pnl_jpy, signed=True))  # fmt: skip
        if group.resolved < group.count:
            part = w.t("{part}, {n} not simulated yet", part=part, n=group.count - group.resolved)
        parts.append(part)
    told = Html(w.t("; ").join(parts)) if parts else w.t("no unchosen signals")
    return w.t("Would have made (the desk's own plan on the candles that followed): {told}",
               told=told)  # fmt: skip


def hit_rate_text(w: Words, hits: int, scored: int, days: int | None, backtest) -> Html:
    """Render the model's live hit rate with its sample and the backtested rate."""
    rate = w.percent(hits / scored * 100, 0) if scored else w.t("n/a")
    resolved = w.tn("{n} resolved signal", "{n} resolved signals", scored)
    span = w.t(", {days} days", days=days) if days else Html("")
    bt = w.t("; backtest {rate}", rate=w.percent(backtest * 100, 0)) if backtest is not None else ""
    return w.t("Model hit rate {rate} ({hits} of {resolved}{span}{backtest})", rate=rate,
               hits=hits, resolved=resolved, span=span, backtest=Html(bt))  # fmt: skip


def report_text(w: Words, r, risk: Sequence[Html], live_auc_days: int = 28, note: str = "",
                held: Sequence = ()) -> Html:  # fmt: skip
    """Render the daily report of one JST day."""
    lines = [
        w.t("<b>Daily report {day} (JST)</b> · {mode}", day=w.day(r.day), mode=r.mode),
        w.t("P/L {pnl} after {fees}", pnl=w.yen(r.money.net_jpy, signed=True),
            fees=fees_text(w, r.money)),
        w.t("Trades closed {n} (won {won}, lost {lost})", n=len(r.trades), won=r.winning,
            lost=r.losing),
        *[trade_line(w, t) for t in r.trades],
        *equity_lines(w, r),
        to_date_line(w, r),
        w.t("All trades to date: {win} · {pf} · max drawdown {dd} · {sharpe}",
            win=win_rate_text(w, r.stats), pf=profit_factor_text(w, r.stats),
            dd=w.yen(r.stats.max_drawdown_jpy), sharpe=sharpe_text(w, r.stats)),
        w.t("Signals {n}: approved {approved}, rejected {rejected}, expired {expired}",
            n=r.signals_generated, approved=r.signals_approved, rejected=r.signals_rejected,
            expired=r.signals_expired),
        missed_text(w, r.missed),
        hit_rate_text(w, r.hits, r.scored, live_auc_days, r.backtest_hit_rate),
    ]  # fmt: skip
    notes = [w.t("<i>{note}</i>", note=price_note_text(w, note))] if note else []
    return Html("\n".join([*lines, *held_lines(w, held), *risk, *notes]))


def to_date_line(w: Words, r) -> Html:
    """Render month to date and since the start (with the deposit, when there is one)."""
    month, total = w.yen(r.month.net_jpy, signed=True), w.yen(r.total.net_jpy, signed=True)
    if r.deposit:
        return w.t("Month to date {month} · since the start {total} (deposit {deposit})",
                   month=month, total=total, deposit=w.yen(r.deposit.amount_jpy))  # fmt: skip
    return w.t("Month to date {month} · since the start {total}", month=month, total=total)


def held_lines(w: Words, held: Sequence) -> list[Html]:
    """Render the signals held outside the active hours (not offered for approval)."""
    if not held:
        return []
    lines = [w.tn("🌙 {n} signal came outside your active hours and was not offered:",
                  "🌙 {n} signals came outside your active hours and were not offered:",
                  len(held))]  # fmt: skip
    for s in held:
        lines.append(w.t("• #{id} {at} {symbol} {direction} confidence {confidence} · entry {entry}",
                         id=s.id, at=w.when(s.created_at), symbol=s.symbol,
                         direction=direction_words(w, s.direction),
                         confidence=f"{s.confidence or 0:.2f}",
                         entry=w.price(s.entry_price)))  # fmt: skip
    return lines


def risk_lines(w: Words, state, snap) -> list[Html]:
    """Render the risk state now and the budget left (unknown when the exchange could not be
    seen)."""
    if state.halted:
        risk = w.t("HALTED ({reason})", reason=state.reason)
    else:
        risk = w.t("RUNNING")
    if snap is None:
        budget = w.t("budget left: unknown (the exchange could not be seen)")
    else:
        budget = w.t("budget left: day {day} · week {week} · month {month}",
                     day=w.yen(snap.budget_day_left_jpy), week=w.yen(snap.budget_week_left_jpy),
                     month=w.yen(snap.budget_month_left_jpy))  # fmt: skip
    return [w.t("Risk state now: {risk} · {budget}", risk=risk, budget=budget)]


def protection_lines(w: Words, snap, risk) -> list[Html]:
    """Render the state of the desk's protections (issue 14's exposure cap, losing-streak pause,
    drawdown halt and trailing stop) for /status and the daily report."""
    cap = snap.equity_jpy * risk.max_position_fraction
    streak = snap.streak
    lines = [
        w.tn(
            "Exposure: {used} of {cap} ({share} of equity), at most {n} trade per symbol",
            "Exposure: {used} of {cap} ({share} of equity), at most {n} trades per symbol",
            risk.max_trades_per_symbol,
            used=w.yen(snap.committed_jpy),
            cap=w.yen(cap),
            share=w.percent(risk.max_position_fraction * 100, 0),
        ),
        w.t(
            "Losing streak: {losses} of {limit}",
            losses=streak.losses,
            limit=risk.max_consecutive_losses,
        )
        if not snap.paused()
        else w.t(
            "Losing streak: {losses} of {limit}, new trades paused until {until}",
            losses=streak.losses,
            limit=risk.max_consecutive_losses,
            until=w.when(streak.paused_until),
        ),
        drawdown_line(w, snap, risk),
    ]
    if risk.trailing_stop_r > 0:
        lines.append(
            w.t(
                "Trailing stop after take-profit 1: {r} stop distance(s) behind the price",
                r=w.number(risk.trailing_stop_r),
            )
        )
    else:
        lines.append(w.t("Trailing stop after take-profit 1: off"))
    return lines  # fmt: skip


def drawdown_line(w: Words, snap, risk) -> Html:
    """Render the drawdown from the recorded equity peak and where trading halts."""
    limit = w.percent(risk.max_drawdown * 100, 0)
    if not snap.equity_peak_jpy:
        return w.t("Drawdown: no equity peak recorded yet (halt at {limit})", limit=limit)
    return w.t("Drawdown: {fall} below the equity peak of {peak} (halt at {limit})",
               fall=w.percent(snap.drawdown * 100, 1), peak=w.yen(snap.equity_peak_jpy),
               limit=limit)  # fmt: skip


def chart_title(w: Words, day, days: int) -> Html:
    """Return the equity chart's title (its caption too)."""
    return w.t("Equity to the end of {day} (JST), last {days} days", day=w.day(day), days=days)
