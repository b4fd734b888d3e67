"""End to end through the real PTB stack: /stop, /resume, /status, /report, /help, /modify,
/pending, /positions."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from bot.desk import on_exchange
from bot.main import COMMAND_HANDLERS
from bot.views import BOT_COMMANDS
from signaldesk.audit import events
from signaldesk.clock import JST, to_db, utc_now
from signaldesk.state import beat, trading_state
from tests.bot.harness import (
    ALICE,
    fixed_clock,
    running_desk,
    seed_signal,
    signal_row,
    texts_to,
)
from tests.bot.money_seed import seed_closed_trade, seed_snapshot, seed_would_have
from tests.fakes.telegram_server import message_update

NOON = datetime(2026, 3, 10, 12, 0, tzinfo=JST)
REPORT_MORNING = datetime(2026, 3, 10, 9, 0, tzinfo=JST)


async def ask(fake, text: str, n: int) -> str:
    """Send a command as Alice and return the n-th message the bot sent her."""
    fake.push_update(message_update(text, ALICE, ALICE))
    await fake.wait_for("sendMessage", n=n, where=lambda p: int(p["chat_id"]) == ALICE)
    return texts_to(fake, ALICE)[n - 1]


async def answer_to(fake, text: str, starts: str) -> str:
    """Send a command as Alice (unless `text` is empty) and return the first message to her starting
    `starts`."""
    if text:
        fake.push_update(message_update(text, ALICE, ALICE))

    def answered(p) -> bool:
        return int(p["chat_id"]) == ALICE and p["text"].startswith(starts)

    await fake.wait_for("sendMessage", where=answered)
    return next(t for t in texts_to(fake, ALICE) if t.startswith(starts))


def test_stop_halts_and_says_what_it_cancelled_and_kept(bot_settings, db, fake_telegram):
    # The halt is answered at once; what the exchange did follows (it may be busy with an order).
    async def scenario():
        async with running_desk(bot_settings, db):
            return await ask(fake_telegram, "/stop", 1), await answer_to(
                fake_telegram, "", "Cancelled"
            )

    halted, report = asyncio.run(scenario())
    state = trading_state(db)
    assert (state.halted, state.reason) == (True, f"/stop by {ALICE}")
    assert halted == "⛔ Trading halted. Cancelling resting entry orders…"
    assert report == (
        "Cancelled orders: none.\nPositions kept (use /stop flatten to close them).\n"
        "/resume lifts the halt."
    )
    assert events(db, "stop_command")[0]["detail"]["flatten"] is False


def test_stop_with_a_bad_argument_changes_nothing_and_resume_lifts_a_halt(
    bot_settings, db, fake_telegram
):
    async def scenario():
        async with running_desk(bot_settings, db):
            usage = await ask(fake_telegram, "/stop now", 1)
            halted = trading_state(db).halted
            await answer_to(fake_telegram, "/stop flatten", "Close all 0 open trades")
            resumed = await answer_to(fake_telegram, "/resume", "▶️")
            return usage, halted, resumed

    usage, halted_after_usage, resumed = asyncio.run(scenario())
    assert usage.startswith("Usage: /stop") and halted_after_usage is False
    assert resumed == "▶️ Trading resumed." and trading_state(db).halted is False


def test_status_shows_equity_pnl_trades_positions_and_health(bot_settings, db, fake_telegram):
    # P/L and trade counts come from the desk's fills (tests/risk); here a fresh paper desk shows
    # zeros.
    with db.conn:
        db.conn.execute(
            "INSERT INTO runs (kind, started_at, finished_at, status) VALUES ('cycle', ?, ?, 'ok')",
            [to_db(NOON - timedelta(minutes=15, seconds=5)), to_db(NOON - timedelta(minutes=15))],
        )
    beat(db, "listener", NOON - timedelta(minutes=1))

    async def scenario():
        async with running_desk(bot_settings, db, clock=fixed_clock(NOON)) as app:
            # /status waits 1 s for the exchange: let the start-up protection step finish first,
            # so a loaded machine cannot turn the figures into "n/a"
            await on_exchange(app.bot_data["desk"], lambda db, exchange: None)
            return await ask(fake_telegram, "/status", 1)

    lines = asyncio.run(scenario()).split("\n")
    assert lines[0] == "<b>signaldesk</b> · mode <b>paper</b> · ▶️ RUNNING"
    assert lines[1] == "Equity ¥1,000,000 · open positions 0 (unrealised ¥0)"  # the paper account
    assert lines[2] == "Today: P/L ¥0 · trades 0"
    assert lines[4] == "Last good cycle: 11:45 JST (15m ago)"  # today: the clock only
    assert lines[5] == "Listener heartbeat: 11:59 JST (1m ago)"


def seed_report_day(db) -> None:
    """Seed 2026-03-09 (JST): four closed trades with their fills, leverage fees (one for a trade
    still open at the day's end), equity snapshots, signals of every kind with would-have outcomes,
    model performance; plus neighbours."""
    day = datetime(2026, 3, 9, 0, 0, tzinfo=JST)
    for hours, gross, leverage in (
        (1, "3000", "0"),
        (5, "-1000", "0"),
        (12, "2000", "40"),
        (23.5, "-500", "0"),
    ):
        seed_closed_trade(db, day + timedelta(hours=hours), gross, fee="10", leverage_fee=leverage)
    seed_closed_trade(db, day - timedelta(minutes=1), "10000")  # 03-08 23:59 JST
    # 03-09 04:10 .. 03-10 00:10 JST: held across 06:00 on the 9th, so the 9th pays its fee
    # without the trade closing that day
    held = seed_closed_trade(
        db,
        day + timedelta(hours=24, minutes=10),
        "7000",
        leverage_fee="60",
        symbol="ETH_JPY",
        held=timedelta(hours=20),
        fee_at=day + timedelta(hours=6),
    )
    position = {
        "trade_id": held,
        "symbol": "ETH_JPY",
        "direction": "LONG",
        "size": "0.5",
        "entry_price": "362000",
        "mark_price": "361880",
        "unrealised_jpy": "-60",
    }
    seed_snapshot(db, day - timedelta(minutes=15), "1010000")
    seed_snapshot(db, day + timedelta(hours=12), "1012000")
    seed_snapshot(db, day + timedelta(hours=23, minutes=45), "1013300", "-60", [position])
    seed_snapshot(
        db, day + timedelta(hours=24, minutes=15), "1020000"
    )  # the next morning: not the day's
    kinds = (
        ("APPROVED", "LONG", None, None),
        ("EXECUTED", "LONG", None, None),
        ("REJECTED", "LONG", 0.004, ("closed", "-800")),
        ("REJECTED", "LONG", None, None),
        ("EXPIRED", "SHORT", -0.006, ("not_filled", "0")),
        ("LOGGED", "LONG", 0.01, None),
        ("FILTERED", "LONG", -0.02, ("closed", "300")),
    )
    for minute, (status, direction, outcome, would) in enumerate(kinds):
        signal_id = seed_signal(
            db,
            day + timedelta(hours=2, minutes=15 * minute),
            status=status,
            direction=direction,
            outcome_return=outcome,
        )
        if would:
            seed_would_have(db, signal_id, *would)
    with db.conn:
        for version, auc, n in (("v1", 0.60, 100), ("v2", 0.50, 300)):
            db.conn.execute(
                "INSERT INTO model_performance (date, model_version, symbol, direction, predictions, "
                "positives, auc, updated_at) VALUES ('2026-03-09', ?, 'BTC_JPY', 'LONG', ?, 10, ?, ?)",
                [version, n, auc, to_db(day)],
            )


def test_report_shows_the_previous_jst_day_and_writes_the_summary(bot_settings, db, fake_telegram):
    seed_report_day(db)

    async def scenario():
        async with running_desk(bot_settings, db, clock=fixed_clock(REPORT_MORNING)):
            text = await answer_to(fake_telegram, "/report", "<b>Daily report")
            photo = await fake_telegram.wait_for("sendPhoto")
            return text, photo[0]

    text, photo = asyncio.run(scenario())
    lines = text.split("\n")
    # money from the ledger: gross 3,500 - execution fees 40 - leverage fees 40 (trade #3) and 60
    # (the trade still open)
    assert lines[:4] == [
        "<b>Daily report 2026-03-09 (JST)</b> · paper",
        "P/L +¥3,360 after fees ¥140 (execution ¥40, leverage ¥100)",
        "Trades closed 4 (won 2, lost 2)",
        "• #1 BTC_JPY LONG (buy) +¥2,990 (take-profit 2; fees ¥10)",
    ]
    assert lines[5] == "• #3 BTC_JPY LONG (buy) +¥1,950 (take-profit 2; fees ¥50, leverage ¥40)"
    # equity is the day's last snapshot (23:45 JST), not the next morning's: +3,360 realised and
    # -60 unrealised
    assert lines[7:10] == [
        "Equity ¥1,013,300 at 23:45 JST (the day's last snapshot; change +¥3,300)",
        "Open at the day's end: 1 (unrealised -¥60)",
        "• #6 ETH_JPY LONG (buy) 0.5 at ¥362,000, marked ¥361,880: unrealised -¥60",
    ]
    # the month and all time add the 03-08 trade (+10,000); the 03-10 trade is after the day
    assert lines[10] == "Month to date +¥13,360 · since the start +¥13,360 (deposit ¥1,000,000)"
    # 5 trades to the day's end: 10,000 2,990 -1,010 1,950 -510 -> PF 14,940 / 1,520; no Sharpe
    # below 20 trades
    assert lines[11] == (
        "All trades to date: win rate 60% (3 of 5 trades) · profit factor 9.83 (5 trades) · "
        "max drawdown ¥1,010 · Sharpe n/a (5 trades)"
    )
    assert (
        lines[12] == "Signals 5: approved 2, rejected 2, expired 1"
    )  # LOGGED/FILTERED: not proposals
    assert lines[13] == (
        "Would have made (the desk's own plan on the candles that followed): rejected 2: -¥800, 1 "
        "not "
        "simulated yet; expired 1: ¥0; filtered 1: +¥300"
    )
    assert lines[14] == "Model hit rate 67% (2 of 3 resolved signals, 28 days; backtest 62%)"
    assert photo["photo"][:8] == b"\x89PNG\r\n\x1a\n"
    row = db.conn.execute(
        "SELECT total_trades, total_pnl_jpy, fees_jpy, max_drawdown_jpy, signals_generated, "
        "missed_return_pct, equity_jpy, model_auc FROM daily_summary WHERE date = '2026-03-09'"
    ).fetchone()
    # missed: -800 of the previous day's closing equity 1,010,000 = -0.0792 %
    assert (*row[:5], round(row[5], 4), row[6], round(row[7], 6)) == (
        4,
        "3360",
        "140",
        "1010",
        5,
        -0.0792,
        "1013300",
        0.525,
    )


def test_report_refuses_a_day_that_is_not_finished(bot_settings, db, fake_telegram):
    async def scenario():
        async with running_desk(bot_settings, db, clock=fixed_clock(REPORT_MORNING)):
            return await ask(fake_telegram, "/report 2026-03-10", 1)

    assert asyncio.run(scenario()).startswith(
        "Usage: /report or /report YYYY-MM-DD (a finished day, 2026-03-09"
    )


def test_help_lists_exactly_the_registered_commands(bot_settings, db, fake_telegram):
    async def scenario():
        async with running_desk(bot_settings, db):
            return await ask(fake_telegram, "/help", 1)

    text = asyncio.run(scenario())
    calls = fake_telegram.calls_to("setMyCommands")
    menus = {c.get("language_code"): c["commands"] for c in calls}
    assert set(menus) == {"ja", "en", None}  # per language, and the desk's language for the rest
    registered = menus["en"]
    assert [(c["command"], c["description"]) for c in registered] == list(BOT_COMMANDS)
    assert menus[None] == registered  # these settings speak English
    assert [c["command"] for c in menus["ja"]] == [c["command"] for c in registered]
    assert menus["ja"][0]["description"].startswith("モード")
    listed = [
        line.split(" — ")[0][1:] for line in text.split("\n")[1:] if "_&lt;id&gt;" not in line
    ]
    assert listed == [c["command"] for c in registered]


def test_every_registered_command_has_a_handler():
    assert list(COMMAND_HANDLERS) == [name for name, _ in BOT_COMMANDS]


def test_modify_within_the_rules_recomputes_risk_and_stays_pending(bot_settings, db, fake_telegram):
    signal_id = seed_signal(db, utc_now())

    async def scenario():
        async with running_desk(bot_settings, db):
            await fake_telegram.wait_for("sendMessage")
            while signal_row(db, signal_id)["telegram_message_id"] is None:
                await asyncio.sleep(0.02)  # the card's id is stored just after it was sent
            text = await ask(fake_telegram, f"/modify_{signal_id} size=0.005 stop=9950000", 2)
            edits = await fake_telegram.wait_for("editMessageText")
            return text, edits[0]

    text, edit = asyncio.run(scenario())
    row = signal_row(db, signal_id)
    assert (row["status"], row["size"], row["stop_loss"], row["risk_jpy"]) == (
        "PENDING",
        "0.005",
        "9950000",
        "250.00",
    )  # 0.005 * 50000
    assert text.startswith(f"Signal #{signal_id} modified") and "at risk ¥250" in edit["text"]
    assert edit["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == f"approve:{signal_id}"


def test_modify_breaking_a_rule_or_malformed_changes_nothing(bot_settings, db, fake_telegram):
    signal_id = seed_signal(db, utc_now())

    async def scenario():
        async with running_desk(bot_settings, db):
            await fake_telegram.wait_for("sendMessage")
            await asyncio.sleep(0.2)  # the announcement's message id is stored
            before = signal_row(db, signal_id)
            wrong_side = await ask(fake_telegram, f"/modify_{signal_id} stop=10100000", 2)
            bigger = await ask(fake_telegram, f"/modify_{signal_id} size=0.02", 3)
            garbage = await ask(fake_telegram, f"/modify_{signal_id} size=abc", 4)
            return before, wrong_side, bigger, garbage

    before, wrong_side, bigger, garbage = asyncio.run(scenario())
    assert "stop 10100000 must be below entry 10000000 for a LONG" in wrong_side
    assert "size 0.020 must be between 0 and the proposed 0.01 (down only)" in bigger
    assert "size='abc' is not a number" in garbage
    assert signal_row(db, signal_id) == before


def test_pending_lists_what_waits_and_positions_says_none_are_open(bot_settings, db, fake_telegram):
    # a trade with a resting entry is listed by /positions in tests/bot/test_bot_execution_e2e.py
    signal_id = seed_signal(db, utc_now())

    async def scenario():
        async with running_desk(bot_settings, db):
            return (
                await answer_to(fake_telegram, "/pending", "<b>1 pending</b>"),
                await answer_to(fake_telegram, "/positions", "No open positions."),
            )

    pending, positions = asyncio.run(scenario())
    assert pending.startswith("<b>1 pending</b>") and f"/approve_{signal_id}" in pending
    assert positions == "No open positions."
