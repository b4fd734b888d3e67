"""Message text of the desk: signals, verdicts, status, positions, the daily report, alerts and help (HTML, escaped)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from html import escape

from signaldesk import signals
from signaldesk.clock import JST
from signaldesk.money import exit_words, yen

MAX_MESSAGE = 4000  # Telegram allows 4096 characters after entity parsing; keep a margin
TOP_REASONS = 5
# The static commands: registered with set_my_commands and listed by /help (one source for both).
BOT_COMMANDS: tuple[tuple[str, str], ...] = (
    ("status", "mode, halt state, equity, P/L, risk budget, cycle and listener health"),
    ("pending", "signals waiting for a decision"),
    ("positions", "open trades"),
    ("report", "daily report of the previous JST day (or /report YYYY-MM-DD)"),
    ("profit", "P/L after fees, win rate, profit factor: all time, or /profit DAYS"),
    ("balance", "equity, cash, open positions with unrealised P/L, against the deposit"),
    ("daily", "P/L per JST day: the last 7 days, or /daily N"),
    ("weekly", "P/L per week from Monday: the last 8 weeks, or /weekly N"),
    ("monthly", "P/L per month: the last 6 months, or /monthly N"),
    ("performance", "P/L per symbol and direction"),
    ("trades", "the last 10 closed trades, or /trades N"),
    ("stats", "what you add: approved vs rejected vs expired signals, would-have outcomes"),
    (
        "stop",
        "emergency stop: halt and cancel resting entry orders (/stop flatten also closes positions)",
    ),
    ("resume", "lift a halt"),
    ("help", "this list"),
)
DYNAMIC_COMMANDS = (
    ("approve_<id>", "approve signal <id> (or tap Approve)"),
    ("reject_<id>", "reject signal <id> (or tap Reject)"),
    ("modify_<id> size=… entry=… stop=… tp1=… tp2=…", "adjust a pending signal (size down only)"),
)


def jst(moment: datetime | None) -> str:
    """Render a time for a person: JST, to the minute."""
    return moment.astimezone(JST).strftime("%Y-%m-%d %H:%M JST") if moment else "never"


def pnl(amount: Decimal | None) -> str:
    """Render a profit or loss with its sign: `+¥673`, `-¥5,705`, `¥0`."""
    return yen(amount, signed=True)


def price(value: Decimal | None) -> str:
    """Render a price or size as stored (Decimal text), or n/a."""
    return "n/a" if value is None else f"{value:,f}" if value >= 1000 else str(value)


def duration(delta: timedelta) -> str:
    """Render a duration as `2d 3h`, `3h 05m`, `12m` or `45s`."""
    seconds = int(delta.total_seconds())
    if seconds < 60:
        return f"{max(seconds, 0)}s"
    minutes, hours, days = seconds // 60 % 60, seconds // 3600 % 24, seconds // 86400
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"


def ratio(value: float | None, digits: int = 2) -> str:
    """Render a ratio, inf or n/a."""
    if value is None:
        return "n/a"
    return "∞" if math.isinf(value) else f"{value:.{digits}f}"


def percent(value: float | None, digits: int = 1) -> str:
    """Render a fraction as a percentage."""
    return "n/a" if value is None else f"{value * 100:.{digits}f}%"


def confidence_meaning(direction: str | None, label_move: float, horizon: timedelta) -> str:
    """Explain what the confidence number is a probability of (`label_move` is the retired v1 move size)."""
    way = "lower" if direction == "SHORT" else "higher"
    return f"calibrated probability that the price is {way} in {duration(horizon)}"


NO_EDGE = "no measured edge after costs"


def edge_line(reasons: list) -> str | None:
    """Return the warning line for a signal whose model has no measured edge after costs, else None."""
    for reason in reasons:
        if isinstance(reason, dict) and reason.get("rule") == "edge":
            detail = str(reason.get("detail", ""))
            return f"⚠️ {escape(detail)}" if detail.startswith(NO_EDGE) else None
    return None


def why_lines(features: dict, reasons: list) -> list[str]:
    """Render why a signal passed: the features that moved the model most, then the rules it cleared."""
    lines = [
        f"• {escape(name)} = {value:.4g} (pushed the score {push:+.3f})"
        for name, value, push in top_features(features)[:TOP_REASONS]
    ]
    for reason in reasons[:TOP_REASONS]:
        if isinstance(reason, dict):  # a rule check as the cycle stores it: {rule, ok, detail}
            reason = f"{reason.get('rule', '?')}: {reason.get('detail', '')}"
        lines.append(f"• {escape(str(reason))}")
    return lines


def top_features(features: dict) -> list[tuple[str, float, float]]:
    """Return (feature, value, contribution) from the cycle's `top` list (largest push first), or []."""
    top = features.get("top")
    rows = [
        (str(t.get("feature")), _float(t.get("value")), _float(t.get("contribution")))
        for t in (top if isinstance(top, list) else [])
        if isinstance(t, dict)
    ]
    return sorted(rows, key=lambda row: -abs(row[2]))


def _float(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


@dataclass(frozen=True)
class SignalContext:
    """What a signal message needs besides the signal: the clock, the label definition and the model's age."""

    now: datetime
    label_move: float
    horizon: timedelta
    model_trained_at: datetime | None
    price_note: str = ""


def signal_text(signal, ctx: SignalContext, footer: str | None = None) -> str:
    """Render a signal announcement (with a verdict footer once decided)."""
    arrow = "🟢 LONG" if signal.direction == "LONG" else "🔴 SHORT"
    conf = "n/a" if signal.confidence is None else f"{signal.confidence:.2f}"
    age = duration(ctx.now - ctx.model_trained_at) if ctx.model_trained_at else "unknown"
    lines = [
        f"<b>Signal #{signal.id} · {escape(signal.symbol)} {arrow}</b>",
        f"Confidence <b>{conf}</b> ({confidence_meaning(signal.direction, ctx.label_move, ctx.horizon)})",
        f"Entry {price(signal.entry_price)} · Stop {price(signal.stop_loss)}",
        f"TP1 {price(signal.take_profit_1)} · TP2 {price(signal.take_profit_2)}",
        f"Size {price(signal.size)} · Risk {yen(signal.risk_jpy)}",
    ]
    warning = edge_line(signal.reasons)
    if warning:
        lines.append(warning)
    why = why_lines(signal.features, signal.reasons)
    if why:
        lines += ["Why it passed:", *why]
    lines.append(
        f"Model {escape(signal.model_version)} (age {age}) · candle {jst(signal.candle_time)}"
    )
    if ctx.price_note:
        lines.append(f"<i>{escape(ctx.price_note)}</i>")
    if footer:
        lines += ["", footer]
    elif signal.expires_at:
        lines.append(
            f"⏳ {duration(signal.expires_at - ctx.now)} left (until {jst(signal.expires_at)}) · "
            f"/approve_{signal.id} /reject_{signal.id}"
        )
    return "\n".join(lines)


def verdict_footer(signal, detail: str = "") -> str:
    """Render the line that replaces the buttons once a signal is decided."""
    by = escape(str(signal.approved_by or ""))
    words = {
        signals.APPROVED: f"✅ Approved by {by} at {jst(signal.decided_at)}",
        signals.REJECTED: f"❌ Rejected by {by} at {jst(signal.decided_at)}",
        signals.EXPIRED: f"⌛ Expired at {jst(signal.decided_at)}: no decision within the approval window",
        signals.EXECUTED: f"✅ Approved by {by}; order placed",
        signals.BLOCKED: f"⛔ Approved by {by}; blocked by the risk manager",
        signals.FAILED: f"⚠️ Approved by {by}; execution failed",
    }
    text = words.get(signal.status, f"Status {escape(signal.status)}")
    return f"{text}\n{escape(detail)}" if detail else text


def refusal_text(signal_id: int, signal, now: datetime) -> str:
    """Explain why a decision changed nothing, from the signal's actual state."""
    if signal is None:
        return f"Signal #{signal_id} does not exist; nothing changed."
    if signal.status == signals.PENDING:
        return f"Signal #{signal_id} expired at {jst(signal.expires_at)}; nothing changed."
    by = f" by {escape(str(signal.approved_by))}" if signal.approved_by else ""
    when = f" at {jst(signal.decided_at)}" if signal.decided_at else ""
    return f"Signal #{signal_id} is already {escape(signal.status)}{by}{when}; nothing changed."


def pending_text(signals: Sequence, now: datetime) -> str:
    """Render the list of signals waiting for a decision."""
    if not signals:
        return "No signals are waiting for a decision."
    lines = [f"<b>{len(signals)} pending</b>"]
    for s in signals:
        lines.append(
            f"#{s.id} {escape(s.symbol)} {escape(s.direction or '')} conf {s.confidence or 0:.2f} · "
            f"{duration(s.expires_at - now)} left · /approve_{s.id} /reject_{s.id}"
        )
    return "\n".join(lines)


def positions_text(trades: Sequence) -> str:
    """Render open trades."""
    if not trades:
        return "No open positions."
    lines = [f"<b>{len(trades)} open</b>"]
    for t in trades:
        lines.append(
            f"#{t.id} {escape(t.symbol)} {escape(t.direction)} {price(t.size)} @ {price(t.entry_price)} "
            f"({escape(t.status)}) · stop {price(t.stop_loss)} · TP {price(t.take_profit_1)}/"
            f"{price(t.take_profit_2)} · since {jst(t.entry_time)} · time stop {jst(t.time_stop_at)}"
        )
    return "\n".join(lines)


@dataclass(frozen=True)
class StatusView:
    """What /status shows."""

    mode: str
    halted: bool
    halt_reason: str
    equity_jpy: Decimal | None
    open_positions: int
    unrealised_jpy: Decimal | None
    pnl_day_jpy: Decimal
    trades_today: int
    budget_day_left_jpy: Decimal | None
    budget_week_left_jpy: Decimal | None
    budget_month_left_jpy: Decimal | None
    last_cycle_at: datetime | None
    listener_beat_at: datetime | None
    now: datetime
    note: str = ""
    model_line: str = ""


def status_text(v: StatusView) -> str:
    """Render /status."""
    state = f"⛔ HALTED: {escape(v.halt_reason or 'no reason given')}" if v.halted else "▶️ RUNNING"
    lines = [
        f"<b>signaldesk</b> · mode <b>{escape(v.mode)}</b> · {state}",
        f"Equity {yen(v.equity_jpy)} · open positions {v.open_positions} (unrealised "
        f"{pnl(v.unrealised_jpy)})",
        f"Today: P/L {pnl(v.pnl_day_jpy)} · trades {v.trades_today}",
        f"Risk budget left: day {yen(v.budget_day_left_jpy)} · week {yen(v.budget_week_left_jpy)} "
        "· "
        f"month {yen(v.budget_month_left_jpy)}",
        f"Last good cycle: {jst(v.last_cycle_at)}{_ago(v.last_cycle_at, v.now)}",
        f"Listener heartbeat: {jst(v.listener_beat_at)}{_ago(v.listener_beat_at, v.now)}",
    ]
    if v.model_line:
        lines.append(escape(v.model_line))
    if v.note:
        lines.append(escape(v.note))
    return "\n".join(lines)


def _ago(moment: datetime | None, now: datetime) -> str:
    return f" ({duration(now - moment)} ago)" if moment else ""


def sample(count: int, noun: str = "trade") -> str:
    """Render a sample size: `1 trade`, `3 trades`."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def win_rate_text(stats) -> str:
    """Render a win rate with the trades it comes from."""
    if not stats.trades:
        return "win rate n/a (no trades)"
    return f"win rate {percent(stats.win_rate, 0)} ({stats.winners} of {sample(stats.trades)})"


def profit_factor_text(stats) -> str:
    """Render a profit factor with its sample, saying so when there is no winner or no loser."""
    if not stats.trades:
        return "profit factor n/a (no trades)"
    if stats.profit_factor is None:
        return f"profit factor n/a (none of {sample(stats.trades)} won or lost)"
    if stats.winners == 0:
        return f"profit factor 0 (no winner in {sample(stats.trades)})"
    if math.isinf(stats.profit_factor):
        return f"profit factor ∞ (no loser in {sample(stats.trades)})"
    return f"profit factor {stats.profit_factor:.2f} ({sample(stats.trades)})"


def sharpe_text(stats) -> str:
    """Render the per-trade Sharpe, only from 20 trades up."""
    if stats.sharpe is None:
        return f"Sharpe n/a ({sample(stats.trades)})"
    return f"Sharpe {stats.sharpe:.2f} per trade ({sample(stats.trades)})"


def fees_text(money) -> str:
    """Render a period's fees split into execution and leverage fees."""
    return (
        f"fees {yen(money.fees_jpy)} (execution {yen(money.execution_fees_jpy)}, leverage "
        f"{yen(money.leverage_fees_jpy)})"
    )


def trade_line(t) -> str:
    """Render one closed trade: id, symbol, direction, P/L, exit reason in words, fees."""
    lev = f", leverage {yen(t.leverage_fees_jpy)}" if t.leverage_fees_jpy else ""
    return (
        f"• #{t.id} {escape(t.symbol)} {escape(t.direction)} {pnl(t.pnl_jpy)} "
        f"({escape(exit_words(t.exit_reason))}; fees {yen(t.fees_jpy)}{lev})"
    )


def position_line(p: dict) -> str:
    """Render one open position of an equity snapshot."""
    return (
        f"• #{p['trade_id']} {escape(p['symbol'])} {escape(p['direction'])} {p['size']} @ "
        f"{yen(Decimal(p['entry_price']))}, marked {yen(Decimal(p['mark_price']))}: unrealised "
        f"{pnl(Decimal(p['unrealised_jpy']))}"
    )


def equity_lines(r) -> list[str]:
    """Render equity at the day's end, its change, and the positions open then."""
    if r.equity is None:
        return [
            "Equity at the day's end: n/a (no snapshot yet: the cycle writes one every 15 minutes)"
        ]
    change = r.equity_change_jpy
    lines = [
        f"Equity {yen(r.equity.equity_jpy)} at {r.equity.taken_at.astimezone(JST):%H:%M} JST "
        f"(the day's last snapshot; change {pnl(change)})",
        f"Open at the day's end: {len(r.equity.positions)} (unrealised "
        f"{pnl(r.equity.unrealised_jpy)})",
    ]
    return lines + [position_line(p) for p in r.equity.positions]


def missed_text(missed: dict) -> str:
    """Render the would-have outcomes of the day's rejected, expired and filtered signals."""
    parts = []
    for status, words in (
        (signals.REJECTED, "rejected"),
        (signals.EXPIRED, "expired"),
        (signals.FILTERED, "filtered"),
    ):
        group = missed[status]
        if group.count:
            waiting = (
                f", {group.count - group.resolved} not simulated yet"
                if group.resolved < group.count
                else ""
            )
            parts.append(f"{words} {group.count}: {pnl(group.pnl_jpy)}{waiting}")
    return "Would have made (the desk's own plan on the candles that followed): " + (
        "; ".join(parts) if parts else "no unchosen signals"
    )


def hit_rate_text(hits: int, scored: int, days: int | None, backtest: float | None) -> str:
    """Render the model's live hit rate with its sample and the backtested rate."""
    span = f", {days} days" if days else ""
    rate = percent(hits / scored, 0) if scored else "n/a"
    bt = f"; backtest {percent(backtest, 0)}" if backtest is not None else ""
    return f"Model hit rate {rate} ({hits} of {sample(scored, 'resolved signal')}{span}{bt})"


def report_text(r, risk_lines: Sequence[str], live_auc_days: int = 28, note: str = "") -> str:
    """Render the daily report of one JST day."""
    lines = [
        f"<b>Daily report {r.day.isoformat()} (JST)</b> · {escape(r.mode)}",
        f"P/L {pnl(r.money.net_jpy)} after {fees_text(r.money)}",
        f"Trades closed {len(r.trades)} (won {r.winning}, lost {r.losing})",
        *[trade_line(t) for t in r.trades],
        *equity_lines(r),
        f"Month to date {pnl(r.month.net_jpy)} · since the start {pnl(r.total.net_jpy)}"
        + (f" (deposit {yen(r.deposit.amount_jpy)})" if r.deposit else ""),
        f"All trades to date: {win_rate_text(r.stats)} · {profit_factor_text(r.stats)} · "
        f"max drawdown {yen(r.stats.max_drawdown_jpy)} · {sharpe_text(r.stats)}",
        f"Signals {r.signals_generated}: approved {r.signals_approved}, rejected "
        f"{r.signals_rejected}, "
        f"expired {r.signals_expired}",
        missed_text(r.missed),
        hit_rate_text(r.hits, r.scored, live_auc_days, r.backtest_hit_rate),
    ]
    notes = [f"<i>{escape(note)}</i>"] if note else []
    return "\n".join([*lines, *(escape(line) for line in risk_lines), *notes])


def help_text() -> str:
    """Render /help from the same list that set_my_commands registers."""
    lines = ["<b>Commands</b>"]
    lines += [f"/{name} — {escape(text)}" for name, text in BOT_COMMANDS]
    lines += [f"/{escape(name)} — {escape(text)}" for name, text in DYNAMIC_COMMANDS]
    return "\n".join(lines)


def alert_text(severity: str, kind: str, text: str) -> str:
    """Render an outbox alert."""
    icon = {"critical": "🚨", "warning": "⚠️"}.get(severity, "ℹ️")
    return f"{icon} <b>{escape(severity.upper())}</b> {escape(kind)}\n{escape(text)}"


def split_message(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Split text into chunks under `limit`, at line breaks where possible (lines are self-contained HTML)."""
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                chunks.append(current)
                current = ""
            cut = _safe_cut(line, limit)
            chunks.append(line[:cut])
            line = line[cut:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            candidate = line
        current = candidate
    if current or not chunks:
        chunks.append(current)
    return chunks


def _safe_cut(line: str, limit: int) -> int:
    """Return a cut position <= limit that does not split an HTML entity such as &amp;."""
    amp = line.rfind("&", max(0, limit - 8), limit)
    return amp if amp > 0 and ";" not in line[amp:limit] else limit
