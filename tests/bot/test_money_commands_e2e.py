"""The money commands end to end through the real PTB stack: /profit, /balance, /daily, /weekly,
/monthly, /performance, /trades and /stats on seeded ledger rows (synthetic, hand-made), and their
refusals."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from signaldesk.clock import JST
from tests.bot.harness import ALICE, fixed_clock, running_desk, seed_signal, texts_to
from tests.bot.money_seed import seed_closed_trade, seed_snapshot, seed_would_have
from tests.fakes.telegram_server import message_update

NOON = datetime(2026, 3, 10, 12, 0, tzinfo=JST)  # a Tuesday


def seed_month(db) -> None:
    """Seed trades over two months (one ETH short), daily equity snapshots, and decided signals."""
    day = datetime(2026, 3, 10, tzinfo=JST)
    seed_closed_trade(db, day - timedelta(days=19), "4000")  # 02-19, the month before
    seed_closed_trade(db, day - timedelta(days=8), "-1500", fee="20")  # 03-02, the week before
    seed_closed_trade(db, day - timedelta(hours=20), "2500", fee="10", leverage_fee="40")  # 03-09
    seed_closed_trade(
        db,
        day - timedelta(hours=2),
        "-700",
        symbol="ETH_JPY",
        direction="SHORT",
        reason="stop_loss",
    )  # 03-09 22:00
    seed_closed_trade(db, day + timedelta(hours=9), "900", reason="time_stop")  # 03-10 09:00
    for days, equity in ((20, "1000000"), (9, "1004000"), (2, "1002480"), (1, "1002480")):
        seed_snapshot(db, day - timedelta(days=days, minutes=15), equity)
    seed_snapshot(db, day - timedelta(minutes=15), "1004230")
    seed_snapshot(db, day + timedelta(hours=11), "1005130")
    for hours, status, outcome, would in (
        (-30, "EXECUTED", 0.004, None),
        (-26, "REJECTED", -0.003, ("closed", "-800")),
        (-22, "EXPIRED", 0.002, ("closed", "300")),
        (-3, "REJECTED", 0.001, ("not_filled", "0")),
    ):
        signal_id = seed_signal(
            db, day + timedelta(hours=hours), status=status, outcome_return=outcome
        )
        if would:
            seed_would_have(db, signal_id, *would)


async def command(fake, text: str) -> str:
    """Send a command as Alice; return the bot's next message to her."""
    sent = len(texts_to(fake, ALICE))
    fake.push_update(message_update(text, ALICE, ALICE))
    await fake.wait_for("sendMessage", n=sent + 1, where=lambda p: int(p["chat_id"]) == ALICE)
    return texts_to(fake, ALICE)[sent]


def ask_all(bot_settings, db, fake, *texts: str) -> list[str]:
    """Run the desk at NOON and send the commands one after another."""

    async def scenario():
        async with running_desk(bot_settings, db, clock=fixed_clock(NOON)):
            return [await command(fake, text) for text in texts]

    return asyncio.run(scenario())


def test_trades_lists_the_newest_closed_trades_with_exit_reasons_as_words(
    bot_settings, db, fake_telegram
):
    seed_month(db)
    (text,) = ask_all(bot_settings, db, fake_telegram, "/trades 2")
    assert text.split("\n") == [
        "<b>The last 2 trades</b> (asked for 2; newest first)",
        # times say their zone (issue 17: JST wherever a person sees a time)
        "03-10 09:00 JST #5 BTC_JPY LONG (buy) +¥900 (time stop; fees ¥0)",
        "03-09 22:00 JST #4 ETH_JPY SHORT (sell) -¥700 (stop-loss; fees ¥0)",
    ]


def test_daily_weekly_monthly_add_up_the_ledger_per_period(bot_settings, db, fake_telegram):
    seed_month(db)
    daily, weekly, monthly = ask_all(
        bot_settings, db, fake_telegram, "/daily 3", "/weekly 2", "/monthly 2"
    )
    assert daily.split("\n") == [
        "<b>Daily P/L, the last 3</b> (JST; newest first)",
        "2026-03-10: +¥900 (+0.09%) · 1 trade · fees ¥0 · equity ¥1,005,130",
        "2026-03-09: +¥1,750 (+0.17%) · 2 trades · fees ¥50 · equity ¥1,004,230",
        "2026-03-08: ¥0 (+0.00%) · 0 trades · fees ¥0 · equity ¥1,002,480",
        "Total +¥2,650",
    ]
    # the week from Monday 03-09; the week of 03-02 holds the -1,520 trade
    assert weekly.split("\n")[1:] == [
        "week of 2026-03-09: +¥2,650 (+0.26%) · 3 trades · fees ¥50 · equity ¥1,005,130",
        "week of 2026-03-02: -¥1,520 (-0.15%) · 1 trade · fees ¥20 · equity ¥1,002,480",
        "Total +¥1,130",
    ]
    assert monthly.split("\n")[1:3] == [
        "2026-03: +¥1,130 (+0.11%) · 4 trades · fees ¥70 · equity ¥1,005,130",
        "2026-02: +¥4,000 (+0.40%) · 1 trade · fees ¥0 · equity ¥1,004,000",
    ]


def test_profit_and_performance_give_their_sample_sizes(bot_settings, db, fake_telegram):
    seed_month(db)
    everything, last_day, performance = ask_all(
        bot_settings, db, fake_telegram, "/profit", "/profit 1", "/performance"
    )
    lines = everything.split("\n")
    assert lines[1] == "P/L +¥5,130 after fees ¥70 (execution ¥30, leverage ¥40)"
    assert lines[2].startswith("Closed 5 trades: won 3, lost 2 · average hold 2h 00m")
    assert lines[3] == (
        "Win rate 60% (3 of 5 trades) · profit factor 3.31 (5 trades) · max drawdown ¥1,520 · "
        "Sharpe n/a (5 trades)"
    )
    assert lines[-1] == "Against the deposit of ¥1,000,000: +0.51%"
    assert last_day.split("\n")[1] == "P/L +¥200 after fees ¥0 (execution ¥0, leverage ¥0)"
    assert performance.split("\n")[1:] == [
        "BTC_JPY LONG (buy): +¥5,830 · win rate 75% (3 of 4 trades) · profit factor 4.84 (4 trades) · "
        "fees ¥70",
        "ETH_JPY SHORT (sell): -¥700 · win rate 0% (0 of 1 trade) · profit factor 0 (no winner in 1 "
        "trade) · "
        "fees ¥0",
    ]


def test_balance_shows_the_paper_account_against_the_deposit(bot_settings, db, fake_telegram):
    (text,) = ask_all(bot_settings, db, fake_telegram, "/balance")
    lines = text.split("\n")
    assert lines[:3] == [
        "<b>Balance</b> · paper",
        "Paper money: a simulated account, no real yen at stake.",
        "Equity ¥1,000,000 = cash ¥1,000,000 + unrealised ¥0",
    ]
    assert lines[3].startswith("Deposit ¥1,000,000 on ") and lines[3].endswith("change ¥0 (+0.00%)")
    assert lines[4] == "No open positions."


def test_stats_shows_each_verdicts_outcomes_and_the_value_added(bot_settings, db, fake_telegram):
    seed_month(db)
    (text,) = ask_all(bot_settings, db, fake_telegram, "/stats")
    week = text.split("\n\n")[1].split("\n")
    assert week[:5] == [
        "<b>Last 7 days</b>",
        "Approved 1: ¥0",  # the seeded EXECUTED signal has no trade row
        "Rejected 2: would have made -¥800 (1 not filled)",
        "Expired 1: would have made +¥300",
        "Filtered at the last step 0",
    ]
    # turned down -800, 0 and +300: the person added +500
    assert week[5].startswith("Your value added +¥500 (95% bootstrap interval ")
    assert week[6] == "Model hit rate 75% (3 of 4 resolved signals; backtest 62%)"  # LONGs: 3 rose


@pytest.mark.parametrize(
    "text, usage",
    [
        ("/daily x", "Usage: /daily or /daily N, N a whole number 1 to 90 (default 7)"),
        ("/trades 0", "Usage: /trades or /trades N, N a whole number 1 to 50 (default 10)"),
        ("/profit 1 2", "Usage: /profit or /profit N, N a whole number 1 to 3650 (all time)"),
        ("/performance BTC", "Usage: /performance (no arguments)"),
    ],
)
def test_bad_arguments_get_the_usage_and_change_nothing(
    bot_settings, db, fake_telegram, text, usage
):
    (answer,) = ask_all(bot_settings, db, fake_telegram, text)
    assert answer.startswith(usage) and answer.endswith("Nothing changed.")
