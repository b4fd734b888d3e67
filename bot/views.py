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
    ("close_<id>", "close open trade <id> at market (asks you to confirm)"),
)
MODIFY_EXAMPLE = "/modify_12 size=0.002 entry=9900000 stop=9800000 tp1=10000000 tp2=10100000"


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
        signals.APPROVED: f"✅ Approved by {by} at {jst(signal.decided_at)}; checking risk and "
        "placing the order…",
        signals.REJECTED: f"❌ Rejected by {by} at {jst(signal.decided_at)}",
        signals.EXPIRED: f"⌛ Expired at {jst(signal.decided_at)}: no decision within the approval window",
        signals.EXECUTED: f"✅ Approved by {by}; entry order sent",
        signals.BLOCKED: f"⛔ Approved by {by}; blocked by the risk manager",
        signals.FAILED: f"⚠️ Approved by {by}; execution failed",
    }
    text = words.get(signal.status, f"Status {escape(signal.status)}")
    return f"{text}\n{escape(detail)}" if detail else text


def outcome_notice(signal, detail: str = "") -> str:
    """Render the message that tells the trader what became of a decided signal."""
    head = f"<b>Signal #{signal.id} · {escape(signal.symbol)} {escape(signal.direction or '')}</b>"
    return f"{head}\n{verdict_footer(signal, detail)}"


def decided_answer(signal) -> str:
    """Render the answer to the one decision that changed a signal (a tap's toast or a text
    reply)."""
    if signal.status == signals.APPROVED:
        return f"Signal #{signal.id} approved; checking risk and placing the order…"
    if signal.status == signals.BLOCKED:
        return (
            f"Signal #{signal.id} not traded: {escape(blocked_reason(signal))}. No order was sent."
        )
    return f"Signal #{signal.id} rejected; nothing will be traded."


def blocked_reason(signal) -> str:
    """Return the last reason noted on a signal (`blocked: ...`), without its prefix."""
    last = last_note(signal)
    return last.split(": ", 1)[-1] if ": " in last else last or "blocked"


def entry_line(trade_id: int, order) -> str:
    """Say where a recovered trade's entry order stands (told after a restart, from the rows)."""
    if order is None:
        return f"trade #{trade_id}: no entry order recorded"
    if order.status in ("PLACING", "UNKNOWN"):
        return (
            f"trade #{trade_id}: the bot stopped while sending the entry order; whether GMO has "
            "it is being checked with GMO (it is never sent twice)"
        )
    where = f" as {order.exchange_order_id}" if order.exchange_order_id else ""
    return f"trade #{trade_id}: entry order {order.status.lower()} on GMO{where}"


def last_note(signal) -> str:
    """Return the last thing execution noted on a signal (`failed: ...`, `trade #3`), or ''."""
    return (signal.decision_note or "").split(" | ")[-1]


def bad_id_text(command: str, raw: str) -> str:
    """Explain a signal or trade id that is not 1-18 ASCII digits."""
    shown = f" (got “{escape(raw[:40])}”)" if raw else ""
    return (
        f"/{command}_… needs an id of 1 to 18 digits 0-9, like /{command}_12{shown}. "
        "Nothing changed."
    )


def bad_button_text(data: str | None) -> str:
    """Explain a tap on a button this desk does not know or whose data is broken."""
    if not data:
        return "This button carries no data; nothing changed."
    return f"This button ({data[:40]}) is not one of the desk's; nothing changed."


def foreign_button_text(signal_id: int) -> str:
    """Explain a tap whose button names another signal than the card it sits on."""
    return (
        f"This button names signal #{signal_id}, but it is not on that signal's card; "
        "nothing changed."
    )


def modify_refusal(signal_id: int, reason: str) -> str:
    """Explain a refused /modify (the reason echoes the trader's input, so it is escaped)."""
    reason = escape(reason, quote=False)
    return f"/modify_{signal_id}: {reason}. Nothing changed. Example: {MODIFY_EXAMPLE}"


def modified_text(s) -> str:
    """Confirm a /modify that changed a pending signal."""
    return (
        f"Signal #{s.id} modified: entry {s.entry_price} · stop {s.stop_loss} · "
        f"TP {s.take_profit_1}/{s.take_profit_2} · size {s.size} · risk ¥{s.risk_jpy}. "
        f"Still pending: /approve_{s.id} "
        f"/reject_{s.id}"
    )


def execution_raised_text(signal_id: int, error: str) -> str:
    """Say that placing an order broke unexpectedly (the approval stands; the repair retries it)."""
    return (
        f"⚠️ Placing the order of signal #{signal_id} raised {escape(error)}; it stays APPROVED "
        "and is checked again by the next repair (start-up, or the exchange answering again). "
        "Details are in the bot log."
    )


RESUMED = "▶️ Trading resumed."
NOT_HALTED = "Trading was not halted; nothing changed."


def report_usage(latest) -> str:
    """Explain /report's argument."""
    return f"Usage: /report or /report YYYY-MM-DD (a finished day, {latest} or earlier)."


def error_text(error: str) -> str:
    """Tell the operator that a handler failed (details in the log)."""
    return f"⚠️ Something went wrong ({escape(error)}); details are in the bot log. Check /status."


HALT_NOTICES = (
    "Trading halted;",
    "Trading was already halted.",
)  # said by the first answer to /stop
WORKING_ON_IT = "Working on it; the result follows in the chat."
UNKNOWN_COMMAND = "I do not know that command; /help lists what I understand."
STOP_USAGE = (
    "Usage: /stop (halt, keep positions) or /stop flatten (halt and close them). Nothing changed."
)


def halted_text(halted_now: bool, flatten: bool) -> str:
    """Render the first answer to /stop: the halt is in force at once."""
    first = "⛔ Trading halted." if halted_now else "⛔ Trading was already halted."
    if flatten:
        return f"{first} Positions are kept unless you confirm closing them below."
    return f"{first} Cancelling resting entry orders…"


def stop_report_text(report, flatten: bool, notices: Sequence[str]) -> str:
    """Render what /stop did to orders and positions once the exchange answered."""
    lines = [f"Cancelled orders: {', '.join(f'#{i}' for i in report.cancelled_orders) or 'none'}."]
    if flatten:
        lines.append(
            f"Flattened trades: {', '.join(f'#{i}' for i in report.flattened_trades) or 'none'}."
        )
    else:
        lines.append("Positions kept (use /stop flatten to close them).")
    lines += [escape(n) for n in notices if not n.startswith(HALT_NOTICES)]
    return "\n".join([*lines, "/resume lifts the halt."])


def stop_unreached_text(error: str) -> str:
    """Say that /stop's cancellations wait for the exchange (the halt already holds)."""
    return (
        f"⚠️ The exchange did not answer ({escape(error)}); resting orders are not cancelled yet. "
        "The halt holds, and the desk cancels them as soon as the exchange answers."
    )


def flatten_prompt(open_trades: int, seconds: int) -> str:
    """Ask to confirm closing every open trade at market."""
    return (
        f"Close all {open_trades} open trade(s) at market? Tap Confirm within {seconds} s; "
        "otherwise they stay open with their stops."
    )


def close_prompt(trade, seconds: int) -> str:
    """Ask to confirm closing one trade at market."""
    return (
        f"Close trade #{trade.id} {escape(trade.symbol)} {escape(trade.direction)} "
        f"{price(trade.remaining_size or trade.size)} at market? Tap Confirm within {seconds} s."
    )


def close_title(trade_id: int) -> str:
    """Title of the report of a /close_<id>."""
    return f"Close trade #{trade_id}"


def close_failed(trade_id: int, error: str) -> str:
    """Say (plain text) that closing a trade did not go through."""
    return f"Closing trade #{trade_id} failed ({error}); try again."


def not_open_text(trade_id: int) -> str:
    """Say a trade cannot be closed because it is not open."""
    return f"Trade #{trade_id} is not open; nothing to close."


CONFIRM_WORDS = {
    "confirmed": "Confirmed; sending the close orders…",
    "cancelled": "Cancelled; nothing was closed.",
    "expired": "This confirmation has expired (or the bot restarted); nothing was done.",
    "used": "This confirmation was already answered; nothing more was done.",
    "foreign": "This button is not on its confirmation message; nothing was done.",
}


def notices_text(title: str, notices: Sequence[str]) -> str:
    """Render plain notices from execution under a bold title."""
    return "\n".join([f"<b>{escape(title)}</b>", *(escape(n) for n in notices)])


def unseen_alert(error: str) -> str:
    """Alert (plain text) that the desk cannot see the exchange."""
    return (
        f"The desk cannot see the exchange ({error}). Commands, alerts and /stop still work; no "
        "order is placed and trades are not checked until it answers. Retrying."
    )


EXCHANGE_BACK = "The exchange answers again; orders and positions are reconciled."


def repair_raised_alert(name: str, error: str) -> str:
    """Alert (plain text) that the start-up repair failed for a reason that is not the exchange."""
    return f"The start-up repair raised {name}: {error}; retrying. See the bot log."


def exchange_line(view, busy_since: datetime | None, now: datetime) -> str:
    """Render how the desk sees the exchange, for /status."""
    if view.failing_since is not None:
        return (
            f"⚠️ Exchange: cannot see it since {jst(view.failing_since)} "
            f"({escape(view.last_error)}); the desk retries and reconciles when it answers."
        )
    busy = f"; busy with an order since {jst(busy_since)}" if busy_since else ""
    if view.last_ok_at is None:
        return f"Exchange: not reached yet since the start{busy}"
    return f"Exchange: answering (last answer {jst(view.last_ok_at)}){busy}"


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
        lines.append(v.note)
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
