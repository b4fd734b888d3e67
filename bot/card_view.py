"""The signal card: what a trader checks before tapping, in the trader's language.

Symbol and direction, the order type, the price now and the entry, the stop and take-profits with
their distance in yen and percent and the reward-to-risk of each, the size with its unit and its
notional, the yen at risk, why the model leans this way in plain words (from the features'
definitions), the model's age from its newest training candle, and the decision deadline as an
absolute JST time.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from bot.views import direction_words, edge_line
from signaldesk.i18n import N_, Html, Words

TOP_REASONS = 4
# z_N: the return over N bars in units of a typical N-bar move (from the 96-bar volatility).
HORIZONS = {
    1: N_("the last 15 minutes"),
    4: N_("the last hour"),
    16: N_("the last 4 hours"),
    64: N_("the last 16 hours"),
    96: N_("the last 24 hours"),
}
RULES = {
    "spread": re.compile(r"spread ([0-9.]+) bps"),
    "volume": re.compile(r"volume ([0-9]+)%"),
}


@dataclass(frozen=True)
class SignalContext:
    """What a card needs besides the signal: the clock, the label horizon, the model's newest
    training candle, the price now (when read) and the approver's name."""

    now: datetime
    horizon: timedelta
    model_trained_at: datetime | None
    market: tuple[Decimal, datetime] | None = None
    by_name: str = ""
    price_note: str = ""  # the pairs behind converted prices (settings.price_note), else ""


def price_note_text(w: Words, note: str) -> Html:
    """Render where the prices come from when they are not GMO's (the pairs behind a converted
    stand-in, `settings.price_note`)."""
    return w.t("Prices: converted stand-in: Binance {pairs} x Fed monthly USD/JPY (not GMO prices)",
               pairs=note)  # fmt: skip


def base_unit(symbol: str) -> str:
    """Return the coin a symbol's size is counted in (BTC_JPY -> BTC)."""
    return symbol.split("_")[0]


def card_text(w: Words, signal, ctx: SignalContext, footer: Html | None = None) -> Html:
    """Render a signal card (with its verdict footer once decided)."""
    lines: list[Html | str] = [
        w.t("<b>Signal #{id} · {symbol} · {arrow} {direction}</b>", id=signal.id,
            symbol=signal.symbol, arrow="🟢" if signal.direction == "LONG" else "🔴",
            direction=direction_words(w, signal.direction)),
        order_line(w, signal.direction),
        *plan_lines(w, signal, ctx),
        confidence_line(w, signal, ctx.horizon),
    ]  # fmt: skip
    warning = edge_line(w, signal.reasons)
    if warning:
        lines.append(warning)
    why = why_lines(w, signal.features)
    if why:
        lines += [w.t("<b>Why</b>"), *why]
    rules = rules_line(w, signal.reasons)
    if rules:
        lines.append(rules)
    if calendar_unchecked(signal.reasons):
        lines.append(w.t("⚠️ The news calendar is missing or has nothing ahead: the news blackout "
                         "could not be checked (a warning only in paper mode)"))  # fmt: skip
    lines.append(model_line(w, signal, ctx))
    if ctx.price_note:
        lines.append(w.t("<i>{note}</i>", note=price_note_text(w, ctx.price_note)))
    if footer:
        lines += ["", footer]
    elif signal.expires_at:
        lines.append(w.t("⏳ Decide by {until} · /approve_{id} /reject_{id}",
                         until=w.when(signal.expires_at, ctx.now), id=signal.id))  # fmt: skip
    return Html("\n".join(lines))


def order_line(w: Words, direction: str | None) -> Html:
    """Render the order type the approval sends."""
    if direction == "SHORT":
        return w.t("Order: post-only limit sell (maker), never below the entry")
    return w.t("Order: post-only limit buy (maker), never above the entry")


def plan_lines(w: Words, signal, ctx: SignalContext) -> list[Html]:
    """Render the prices, distances, reward-to-risk, size, notional and yen at risk."""
    entry, stop = signal.entry_price, signal.stop_loss
    if entry is None or stop is None:
        return [w.t("No trade plan (entry or stop missing).")]
    lines = [price_now_line(w, signal, ctx)]
    lines.append(w.t("Stop {price} ({distance} · {percent})", price=w.price(stop),
                     **distance(w, entry, stop)))  # fmt: skip
    for name, target in (("TP1", signal.take_profit_1), ("TP2", signal.take_profit_2)):
        if target is None:
            continue
        lines.append(w.t("{name} {price} ({distance} · {percent}) · reward:risk {rr}", name=name,
                         price=w.price(target), rr=reward_to_risk(entry, stop, target),
                         **distance(w, entry, target)))  # fmt: skip
    if signal.size is not None:
        lines.append(w.t("Size {size} {unit} · notional {notional} · at risk {risk}",
                         size=w.number(signal.size), unit=base_unit(signal.symbol),
                         notional=w.yen(signal.size * entry), risk=w.yen(signal.risk_jpy)))  # fmt: skip
    return lines


def price_now_line(w: Words, signal, ctx: SignalContext) -> Html:
    """Render the price now (when read at announcement) and the entry."""
    entry = w.price(signal.entry_price)
    if ctx.market is None:
        return w.t("Entry {entry} (the close of the signal's candle)", entry=entry)
    price, at = ctx.market
    return w.t("Now {price} ({at}) · entry {entry}", price=w.price(price), at=w.when(at, ctx.now),
               entry=entry)  # fmt: skip


def distance(w: Words, entry: Decimal, level: Decimal) -> dict:
    """Return a level's distance from the entry in yen (per coin) and percent."""
    gap = level - entry
    return {"distance": w.yen(gap, signed=True), "percent": w.percent(gap / entry * 100, 2, True)}


def reward_to_risk(entry: Decimal, stop: Decimal, target: Decimal) -> str:
    """Return the reward-to-risk of a take-profit (1.0 = the same distance as the stop)."""
    risk = abs(entry - stop)
    return "n/a" if risk == 0 else f"{abs(target - entry) / risk:.1f}"


def confidence_line(w: Words, signal, horizon: timedelta) -> Html:
    """Render the confidence and what it is a probability of."""
    confidence = "n/a" if signal.confidence is None else f"{signal.confidence:.2f}"
    if signal.direction == "SHORT":
        return w.t("Confidence {confidence}: the calibrated probability that the price is lower "
                   "in {horizon}", confidence=confidence, horizon=w.span(horizon))  # fmt: skip
    return w.t("Confidence {confidence}: the calibrated probability that the price is higher in "
               "{horizon}", confidence=confidence, horizon=w.span(horizon))  # fmt: skip


def model_line(w: Words, signal, ctx: SignalContext) -> Html:
    """Render the model, how old its newest training candle is, and the signal's candle."""
    candle = w.when(signal.candle_time, ctx.now)
    if ctx.model_trained_at is None:
        return w.t("Model {model} (age unknown) · candle {candle}", model=signal.model_version,
                   candle=candle)  # fmt: skip
    return w.t("Model {model}: learned until {day} ({age} ago) · candle {candle}",
               model=signal.model_version, day=w.day(ctx.model_trained_at),
               age=w.age(ctx.now - ctx.model_trained_at), candle=candle)  # fmt: skip


def calendar_unchecked(reasons: list) -> bool:
    """Return True when the news rule passed only because paper mode does not filter on a missing
    calendar (issue 14's fail-closed rule, a warning on the card)."""
    return any(isinstance(r, dict) and r.get("rule") == "news" and r.get("ok")
               and str(r.get("detail", "")).endswith("(warning only in paper mode)")
               for r in reasons)  # fmt: skip


def rules_line(w: Words, reasons: list) -> Html | None:
    """Render the rules the signal cleared in one line (spread and volume with their figures)."""
    checks = [r for r in reasons if isinstance(r, dict)]
    if not checks:
        return None
    figures = {}
    for check in checks:
        pattern = RULES.get(str(check.get("rule")))
        found = pattern.search(str(check.get("detail", ""))) if pattern else None
        if found:
            figures[check["rule"]] = found.group(1)
    passed = sum(bool(c.get("ok")) for c in checks)
    volume = f"{figures['volume']}%" if "volume" in figures else "?"
    return w.t("Rules: {passed} of {total} passed (spread {spread} bps, volume {volume} of its "
               "average)", passed=passed, total=len(checks), spread=figures.get("spread", "?"),
               volume=volume)  # fmt: skip


# ---- why, in plain words
# ---------------------------------------------------------------------------


def top_features(features: dict) -> list[tuple[str, float, float]]:
    """Return (feature, value, contribution) from the cycle's `top` list, largest push first."""
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


def why_lines(w: Words, features: dict) -> list[Html]:
    """Render the features that moved the model most, each in plain words with the way it points."""
    lines = []
    for name, value, push in top_features(features)[:TOP_REASONS]:
        way = w.t("▲ points to a rise") if push > 0 else w.t("▼ points to a fall")
        lines.append(Html(f"• {feature_words(w, name, value)} — {way}"))
    return lines


def feature_words(w: Words, name: str, value: float) -> Html:
    """Say what one feature's value means, from its definition (signaldesk/features.py)."""
    if name.startswith("z_") and name[2:].isdigit() and int(name[2:]) in HORIZONS:
        return move_words(w, HORIZONS[int(name[2:])], value)
    plain = {
        "log_vol_96": lambda: w.t("volatility over the last 24 hours: {percent} per 15 minutes",
                                  percent=w.percent(math.exp(value) * 100, 2)),
        "vol_ratio_16_96": lambda: w.t("volatility of the last 4 hours is {ratio}× that of the "
                                       "last 24 hours", ratio=f"{value:.1f}"),
        "rsi_14": lambda: rsi_words(w, value * 100),
        "bb_percent_b": lambda: w.t("the close sits at {percent} of its Bollinger band (0 = lower "
                                    "band, 100 = upper band)", percent=f"{value * 100:.0f}%"),
        "range_pos_16": lambda: w.t("the close sits at {percent} of the last 4 hours' range (0 = "
                                    "low, 100 = high)", percent=f"{value * 100:.0f}%"),
        "volume_ratio": lambda: w.t("volume is {ratio}× its 24-hour average",
                                    ratio=f"{value:.1f}"),
        "hour_utc": lambda: w.t("time of day: {hour}:00 JST",
                                hour=f"{(int(value * 24) + 9) % 24:02d}"),
    }  # fmt: skip
    if name in plain:
        return plain[name]()
    return w.t("{feature} = {value}", feature=name, value=f"{value:.4g}")


def move_words(w: Words, horizon: str, z: float) -> Html:
    """Say how far the price moved over a horizon, in typical moves."""
    if z >= 0:
        return w.t("the price rose over {horizon}: {z}× a typical move", horizon=w.t(horizon),
                   z=f"{z:.1f}")  # fmt: skip
    return w.t("the price fell over {horizon}: {z}× a typical move", horizon=w.t(horizon),
               z=f"{-z:.1f}")  # fmt: skip


def rsi_words(w: Words, rsi: float) -> Html:
    """Say where the RSI stands."""
    if rsi < 30:
        return w.t("RSI(14) at {rsi}: oversold", rsi=f"{rsi:.0f}")
    if rsi > 70:
        return w.t("RSI(14) at {rsi}: overbought", rsi=f"{rsi:.0f}")
    return w.t("RSI(14) at {rsi}: neither overbought nor oversold", rsi=f"{rsi:.0f}")
