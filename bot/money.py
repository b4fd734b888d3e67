"""The money commands: /profit, /balance, /daily, /weekly, /monthly, /performance, /trades and
/stats.

Each reads the desk's ledger and equity snapshots in a worker thread (bot.desk.on_desk) and
answers in the chat it was asked in. A bad argument gets the usage and changes nothing.
"""

from __future__ import annotations

from bot.desk import Desk, desk_of, on_desk
from bot.money_views import (
    BalanceView,
    balance_text,
    performance_text,
    periods_text,
    profit_text,
    stats_text,
    trades_text,
)
from bot.send import send_text
from signaldesk.i18n import Html, Words

PERIOD_DEFAULTS = {"daily": ("day", 7, 90), "weekly": ("week", 8, 52), "monthly": ("month", 6, 24)}
TRADES_DEFAULT, TRADES_MAX = 10, 50
PROFIT_MAX_DAYS = 3650


def count_argument(args: list[str], default: int | None, maximum: int) -> int | None:
    """Return the one optional whole-number argument in 1..maximum, the default without one; raise
    ValueError."""
    if not args:
        return default
    if len(args) > 1 or not args[0].isdigit() or not 1 <= int(args[0]) <= maximum:
        raise ValueError(args)
    return int(args[0])


async def answer(update, context, text: Html) -> None:
    """Reply in the chat the command came from."""
    await send_text(context.bot, update.effective_chat.id, text)


async def with_count(
    update, context, command: str, default, maximum: int
) -> tuple[bool, int | None]:
    """Return (True, the count argument or its default), or answer with the usage and return (False,
    None)."""
    try:
        return True, count_argument(context.args, default, maximum)
    except ValueError:
        w = desk_of(context).words
        shown = w.t("all time") if default is None else w.t("default {n}", n=default)
        await answer(update, context, w.t("Usage: /{command} or /{command} N, N a whole number 1 "
                                          "to {maximum} ({shown}). Nothing changed.",
                                          command=command, maximum=maximum, shown=shown))  # fmt: skip
        return False, None


def gather_profit(db, desk: Desk, days: int | None, now):
    """Return /profit's numbers."""
    from signaldesk.periods import profit

    return profit(db, desk.settings.mode, now, days)


async def on_profit(update, context) -> None:
    """Answer /profit [days]."""
    ok, days = await with_count(update, context, "profit", None, PROFIT_MAX_DAYS)
    if not ok:
        return
    desk = desk_of(context)
    result = await on_desk(desk, gather_profit, desk, days, desk.clock())
    await answer(update, context, profit_text(desk.words, result, days))


def gather_balance(db, desk: Desk, now) -> BalanceView:
    """Return /balance's numbers: the account now (from the exchange) and the deposit."""
    from signaldesk.equity import first_deposit
    from signaldesk.risk import risk_snapshot

    snap = risk_snapshot(db, desk.exchange, desk.settings, now)
    deposit = first_deposit(db, desk.settings.mode)
    live = desk.settings.mode == "live"
    equity = snap.account_equity_jpy or snap.equity_jpy  # not the live capital cap
    return BalanceView(
        desk.settings.mode,
        equity,
        equity - snap.unrealised_jpy,
        snap.unrealised_jpy,
        snap.open_positions,
        deposit.amount_jpy if deposit else None,
        deposit.at if deposit else None,
        desk.settings.golive.capital_cap_jpy if live else None,
        desk.settings.price_note,
    )


async def on_balance(update, context) -> None:
    """Answer /balance."""
    desk = desk_of(context)
    view = await on_desk(desk, gather_balance, desk, desk.clock())
    await answer(update, context, balance_text(desk.words, view))


def gather_periods(db, desk: Desk, unit: str, count: int, now):
    """Return the last `count` periods of a unit."""
    from signaldesk.periods import periods

    return periods(db, desk.settings.mode, now, unit, count, desk.settings.report.tz)


async def on_periods(update, context, command: str) -> None:
    """Answer /daily, /weekly or /monthly [n]."""
    unit, default, maximum = PERIOD_DEFAULTS[command]
    ok, count = await with_count(update, context, command, default, maximum)
    if not ok:
        return
    desk = desk_of(context)
    rows = await on_desk(desk, gather_periods, desk, unit, count, desk.clock())
    await answer(update, context, periods_text(desk.words, rows, unit))


async def on_daily(update, context) -> None:
    """Answer /daily [n]."""
    await on_periods(update, context, "daily")


async def on_weekly(update, context) -> None:
    """Answer /weekly [n]."""
    await on_periods(update, context, "weekly")


async def on_monthly(update, context) -> None:
    """Answer /monthly [n]."""
    await on_periods(update, context, "monthly")


def gather_performance(db, desk: Desk, now):
    """Return results per symbol and direction over every closed trade."""
    from signaldesk.periods import performance, profit

    return performance(profit(db, desk.settings.mode, now, None).trades)


async def on_performance(update, context) -> None:
    """Answer /performance."""
    desk = desk_of(context)
    if context.args:
        await answer(update, context, no_arguments(desk.words, "performance"))
        return
    rows = await on_desk(desk, gather_performance, desk, desk.clock())
    await answer(update, context, performance_text(desk.words, rows))


def gather_trades(db, desk: Desk, count: int, now):
    """Return the last closed trades."""
    from signaldesk.report import recent_trades

    return recent_trades(db, desk.settings.mode, count, now)


async def on_trades(update, context) -> None:
    """Answer /trades [n]."""
    ok, count = await with_count(update, context, "trades", TRADES_DEFAULT, TRADES_MAX)
    if not ok or count is None:  # /trades has a default: count is None only when refused
        return
    desk = desk_of(context)
    trades = await on_desk(desk, gather_trades, desk, count, desk.clock())
    await answer(update, context, trades_text(desk.words, trades, count))


def gather_stats(db, desk: Desk, now):
    """Give due signals their would-have outcomes, then return the 7-day, 30-day and all-time
    reviews."""
    from signaldesk.value import reviews
    from signaldesk.wouldhave import simulate_due

    simulate_due(db, desk.settings, now)
    return reviews(db, desk.settings, now)


async def on_stats(update, context) -> None:
    """Answer /stats."""
    desk = desk_of(context)
    if context.args:
        await answer(update, context, no_arguments(desk.words, "stats"))
        return
    reviews = await on_desk(desk, gather_stats, desk, desk.clock())
    await answer(update, context, stats_text(desk.words, reviews))


def no_arguments(w: Words, command: str) -> Html:
    """Return the usage of a command that takes no arguments."""
    return w.t("Usage: /{command} (no arguments). Nothing changed.", command=command)


MONEY_COMMANDS = {
    "profit": on_profit,
    "balance": on_balance,
    "daily": on_daily,
    "weekly": on_weekly,
    "monthly": on_monthly,
    "performance": on_performance,
    "trades": on_trades,
    "stats": on_stats,
}
