"""A trade's thread in the trader's language: its status message (one message under the card, edited
as the trade moves), its closing message, and the notices execution sends (data, rendered here).

The status message is drawn from the rows (trade, orders, fills), never pieced together from
notices, so a lost edit is repaired by drawing it again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from html import escape

from bot.card_view import base_unit
from bot.views import direction_words
from signaldesk.columns import decimal_or_none, time_or_none
from signaldesk.execution.notices import Notice
from signaldesk.execution.records import TradeRow
from signaldesk.i18n import N_, Html, Words
from signaldesk.money import EXIT_WORDS

PURPOSES = {
    "entry": N_("entry"),
    "stop": N_("stop-loss"),
    "take_profit_1": N_("take-profit 1"),
    "take_profit_2": N_("take-profit 2"),
    "exit": N_("exit"),
}
SIDES = {"BUY": N_("buy"), "SELL": N_("sell")}


@dataclass(frozen=True)
class TradeState:
    """What a trade's status message is drawn from."""

    trade: TradeRow
    orders: Sequence
    fills: Sequence
    now: datetime
    leverage_fees: Decimal = Decimal(0)  # booked for this trade (signaldesk.ledger)


def exit_words(w: Words, reason: str | None) -> Html:
    """Return how a trade ended, in words."""
    return w.t(EXIT_WORDS[reason]) if reason in EXIT_WORDS else Html(escape(reason or "?"))


def title(w: Words, trade) -> Html:
    """Return the bold first line of a trade's messages."""
    return w.t("<b>Trade #{id} · {symbol} · {direction}</b>", id=trade.id, symbol=trade.symbol,
               direction=direction_words(w, trade.direction))  # fmt: skip


def status_text(w: Words, s: TradeState) -> Html:
    """Render a trade's status message: the order, the fill, the protection, what happened since."""
    trade, unit = s.trade, base_unit(s.trade.symbol)
    lines = [title(w, trade), *entry_lines(w, s, unit)]
    if trade.filled_size and trade.filled_size > 0:
        lines.append(w.t("🛡 Stop {stop} on the exchange · TP1 {tp1} · TP2 {tp2}",
                         stop=w.price(trade.stop_loss), tp1=w.price(trade.take_profit_1),
                         tp2=w.price(trade.take_profit_2)))  # fmt: skip
    lines += exit_fill_lines(w, s, unit)
    lines.append(state_line(w, s))
    return Html("\n".join(lines))


def entry_lines(w: Words, s: TradeState, unit: str) -> list[Html]:
    """Render the entry order (placed, re-quoted) and its fill."""
    entries = [o for o in s.orders if o.purpose == "entry"]
    if not entries:
        return [w.t("Entry order not recorded yet.")]
    first, last = entries[0], entries[-1]
    lines = [w.t("📤 Order placed {at}: post-only limit {side} {size} {unit} at {price}",
                 at=w.when(first.created_at, s.now), side=w.t(SIDES[first.side]),
                 size=w.number(first.size), unit=unit, price=w.price(first.price))]  # fmt: skip
    if len(entries) > 1:
        lines.append(w.tn("↻ Re-quoted {n} time; now at {price}",
                          "↻ Re-quoted {n} times; now at {price}", len(entries) - 1,
                          price=w.price(last.price)))  # fmt: skip
    fills = [f for f in s.fills if f.purpose == "entry"]
    if fills:
        size = sum((f.size for f in fills), Decimal(0))
        lines.append(w.t("✅ Filled {at}: {size} {unit} at {price}",
                         at=w.when(fills[-1].executed_at, s.now), size=w.number(size), unit=unit,
                         price=w.price(s.trade.entry_price)))  # fmt: skip
    return lines


def exit_fill_lines(w: Words, s: TradeState, unit: str) -> list[Html]:
    """Render every closing fill (take-profits, stop, exits) with its realised P/L."""
    lines = []
    for f in (f for f in s.fills if f.purpose != "entry"):
        lines.append(w.t("🎯 {purpose} {at}: {size} {unit} at {price} ({pnl})",
                         purpose=w.t(PURPOSES.get(f.purpose, f.purpose)),
                         at=w.when(f.executed_at, s.now), size=w.number(f.size), unit=unit,
                         price=w.price(f.price), pnl=w.yen(f.realized_pnl, signed=True)))  # fmt: skip
    if s.trade.tp1_done and s.trade.status == "open":
        lines.append(w.t("↕ Stop moved to break-even at {price}", price=w.price(s.trade.stop_loss)))
    return lines


def state_line(w: Words, s: TradeState) -> Html:
    """Render where the trade stands now."""
    trade = s.trade
    if trade.status == "pending":
        return w.t("⏳ Waiting for a fill (post-only: it only rests on the book).")
    if trade.status == "open":
        return w.t("⏱ Open · time stop {at} · /close_{id}", at=w.when(trade.time_stop_at, s.now),
                   id=trade.id)  # fmt: skip
    if trade.status == "cancelled":
        return w.t("❌ Cancelled before any fill: nothing was traded.")
    return w.t("🏁 Closed {at} by {reason}; the result is in the reply below.",
               at=w.when(trade.exit_time, s.now), reason=exit_words(w, trade.exit_reason))  # fmt: skip


def closed_text(w: Words, trade, now: datetime, leverage_fees: Decimal = Decimal(0)) -> Html:
    """Render the message that tells a trade's result (a reply under its card), naming leverage
    fees when the trade paid any."""
    held = (
        w.duration(trade.exit_time - trade.entry_time)
        if trade.entry_time and trade.exit_time
        else "?"
    )
    icon = "🟢" if (trade.pnl_jpy or 0) > 0 else "🔴" if (trade.pnl_jpy or 0) < 0 else "⚪"
    if leverage_fees:
        fees = w.t("Fees {fees} (leverage {leverage}) · held {held} · closed {at}",
                   fees=w.yen(trade.fees_jpy), leverage=w.yen(leverage_fees), held=held,
                   at=w.when(trade.exit_time, now))  # fmt: skip
    else:
        fees = w.t("Fees {fees} · held {held} · closed {at}", fees=w.yen(trade.fees_jpy),
                   held=held, at=w.when(trade.exit_time, now))  # fmt: skip
    return Html("\n".join([
        title(w, trade),
        w.t("{icon} Closed by {reason}: exit {price} · P/L {pnl} ({percent})", icon=icon,
            reason=exit_words(w, trade.exit_reason), price=w.price(trade.exit_price),
            pnl=w.yen(trade.pnl_jpy, signed=True),
            percent=w.percent(trade.pnl_pct, 2, signed=True)),
        fees,
    ]))  # fmt: skip


def close_button(w: Words) -> str:
    """Return the label of the Close button on a trade's status message."""
    return w.plain("Close this trade")


# ---- notices (data from signaldesk.execution.notices)
# -----------------------------------------------


def alert_body(w: Words, alert) -> Html | str:
    """Return an outbox alert's text: its notice in the trader's language when it was queued as one
    (issue 14's protection, halts and adopted positions), else its text as queued."""
    data = alert.notice or {}
    if data.get("kind") not in NOTICES:
        return alert.text
    notice = Notice(alert.text, data["kind"], data.get("trade_id"), **data.get("values", {}))
    return notice_text(w, notice)


def notice_text(w: Words, notice) -> Html:
    """Render one notice from execution in the trader's language (plain strings: escaped as they
    are)."""
    kind = getattr(notice, "kind", None)
    render = NOTICES.get(kind or "")
    if render is None:
        return Html(escape(str(notice), quote=False))
    return render(w, notice.trade_id, notice.values)


def _order(w: Words, v) -> dict:
    """Return an order's words for a notice."""
    return {"purpose": w.t(PURPOSES.get(v.get("purpose"), "?")), "side": w.t(SIDES.get(v.get("side"), "?")),
            "size": w.number(v.get("size")), "symbol": v.get("symbol", ""),
            "price": w.price(v.get("price")) if v.get("price") is not None else w.t("market")}  # fmt: skip


NOTICES = {
    "placed": lambda w, tid, v: w.t("Trade #{id}: {purpose} order placed: {side} {size} {symbol} at "
                                    "{price}.", id=tid, **_order(w, v)),
    "rejected": lambda w, tid, v: w.t("Trade #{id}: the exchange refused the {purpose} order ({side} "
                                      "{size} {symbol} at {price}): {error}", id=tid,
                                      error=v.get("error", ""), **_order(w, v)),
    "filled": lambda w, tid, v: w.t("Trade #{id}: {purpose} order filled at {fill}.", id=tid,
                                    fill=w.price(v.get("price")),
                                    **{k: x for k, x in _order(w, v).items() if k != "price"}),
    "ended": lambda w, tid, v: ended_text(w, tid, v),
    "withdrawn": lambda w, tid, v: w.t("Trade #{id}: the desk withdrew the {purpose} order: {why}.",
                                       id=tid, why=withdrawn_why(w, v.get("reason")),
                                       **_order(w, v)),
    "trailed": lambda w, tid, v: w.t("Trade #{id}: trailing stop moved to {price}.", id=tid,
                                     price=w.price(_dec(v.get("price")))),
    "closed_outside": lambda w, tid, v: (
        w.t("Trade #{id}: GMO's loss-cut closed position {position} (order {order}).", id=tid,
            position=v.get("position_id"), order=v.get("order_id"))
        if v.get("losscut") else
        w.t("Trade #{id}: position {position} was closed on the exchange, not by the desk "
            "(order {order}).", id=tid, position=v.get("position_id"), order=v.get("order_id"))),
    "close_followed": lambda w, tid, v: w.t("Trade #{id}: the desk now follows order {order} on "
                                            "its position.", id=tid, order=v.get("order_id")),
    "owner_unclear": lambda w, tid, v: w.t("Order {order} rests on a desk position, but which "
                                           "trade it belongs to is unclear.",
                                           order=v.get("order_id")),
    "answer_found": lambda w, tid, v: w.t("Trade #{id}: the exchange did not answer the {purpose} "
                                          "order, but it is on the exchange (order {order}).",
                                          id=tid,
                                          purpose=_purpose(w, v), order=v.get("order_id")),
    "never_placed": lambda w, tid, v: w.t("Trade #{id}: the exchange did not answer the {purpose} "
                                          "order and does not have it: treated as never placed.",
                                          id=tid, purpose=_purpose(w, v)),
    "management_back": lambda w, tid, v: w.tn(
        "Trade management sees the exchange again after {n} failed step.",
        "Trade management sees the exchange again after {n} failed steps.", int(v.get("count", 0))),
    "unprotected": lambda w, tid, v: unprotected_text(w, v),
    "management_halt": lambda w, tid, v: w.tn(
        "Trading halted: {n} management step in a row failed talking to the exchange (last: "
        "{error}). Open positions keep their exchange-side stops and loss-cuts; /resume lifts the "
        "halt once the exchange answers.",
        "Trading halted: {n} management steps in a row failed talking to the exchange (last: "
        "{error}). Open positions keep their exchange-side stops and loss-cuts; /resume lifts the "
        "halt once the exchange answers.", int(v.get("count", 0)), error=v.get("error", "")),
    "drawdown_halt": lambda w, tid, v: w.t(
        "Trading halted: maximum drawdown reached. Equity {equity} is {fall} below its peak of "
        "{peak} (limit {limit}). Open positions keep their stops; /resume lifts the halt.",
        equity=w.yen(_dec(v.get("equity"))), peak=w.yen(_dec(v.get("peak"))),
        fall=w.percent(_pct(v.get("fall")), 1), limit=w.percent(_pct(v.get("limit")), 0)),
    "loss_streak_pause": lambda w, tid, v: w.tn(
        "{n} losing trade in a row (the last closed {last}): new trades are paused until {until}.",
        "{n} losing trades in a row (the last closed {last}): new trades are paused until {until}.",
        int(v.get("losses", 0)), last=w.when(_time(v.get("last_loss_at"))),
        until=w.when(_time(v.get("paused_until")))),
    "adopted": lambda w, tid, v: adopted_text(w, tid, v),
    "trade_opened": lambda w, tid, v: w.t("Trade #{id} is open: {size} at {price}.", id=tid,
                                          size=w.number(v.get("filled_size")),
                                          price=w.price(v.get("entry_price"))),
    "stop_to_break_even": lambda w, tid, v: w.t("Trade #{id}: take-profit 1 done; stop moved to "
                                                "break-even at {price}.", id=tid,
                                                price=w.price(v.get("price"))),
    "trade_closed": lambda w, tid, v: w.t("Trade #{id} closed by {reason}: exit {price}, P/L {pnl}.",
                                          id=tid, reason=exit_words(w, v.get("exit_reason")),
                                          price=w.price(v.get("exit_price")),
                                          pnl=w.yen(v.get("pnl_jpy"), signed=True)),
    "moved": lambda w, tid, v: w.t("Trade #{id}: {purpose} moved to {price}.", id=tid,
                                   purpose=w.t(PURPOSES.get(v.get("purpose"), "?")),
                                   price=w.price(v.get("price"))),
    "trade_cancelled": lambda w, tid, v: w.t("Trade #{id} cancelled: the entry did not fill within "
                                             "the window.", id=tid),
}  # fmt: skip


def _dec(value) -> Decimal | None:
    """Return a notice value as a Decimal (alerts come back from the outbox as text)."""
    return value if isinstance(value, Decimal) else decimal_or_none(value)


def _pct(value) -> Decimal | None:
    """Return a fraction (0.2) as percent (20)."""
    fraction = _dec(value)
    return None if fraction is None else fraction * 100


def _time(value) -> datetime | None:
    """Return a notice value as a time (alerts come back from the outbox as text)."""
    return value if isinstance(value, datetime) or value is None else time_or_none(str(value))


def _purpose(w: Words, v) -> Html:
    """Return an order's purpose in words."""
    return w.t(PURPOSES.get(v.get("purpose"), "?"))


# Why the exchange ended an order (GMO's cancelType).
ENDED_WHY = {
    "EXPIRED_SOK": N_("it would have taken liquidity (post-only)"),
    "EXPIRED_FAK": N_("the price moved away before it filled"),
    "USER": N_("cancelled outside the desk (GMO website or another API client)"),
}
# Why the desk withdrew one of its orders (execution's cancel reasons).
WITHDRAWN_WHY = {
    "exit requested": N_("an exit was requested"),
    "entry window ended": N_("the entry window ended"),
    "stop larger than the position": N_("the stop was larger than the position"),
    "position already closed": N_("the position is already closed"),
    "trade closed": N_("the trade is closed"),
    "trade cancelled": N_("the trade is cancelled"),
    "/stop": N_("/stop"),
    "cancelled by the desk": N_("cancelled by the desk"),
}
FREEING = "freeing size for the "


def ended_text(w: Words, tid, v) -> Html:
    """Render an order the exchange ended without a full fill, and why."""
    cancel_type = v.get("cancel_type") or ""
    if cancel_type in ENDED_WHY:
        return w.t("Trade #{id}: the {purpose} order ended without a full fill ({status}): {why}.",
                   id=tid, status=str(v.get("status", "")).lower(), why=w.t(ENDED_WHY[cancel_type]),
                   **_order(w, v))  # fmt: skip
    return w.t("Trade #{id}: the {purpose} order ended without a full fill ({status}).", id=tid,
               status=str(cancel_type or v.get("status", "")).lower(), **_order(w, v))  # fmt: skip


def withdrawn_why(w: Words, reason) -> Html:
    """Say why the desk withdrew an order (an unknown reason as it was recorded)."""
    reason = str(reason or "")
    if reason in WITHDRAWN_WHY:
        return w.t(WITHDRAWN_WHY[reason])
    if reason.startswith(FREEING):
        what = reason[len(FREEING) :]
        name = EXIT_WORDS.get(what) or PURPOSES.get(what)
        return w.t("freeing size for the {what}", what=w.t(name) if name else what)
    return Html(escape(reason, quote=False))


def unprotected_text(w: Words, v) -> Html:
    """Render the critical alert for open trades whose protection could not be confirmed."""
    names = ", ".join(f"#{i} {direction_words(w, d)} {s}" for i, d, s in v.get("trades", []))
    return w.t("Protection not confirmed for open trade(s) {names}: the exchange did not answer "
               "({error}). The stops and loss-cuts already on the exchange keep guarding; the desk "
               "keeps retrying.", names=names, error=v.get("error", ""))  # fmt: skip


def adopted_text(w: Words, tid, v) -> Html:
    """Render the critical alert for a position the desk did not open (adopted as a trade)."""
    what = (
        w.t("it is being closed at market ([risk] orphan_positions = close)")
        if v.get("closing")
        else w.t(
            "protected with a stop at {stop}; /positions shows it",
            stop=w.price(_dec(v.get("stop"))),
        )
    )
    return w.t("Position {position} ({side} {size} {symbol} at {price}) was on the exchange "
               "without a desk trade: adopted as trade #{id}, {what}.",
               position=v.get("position_id"), side=w.t(SIDES.get(v.get("side"), "?")),
               size=w.number(_dec(v.get("size"))),
               symbol=v.get("symbol", ""), price=w.price(_dec(v.get("price"))), id=tid,
               what=what)  # fmt: skip


def notices_text(w: Words, heading: Html, notices: Sequence) -> Html:
    """Render notices under a bold heading."""
    return Html("\n".join([Html(f"<b>{heading}</b>"), *(notice_text(w, n) for n in notices)]))
