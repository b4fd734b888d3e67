"""Message text of the desk in the trader's language: verdicts, answers, refusals, status,
positions, the daily report, alerts, settings and help (HTML, values escaped).

Every function takes the `Words` of the desk's language first; the signal card lives in
`bot/card_view.py`, a trade's thread (status message, close message, notices) in
`bot/trade_view.py`. English is the language of the code; `signaldesk/locale` holds the Japanese.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from html import escape

from signaldesk import signals
from signaldesk.i18n import N_, Html, Words

MAX_MESSAGE = 4000  # Telegram allows 4096 characters after entity parsing; keep a margin
# The static commands: registered with set_my_commands (per language) and listed by /help.
BOT_COMMANDS: tuple[tuple[str, str], ...] = (
    ("status", N_("mode, halt state, equity, P/L, risk budget, cycle and listener health")),
    ("pending", N_("signals waiting for a decision")),
    ("positions", N_("open trades")),
    ("report", N_("daily report of the previous JST day (or /report YYYY-MM-DD)")),
    ("profit", N_("P/L after fees, win rate, profit factor: all time, or /profit DAYS")),
    ("balance", N_("equity, cash, open positions with unrealised P/L, against the deposit")),
    ("daily", N_("P/L per JST day: the last 7 days, or /daily N")),
    ("weekly", N_("P/L per week from Monday: the last 8 weeks, or /weekly N")),
    ("monthly", N_("P/L per month: the last 6 months, or /monthly N")),
    ("performance", N_("P/L per symbol and direction")),
    ("trades", N_("the last 10 closed trades, or /trades N")),
    ("stats", N_("what you add: approved vs rejected vs expired signals, would-have outcomes")),
    ("stop", N_("emergency stop: halt and cancel resting entries (/stop flatten also closes)")),
    ("resume", N_("lift a halt")),
    ("settings", N_("language, active and quiet hours, how each message reaches you")),
    ("logs", N_("the last warnings and errors of the bot (/logs 20)")),
    ("version", N_("the desk's version, model and mode")),
    ("show_config", N_("the settings in force (never a secret)")),
    ("help", N_("this list")),
)
DYNAMIC_COMMANDS = (
    ("approve_<id>", N_("approve signal <id> (or tap Approve)")),
    ("reject_<id>", N_("reject signal <id> (or tap Reject)")),
    (
        "modify_<id> size=… entry=… stop=… tp1=… tp2=…",
        N_("adjust a pending signal (size down only)"),
    ),
    ("close_<id>", N_("close open trade <id> at market (asks you to confirm; or tap Close)")),
)
MODIFY_EXAMPLE = "/modify_12 size=0.002 entry=9900000 stop=9800000 tp1=10000000 tp2=10100000"
NO_EDGE = "no measured edge after costs"


def direction_words(w: Words, direction: str | None) -> Html:
    """Return a trade direction as the trader says it (`LONG (buy)` / `ロング（買い）`)."""
    if direction == "LONG":
        return w.t("LONG (buy)")
    if direction == "SHORT":
        return w.t("SHORT (sell)")
    return w.t("n/a")


def status_words(w: Words, status: str) -> Html:
    """Return a signal status in words."""
    names = {
        signals.PENDING: N_("pending"),
        signals.APPROVED: N_("approved"),
        signals.REJECTED: N_("rejected"),
        signals.EXPIRED: N_("expired"),
        signals.FILTERED: N_("filtered"),
        signals.EXECUTED: N_("executed"),
        signals.BLOCKED: N_("blocked"),
        signals.FAILED: N_("failed"),
    }
    return w.t(names[status]) if status in names else Html(escape(status))


def ratio(value: float | None, digits: int = 2) -> str:
    """Render a ratio, inf or n/a."""
    if value is None:
        return "n/a"
    return "∞" if math.isinf(value) else f"{value:.{digits}f}"


def edge_line(w: Words, reasons: list) -> Html | None:
    """Return the warning line of a signal whose model has no measured edge after costs, or None."""
    for reason in reasons:
        if isinstance(reason, dict) and reason.get("rule") == "edge":
            detail = str(reason.get("detail", ""))
            if detail.startswith(NO_EDGE):
                return w.t("⚠️ no measured edge after costs: decision support only")
            return None
    return None


# ---- verdicts and answers
# -------------------------------------------------------------------------


def verdict_footer(w: Words, signal, by_name: str, detail: Html | str = "") -> Html:
    """Render the line that replaces the buttons once a signal is decided."""
    by, at = by_name or str(signal.approved_by or ""), w.when(signal.decided_at)
    words = {
        signals.APPROVED: w.t("✅ Approved by {by} at {at}; checking risk and placing the order…",
                              by=by, at=at),
        signals.REJECTED: w.t("❌ Rejected by {by} at {at}", by=by, at=at),
        signals.EXPIRED: w.t("⌛ Expired at {at}: no decision within the approval window", at=at),
        signals.EXECUTED: w.t("✅ Approved by {by} at {at}; the order follows in the reply below",
                              by=by, at=at),
        signals.BLOCKED: w.t("⛔ Approved by {by}; blocked by the risk manager", by=by),
        signals.FAILED: w.t("⚠️ Approved by {by}; execution failed", by=by),
    }  # fmt: skip
    text = words.get(signal.status) or w.t("Status {status}", status=signal.status)
    return Html(f"{text}\n{_html(detail)}") if detail else text


def _html(text: Html | str) -> Html:
    """Return text as HTML (escaping plain text)."""
    return text if isinstance(text, Html) else Html(escape(text, quote=False))


def held_footer(w: Words, active_hours: str) -> Html:
    """Render the line of a signal announced silently outside the active hours."""
    return w.t("🌙 Outside your active hours ({hours} JST): sent without sound", hours=active_hours)


def decided_answer(w: Words, signal) -> Html:
    """Render the answer to the one decision that changed a signal (a tap's toast or a reply)."""
    if signal.status == signals.APPROVED:
        return w.t("Signal #{id} approved; checking risk and placing the order…", id=signal.id)
    if signal.status == signals.BLOCKED:
        return w.t("Signal #{id} not traded: {reason}. No order was sent.", id=signal.id,
                   reason=blocked_reason(w, signal))  # fmt: skip
    return w.t("Signal #{id} rejected; nothing will be traded.", id=signal.id)


def blocked_reason(w: Words, signal) -> Html:
    """Return why a signal was blocked or failed, from the last note execution made on it."""
    last = last_note(signal)
    reason = last.split(": ", 1)[-1] if ": " in last else last
    if reason.startswith("trading is halted"):
        return w.t("trading is halted ({why}); /resume lifts the halt",
                   why=reason[len("trading is halted (") :].split("); /resume")[0])  # fmt: skip
    return refusal_words(w, reason) if reason else w.t("blocked")


# issue 14's refusals (English sentences from signaldesk.risk), said in the trader's language
SYMBOL_HELD = re.compile(r"(\S+) already has open trade (.+) \(at most (\d+) per symbol\)\.?")
PAUSED = re.compile(r"(\d+) losing trades in a row \(the last closed (.+?)\): new trades are "
                    r"paused until (.+?)\.?")  # fmt: skip
OVER_LIMIT = re.compile(r"Position value above the limit: .*together ([\d,]+) JPY against ([\d,]+) "
                        r"JPY \((\d+)% of equity\)\.?")  # fmt: skip


def refusal_words(w: Words, reason: str) -> Html:
    """Say a risk refusal in the trader's language (issue 14's refusals), else as written."""
    if found := SYMBOL_HELD.fullmatch(reason):
        return w.t("{symbol} already has open trade {trades} (at most {n} per symbol)",
                   symbol=found[1], trades=found[2], n=found[3])  # fmt: skip
    if found := PAUSED.fullmatch(reason):
        return w.t("{n} losing trades in a row (the last closed {last}): new trades are paused "
                   "until {until}", n=found[1], last=found[2], until=found[3])  # fmt: skip
    if found := OVER_LIMIT.fullmatch(reason):
        return w.t("position value above the limit: {total} JPY with open trades against {cap} "
                   "JPY ({share} of equity)", total=found[1], cap=found[2],
                   share=f"{found[3]}%")  # fmt: skip
    return Html(escape(reason))


def outcome_text(w: Words, signal, detail: Html) -> Html:
    """Render the reply under a card that tells a BLOCKED or FAILED approval."""
    title = w.t("<b>Signal #{id} · {symbol} {direction}</b>", id=signal.id,
                symbol=signal.symbol, direction=direction_words(w, signal.direction))  # fmt: skip
    if signal.status == signals.BLOCKED:
        head = w.t("⛔ Not traded: blocked by the risk manager. No order was sent.")
    else:
        head = w.t("⚠️ Not traded: execution failed.")
    return Html(f"{title}\n{head}\n{detail}")


def entry_line(w: Words, trade_id: int, order) -> Html:
    """Say where a recovered trade's entry order stands (told after a restart, from the rows)."""
    if order is None:
        return w.t("trade #{id}: no entry order recorded", id=trade_id)
    if order.status in ("PLACING", "UNKNOWN"):
        return w.t("trade #{id}: the bot stopped while sending the entry order; whether GMO has it "
                   "is being checked with GMO (it is never sent twice)", id=trade_id)  # fmt: skip
    return w.t("trade #{id}: entry order {status} on GMO", id=trade_id,
               status=order_status_words(w, order.status))  # fmt: skip


def order_status_words(w: Words, status: str) -> Html:
    """Return an order status in words."""
    names = {
        "PLACING": N_("being sent"),
        "OPEN": N_("resting"),
        "PARTIAL": N_("partly filled"),
        "FILLED": N_("filled"),
        "CANCELED": N_("cancelled"),
        "EXPIRED": N_("expired"),
        "REJECTED": N_("refused"),
        "UNKNOWN": N_("unknown"),
    }
    return w.t(names[status]) if status in names else Html(escape(status.lower()))


def last_note(signal) -> str:
    """Return the last thing execution noted on a signal (`failed: ...`, `trade #3`), or ''."""
    return (signal.decision_note or "").split(" | ")[-1]


def bad_id_text(w: Words, command: str, raw: str) -> Html:
    """Explain a signal or trade id that is not 1-18 ASCII digits."""
    shown = w.t(" (got “{raw}”)", raw=raw[:40]) if raw else ""
    return w.t("/{command}_… needs an id of 1 to 18 digits 0-9, like /{command}_12{shown}. "
               "Nothing changed.", command=command, shown=Html(shown))  # fmt: skip


def bad_button_text(w: Words, data: str | None) -> Html:
    """Explain a tap on a button this desk does not know or whose data is broken."""
    if not data:
        return w.t("This button carries no data; nothing changed.")
    return w.t("This button ({data}) is not one of the desk's; nothing changed.", data=data[:40])


def foreign_button_text(w: Words, signal_id: int) -> Html:
    """Explain a tap whose button names another signal than the card it sits on."""
    return w.t("This button names signal #{id}, but it is not on that signal's card; "
               "nothing changed.", id=signal_id)  # fmt: skip


def modify_refusal(w: Words, signal_id: int, reason: str) -> Html:
    """Explain a refused /modify (the reason echoes the trader's input, so it is escaped)."""
    return w.t("/modify_{id}: {reason}. Nothing changed. Example: {example}", id=signal_id,
               reason=reason, example=MODIFY_EXAMPLE)  # fmt: skip


def modified_text(w: Words, s) -> Html:
    """Confirm a /modify that changed a pending signal."""
    return w.t("Signal #{id} modified: entry {entry} · stop {stop} · TP {tp1} / {tp2} · size "
               "{size} · at risk {risk}. Still pending: /approve_{id} /reject_{id}", id=s.id,
               entry=w.price(s.entry_price), stop=w.price(s.stop_loss),
               tp1=w.price(s.take_profit_1), tp2=w.price(s.take_profit_2),
               size=w.number(s.size), risk=w.yen(s.risk_jpy))  # fmt: skip


def execution_raised_text(w: Words, signal_id: int, error: str) -> Html:
    """Say that placing an order broke unexpectedly (the approval stands; the repair retries it)."""
    return w.t("⚠️ Placing the order of signal #{id} raised {error}; it stays APPROVED and is "
               "checked again by the next repair (start-up, or the exchange answering again). "
               "Details are in the bot log.", id=signal_id, error=error)  # fmt: skip


def refusal_text(w: Words, signal_id: int, signal, by_name: str = "") -> Html:
    """Explain why a decision changed nothing, from the signal's actual state."""
    if signal is None:
        return w.t("Signal #{id} does not exist; nothing changed.", id=signal_id)
    if signal.status == signals.PENDING:
        return w.t("Signal #{id} expired at {at}; nothing changed.", id=signal_id,
                   at=w.when(signal.expires_at))  # fmt: skip
    by = by_name or str(signal.approved_by or "")
    status = status_words(w, signal.status)
    if by and signal.decided_at:
        return w.t("Signal #{id} is already {status} by {by} at {at}; nothing changed.",
                   id=signal_id, status=status, by=by, at=w.when(signal.decided_at))  # fmt: skip
    return w.t("Signal #{id} is already {status}; nothing changed.", id=signal_id, status=status)


# ---- stop, resume, close, confirm
# -----------------------------------------------------------------

RESUMED = N_("▶️ Trading resumed.")
NOT_HALTED = N_("Trading was not halted; nothing changed.")
WORKING_ON_IT = N_("Working on it; the result follows in the chat.")
UNKNOWN_COMMAND = N_("I do not know that command; /help lists what I understand.")
STOP_USAGE = N_(
    "Usage: /stop (halt, keep positions) or /stop flatten (halt and close them). Nothing changed."
)
LOGS_USAGE = N_("Usage: /logs or /logs N (the last N warnings and errors, 1 to 50).")
CONFIRM_WORDS = {
    "confirmed": N_("Confirmed; sending the close orders…"),
    "cancelled": N_("Cancelled; nothing was closed."),
    "expired": N_("This confirmation has expired (or the bot restarted); nothing was done."),
    "used": N_("This confirmation was already answered; nothing more was done."),
    "foreign": N_("This button is not on its confirmation message; nothing was done."),
}
EXCHANGE_BACK = N_("The exchange answers again; orders and positions are reconciled.")


def report_usage(w: Words, latest) -> Html:
    """Explain /report's argument."""
    return w.t("Usage: /report or /report YYYY-MM-DD (a finished day, {latest} or earlier).",
               latest=latest.isoformat())  # fmt: skip


def error_text(w: Words, error: str) -> Html:
    """Tell the operator that a handler failed (details in the log)."""
    return w.t("⚠️ Something went wrong ({error}); details are in the bot log. Check /status.",
               error=error)  # fmt: skip


def halted_text(w: Words, halted_now: bool, flatten: bool) -> Html:
    """Render the first answer to /stop: the halt is in force at once."""
    first = w.t("⛔ Trading halted.") if halted_now else w.t("⛔ Trading was already halted.")
    if flatten:
        return Html(f"{first} {w.t('Positions are kept unless you confirm closing them below.')}")
    return Html(f"{first} {w.t('Cancelling resting entry orders…')}")


def id_list(w: Words, ids: Sequence[int]) -> Html:
    """Return `#1, #2` or none."""
    return Html(", ".join(f"#{i}" for i in ids)) if ids else w.t("none")


def stop_report_text(w: Words, report, flatten: bool, notices: Sequence[Html]) -> Html:
    """Render what /stop did to orders and positions once the exchange answered."""
    lines = [w.t("Cancelled orders: {ids}.", ids=id_list(w, report.cancelled_orders))]
    if flatten:
        lines.append(w.t("Flattened trades: {ids}.", ids=id_list(w, report.flattened_trades)))
    else:
        lines.append(w.t("Positions kept (use /stop flatten to close them)."))
    return Html("\n".join([*lines, *notices, w.t("/resume lifts the halt.")]))


def stop_unreached_text(w: Words, error: str) -> Html:
    """Say that /stop's cancellations wait for the exchange (the halt already holds)."""
    return w.t("⚠️ The exchange did not answer ({error}); resting orders are not cancelled yet. "
               "The halt holds, and the desk cancels them as soon as the exchange answers.",
               error=error)  # fmt: skip


def flatten_prompt(w: Words, open_trades: int, seconds: int) -> Html:
    """Ask to confirm closing every open trade at market."""
    return w.tn("Close the {n} open trade at market? Tap Confirm within {seconds} s; otherwise it "
                "stays open with its stop.",
                "Close all {n} open trades at market? Tap Confirm within {seconds} s; otherwise "
                "they stay open with their stops.", open_trades, seconds=seconds)  # fmt: skip


def close_prompt(w: Words, trade, seconds: int) -> Html:
    """Ask to confirm closing one trade at market."""
    size = trade.remaining_size or trade.size
    return w.t("Close trade #{id} {symbol} {direction} {size} at market? Tap Confirm within "
               "{seconds} s.", id=trade.id, symbol=trade.symbol,
               direction=direction_words(w, trade.direction), size=w.number(size),
               seconds=seconds)  # fmt: skip


def close_failed(w: Words, trade_id: int, error: str) -> Html:
    """Say that closing a trade did not go through."""
    return w.t("Closing trade #{id} failed ({error}); try again.", id=trade_id, error=error)


def not_open_text(w: Words, trade_id: int) -> Html:
    """Say a trade cannot be closed because it is not open."""
    return w.t("Trade #{id} is not open; nothing to close.", id=trade_id)


def confirm_buttons(w: Words) -> tuple[str, str]:
    """Return the labels of the Confirm / Cancel buttons."""
    return w.plain("Confirm"), w.plain("Cancel")


def decision_buttons(w: Words) -> tuple[str, str]:
    """Return the labels of the Approve / Reject buttons."""
    return w.plain("Approve"), w.plain("Reject")


# ---- exchange, alerts
# ------------------------------------------------------------------------------


def unseen_alert(w: Words, error: str) -> Html:
    """Alert that the desk cannot see the exchange."""
    return w.t("The desk cannot see the exchange ({error}). Commands, alerts and /stop still work; "
               "no order is placed and trades are not checked until it answers. Retrying.",
               error=error)  # fmt: skip


def repair_raised_alert(w: Words, name: str, error: str) -> Html:
    """Alert that the start-up repair failed for a reason that is not the exchange."""
    return w.t("The start-up repair raised {name}: {error}; retrying. See the bot log.", name=name,
               error=error)  # fmt: skip


def exchange_line(w: Words, view, busy_since: datetime | None, now: datetime) -> Html:
    """Render how the desk sees the exchange, for /status."""
    if view.failing_since is not None:
        return w.t("⚠️ Exchange: cannot see it since {since} ({error}); the desk retries and "
                   "reconciles when it answers.", since=w.when(view.failing_since, now),
                   error=view.last_error)  # fmt: skip
    busy = (
        w.t("; busy with an order since {since}", since=w.when(busy_since, now))
        if busy_since
        else ""
    )
    if view.last_ok_at is None:
        return w.t("Exchange: not reached yet since the start{busy}", busy=Html(busy))
    return w.t("Exchange: answering (last answer {at}){busy}", at=w.when(view.last_ok_at, now),
               busy=Html(busy))  # fmt: skip


ALERT_HEADS = {
    "critical": N_("🚨 <b>CRITICAL</b>"),
    "warning": N_("⚠️ <b>WARNING</b>"),
    "info": N_("ℹ️ <b>NOTE</b>"),
}
ALERT_KINDS = {
    "cycle_dead": N_("the cycle is silent"),
    "listener_dead": N_("the liquidation listener is silent"),
    "exchange": N_("exchange"),
    "repair": N_("start-up repair"),
    "reconcile": N_("reconciliation"),
    "manage_trades": N_("trade management"),
    "loss_limit": N_("loss limit"),
    "trade": N_("trade"),
    "model": N_("model"),
    "protection": N_("protection"),
    "api_failures": N_("exchange connection"),
    "max_drawdown": N_("maximum drawdown"),
    "loss_streak": N_("losing streak"),
    "adopted": N_("a position the desk did not open"),
}


def alert_text(w: Words, severity: str, kind: str, text: Html | str) -> Html:
    """Render an outbox alert: its level, what it is about, and its text."""
    head = w.t(ALERT_HEADS.get(severity, ALERT_HEADS["info"]))
    about = w.t(ALERT_KINDS[kind]) if kind in ALERT_KINDS else Html(escape(kind))
    return Html(f"{head} {about}\n{_html(text)}")


def deadman_text(w: Words, name: str, last: datetime | None, minutes: int) -> Html:
    """Render the dead-man alert of the cycle or the listener."""
    if name == "cycle":
        return w.t("Dead-man check: no cycle has succeeded since {since} (limit {minutes} min).",
                   since=w.when(last), minutes=minutes)  # fmt: skip
    return w.t("Dead-man check: the liquidation listener has not beaten since {since} (limit "
               "{minutes} min).", since=w.when(last), minutes=minutes)  # fmt: skip


# ---- reading
# ----------------------------------------------------------------------------------------


def pending_text(w: Words, pending: Sequence, now: datetime) -> Html:
    """Render the list of signals waiting for a decision."""
    if not pending:
        return w.t("No signals are waiting for a decision.")
    lines = [w.tn("<b>{n} pending</b>", "<b>{n} pending</b>", len(pending))]
    for s in pending:
        lines.append(w.t("#{id} {symbol} {direction} confidence {confidence} · decide by {until} · "
                         "/approve_{id} /reject_{id}", id=s.id, symbol=s.symbol,
                         direction=direction_words(w, s.direction),
                         confidence=f"{s.confidence or 0:.2f}",
                         until=w.when(s.expires_at, now)))  # fmt: skip
    return Html("\n".join(lines))


def positions_text(w: Words, trades: Sequence, now: datetime | None = None) -> Html:
    """Render open trades."""
    if not trades:
        return w.t("No open positions.")
    lines = [w.tn("<b>{n} open</b>", "<b>{n} open</b>", len(trades))]
    for t in trades:
        lines.append(w.t("#{id} {symbol} {direction} {size} at {entry} ({status}) · stop {stop} · "
                         "TP {tp1} / {tp2} · since {since} · time stop {time_stop} · /close_{id}",
                         id=t.id, symbol=t.symbol, direction=direction_words(w, t.direction),
                         size=w.number(t.size), entry=w.price(t.entry_price),
                         status=trade_status_words(w, t.status), stop=w.price(t.stop_loss),
                         tp1=w.price(t.take_profit_1), tp2=w.price(t.take_profit_2),
                         since=w.when(t.entry_time, now),
                         time_stop=w.when(t.time_stop_at, now)))  # fmt: skip
    return Html("\n".join(lines))


def trade_status_words(w: Words, status: str) -> Html:
    """Return a trade status in words."""
    names = {"pending": N_("entry resting"), "open": N_("open"), "closed": N_("closed"),
             "cancelled": N_("cancelled")}  # fmt: skip
    return w.t(names[status]) if status in names else Html(escape(status))


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


def status_text(w: Words, v: StatusView) -> Html:
    """Render /status."""
    if v.halted:
        state = w.t("⛔ HALTED: {reason}", reason=v.halt_reason or w.plain("no reason given"))
    else:
        state = w.t("▶️ RUNNING")
    lines = [
        w.t("<b>signaldesk</b> · mode <b>{mode}</b> · {state}", mode=v.mode, state=state),
        w.t("Equity {equity} · open positions {open} (unrealised {unrealised})",
            equity=w.yen(v.equity_jpy), open=v.open_positions,
            unrealised=w.yen(v.unrealised_jpy, signed=True)),
        w.t("Today: P/L {pnl} · trades {trades}", pnl=w.yen(v.pnl_day_jpy, signed=True),
            trades=v.trades_today),
        w.t("Risk budget left: day {day} · week {week} · month {month}",
            day=w.yen(v.budget_day_left_jpy), week=w.yen(v.budget_week_left_jpy),
            month=w.yen(v.budget_month_left_jpy)),
        w.t("Last good cycle: {at}{ago}", at=w.when(v.last_cycle_at, v.now),
            ago=_ago(w, v.last_cycle_at, v.now)),
        w.t("Listener heartbeat: {at}{ago}", at=w.when(v.listener_beat_at, v.now),
            ago=_ago(w, v.listener_beat_at, v.now)),
    ]  # fmt: skip
    lines += [_html(line) for line in (v.model_line, v.note) if line]
    return Html("\n".join(lines))


def _ago(w: Words, moment: datetime | None, now: datetime) -> Html:
    return w.t(" ({duration} ago)", duration=w.duration(now - moment)) if moment else Html("")


def model_line(w: Words, info, name: str, pinned: bool, now: datetime) -> Html:
    """Render the active model for /status and /version: name, newest training candle, edge."""
    if not info.usable:
        return w.t("Model {name}: not usable ({problem})", name=name, problem=info.problem)
    verdict = str((info.metadata.get("edge") or {}).get("verdict", ""))
    if verdict.startswith(NO_EDGE):
        edge = w.t("no measured edge after costs: decision support only")
    elif verdict:
        edge = w.t("edge after costs measured (see the model's report)")
    else:
        edge = w.t("edge after costs not measured")
    learned = w.day(info.trained_at) if info.trained_at else w.t("unknown")
    age = w.age(now - info.trained_at) if info.trained_at else w.t("unknown")
    text = w.t("Model {name}: learned until {day} ({age} ago) · {edge}", name=info.name,
               day=learned, age=age, edge=edge)  # fmt: skip
    return Html(f"{text} {w.t('(pinned by SIGNALDESK_MODEL)')}") if pinned else text


def help_text(w: Words) -> Html:
    """Render /help from the same list that set_my_commands registers."""
    lines = [w.t("<b>Commands</b>")]
    commands = BOT_COMMANDS + DYNAMIC_COMMANDS  # plain text, as set_my_commands sends them
    lines += [Html(f"/{escape(name)} — {escape(w.plain(text))}") for name, text in commands]
    return Html("\n".join(lines))


def split_message(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Split text into chunks under `limit`, at line breaks where possible (lines are
    self-contained HTML)."""
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
