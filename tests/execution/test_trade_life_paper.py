"""The full life of long and short leverage trades on the paper exchange over real candles, one per
exit reason."""

from __future__ import annotations

from decimal import Decimal

import pytest
from execution_harness import approved_signal, atr, find_start, open_desk, real_candles

from signaldesk.execution import close_trade, emergency_stop, execute_signal

SYMBOL = "BTC_JPY"


def moves(candles, s, sign):
    """Return per-bar (high, low, close) after candle s, measured from its close in the trade's
    direction."""
    base = candles[s].close
    out = []
    for c in candles[s + 1 : s + 19]:
        high, low = (c.high - base, c.low - base) if sign == 1 else (base - c.low, base - c.high)
        out.append((high, low, (c.close - base) * sign))
    return out


def entry_fills(m, a) -> bool:
    """The passive entry is traded through by the first bar."""
    return m[0][1] < -a * Decimal("0.05")


def hits_stop(m, a) -> bool:
    """Price falls through the stop with no close near take-profit 1 before."""
    for k in range(1, 15):
        if m[k][2] >= a * Decimal("1.8"):
            return False
        if m[k][1] < -a * Decimal("2.3"):
            return all(m[j][1] > -a * Decimal("1.8") for j in range(0, k)) and m[0][2] < a
    return False


def hits_tp1_whole(m, a) -> bool:
    """A close beyond take-profit 1, then a bar trading through the resting take-profit, no stop
    before."""
    for k in range(1, 13):
        if m[k][2] >= a * Decimal("2.3"):
            return (
                all(m[j][2] < a * Decimal("1.9") for j in range(k))
                and m[k + 1][0] > m[k][2] + a / 10
                and all(m[j][1] > -a * Decimal("1.6") for j in range(k + 2))
            )
    return False


def hits_tp2(m, a) -> bool:
    """Take-profit 1 fills, price never returns to break-even, then take-profit 2 fills."""
    k1 = next((k for k in range(1, 10) if m[k][2] >= a * Decimal("1.9")), None)
    if k1 is None or m[k1][2] < a * Decimal("2.3") or m[k1 + 1][0] <= m[k1][2] + a / 10:
        return False
    if not all(m[j][1] > -a * Decimal("1.6") for j in range(k1 + 1)):
        return False
    for k2 in range(k1 + 2, 14):
        if m[k2][2] >= a * Decimal("4.3"):
            return (
                m[k2 + 1][0] > m[k2][2] + a / 10
                and all(m[j][1] > a / 5 for j in range(k1 + 1, k2 + 2))
                and all(m[j][2] < a * Decimal("3.9") for j in range(k1, k2))
            )
    return False


def drifts(m, a) -> bool:
    """Price stays between stop and take-profit 1 for over four hours."""
    return all(m[j][1] > -a * Decimal("1.7") and m[j][2] < a * Decimal("1.7") for j in range(18))


def calm_start(m, a) -> bool:
    """Price stays well inside the levels for the first three bars."""
    return all(m[j][1] > -a * Decimal("1.5") and m[j][2] < a * Decimal("1.5") for j in range(3))


PATHS = {
    "stop_loss": hits_stop,
    "tp1": hits_tp1_whole,
    "tp2": hits_tp2,
    "time_stop": drifts,
    "manual": calm_start,
    "emergency": calm_start,
}


def start_for(direction: str, reason: str) -> int:
    """Return a moment in the real data after which the market gives this exit."""
    sign = 1 if direction == "LONG" else -1
    return find_start(
        SYMBOL, lambda c, s, a: entry_fills(m := moves(c, s, sign), a) and PATHS[reason](m, a)
    )


def desk_settings(make_settings, tmp_path, reason: str):
    """Return settings; for a whole take-profit 1, a config taking the full size there."""
    if reason != "tp1":
        return make_settings()
    config = tmp_path / "config.toml"
    config.write_text("[risk]\ntake_profit_1_fraction = 1.0\n", encoding="utf-8")
    return make_settings(SIGNALDESK_CONFIG=str(config))


def trade_row(db, trade_id):
    """Return a trade as a dict."""
    cursor = db.execute("SELECT * FROM trades WHERE id = ?", [trade_id])
    return dict(zip([d[0] for d in cursor.description], cursor.fetchone(), strict=True))


def assert_consistent(db, trade_id):
    """The closed trade agrees with its fills: sizes, P/L and nothing left on the exchange."""
    trade = trade_row(db, trade_id)
    fills = db.execute(
        "SELECT o.purpose, f.size, f.price, f.fee, f.realized_pnl FROM fills f JOIN orders o "
        "ON o.id = f.order_id WHERE o.trade_id = ?",
        [trade_id],
    ).fetchall()
    entered = sum(Decimal(f[1]) for f in fills if f[0] == "entry")
    exited = sum(Decimal(f[1]) for f in fills if f[0] != "entry")
    pnl = sum(Decimal(f[4] or 0) for f in fills) - sum(Decimal(f[3]) for f in fills)
    assert entered == exited == Decimal(trade["filled_size"]) > 0
    assert Decimal(trade["remaining_size"]) == 0
    assert Decimal(trade["pnl_jpy"]) == pnl
    assert (
        db.execute(
            "SELECT COUNT(*) FROM orders WHERE trade_id = ? AND status IN ('OPEN', 'PARTIAL', 'PLACING', "
            "'UNKNOWN')",
            [trade_id],
        ).fetchone()[0]
        == 0
    )


@pytest.mark.parametrize("direction", ["LONG", "SHORT"])
@pytest.mark.parametrize("reason", ["stop_loss", "tp1", "tp2", "time_stop", "manual", "emergency"])
def test_trade_lives_to_its_exit(db, make_settings, tmp_path, direction, reason):
    settings = desk_settings(make_settings, tmp_path, reason)
    index = start_for(direction, reason)
    candles = real_candles(SYMBOL)
    desk = open_desk(db, settings, SYMBOL, index)
    signal_id = approved_signal(db, SYMBOL, direction, candles[index], atr(candles, index))

    outcome = execute_signal(db, desk.exchange, settings, signal_id, desk.now)
    assert outcome.status == "EXECUTED", outcome
    if reason in ("manual", "emergency"):
        desk.step()
        desk.step()
        if reason == "manual":
            close_trade(db, desk.exchange, settings, outcome.trade_id, desk.now, "tester")
        else:
            emergency_stop(db, desk.exchange, settings, desk.now, "tester", flatten=True)
    desk.run_until_closed(outcome.trade_id)

    trade = trade_row(db, outcome.trade_id)
    assert (trade["status"], trade["exit_reason"]) == ("closed", reason)
    assert_consistent(db, outcome.trade_id)
    assert (
        db.execute("SELECT status FROM signals WHERE id = ?", [signal_id]).fetchone()[0]
        == "EXECUTED"
    )


def test_protective_stop_rests_on_the_exchange_once_the_entry_fills(db, make_settings):
    settings = make_settings()
    index = start_for("LONG", "time_stop")
    candles = real_candles(SYMBOL)
    desk = open_desk(db, settings, SYMBOL, index)
    outcome = execute_signal(
        db,
        desk.exchange,
        settings,
        approved_signal(db, SYMBOL, "LONG", candles[index], atr(candles, index)),
        desk.now,
    )
    desk.step()

    stops = [o for o in desk.exchange.active_orders(SYMBOL) if o.execution_type == "STOP"]
    trade = trade_row(db, outcome.trade_id)
    # two slices at the stop price covering the whole position: the half take-profit 1 closes, and
    # the rest
    filled, stop = Decimal(trade["filled_size"]), Decimal(trade["stop_loss"])
    share = (filled * settings.risk.take_profit_1_fraction).quantize(
        Decimal("0.001"), "ROUND_FLOOR"
    )
    assert sorted((o.side, o.size, o.price) for o in stops) == sorted(
        [("SELL", share, stop), ("SELL", filled - share, stop)]
    )


def test_take_profit_1_moves_the_stop_to_break_even(db, make_settings):
    settings = make_settings()
    index = start_for("LONG", "tp2")
    candles = real_candles(SYMBOL)
    desk = open_desk(db, settings, SYMBOL, index)
    outcome = execute_signal(
        db,
        desk.exchange,
        settings,
        approved_signal(db, SYMBOL, "LONG", candles[index], atr(candles, index)),
        desk.now,
    )
    notices = desk.run_until_closed(outcome.trade_id)

    trade = trade_row(db, outcome.trade_id)
    assert trade["tp1_done"] == 1
    assert Decimal(trade["stop_loss"]) >= Decimal(trade["entry_price"])
    assert any("break-even" in n for n in notices)
