"""The morning report in the trader's language: the day's trades and figures, and the signals that
were held because they came outside the trader's active hours."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from bot.trade_view import exit_words
from bot.views import direction_words, ratio
from signaldesk.i18n import Html, Words


def report_text(
    w: Words, r, equity_jpy: Decimal | None, risk_lines: Sequence[Html], held: Sequence = ()
) -> Html:
    """Render the daily report of one JST day."""
    lines = [
        w.t("<b>Daily report {day} (JST)</b>", day=w.day(r.day)),
        w.t("Trades {n} (won {won}, lost {lost}) · P/L {pnl} · fees {fees}", n=len(r.trades),
            won=r.winning, lost=r.losing, pnl=w.yen(r.total_pnl_jpy, signed=True),
            fees=w.yen(r.fees_jpy, signed=True)),
        w.t("Win rate {win} · profit factor {pf} · max drawdown {dd} · Sharpe {sharpe} (per trade)",
            win=_pct(w, r.win_rate), pf=ratio(r.profit_factor), dd=w.yen(r.max_drawdown_jpy),
            sharpe=ratio(r.sharpe)),
        w.t("Signals {n}: approved {approved}, rejected {rejected}, expired {expired}",
            n=r.signals_generated, approved=r.signals_approved, rejected=r.signals_rejected,
            expired=r.signals_expired),
        w.t("Missed moves (resolved {n}): rejected {rejected}, expired {expired}",
            n=r.missed_resolved, rejected=_signed_pct(w, r.missed_rejected_pct),
            expired=_signed_pct(w, r.missed_expired_pct)),
        w.t("Model live AUC {auc} · equity {equity}", auc=ratio(r.model_auc, 3),
            equity=w.yen(equity_jpy)),
    ]  # fmt: skip
    for t in r.trades:
        lines.append(w.t("• #{id} {symbol} {direction} {pnl} ({reason})", id=t.id,
                         symbol=t.symbol, direction=direction_words(w, t.direction),
                         pnl=w.yen(t.pnl_jpy, signed=True),
                         reason=exit_words(w, t.exit_reason)))  # fmt: skip
    lines += held_lines(w, held)
    return Html("\n".join([*lines, *risk_lines]))


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
    """Render the risk state and the budget left (unknown when the exchange could not be seen)."""
    if state.halted:
        lines = [w.t("Risk state: HALTED ({reason})", reason=state.reason)]
    else:
        lines = [w.t("Risk state: RUNNING")]
    if snap is None:
        lines.append(w.t("Risk budget left: unknown (the exchange could not be seen)"))
    else:
        lines.append(w.t("Risk budget left: day {day} · week {week} · month {month}",
                         day=w.yen(snap.budget_day_left_jpy), week=w.yen(snap.budget_week_left_jpy),
                         month=w.yen(snap.budget_month_left_jpy)))  # fmt: skip
    return lines


def chart_title(w: Words, days: int) -> str:
    """Return the equity chart's title (plain text)."""
    return w.plain("Equity, last {days} days", days=days)


def chart_caption(w: Words, days: int, day) -> Html:
    """Return the equity chart's caption."""
    return w.t("Equity, last {days} days (to the {day} report)", days=days, day=w.day(day))


def _pct(w: Words, value: float | None) -> str:
    return w.percent(None if value is None else value * 100, 1)


def _signed_pct(w: Words, value: float | None) -> str:
    return w.percent(value, 2, signed=True)
