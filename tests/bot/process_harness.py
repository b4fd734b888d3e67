"""The real `signaldesk bot` process (live mode) against the local Bot API and the fake GMO, killed
and flooded.

.venv/bin/python -m tests.bot.process_harness kill --runs 20        # SIGKILL at each point of an
approval
.venv/bin/python -m tests.bot.process_harness maintenance --minutes 10   # GMO down around a restart
.venv/bin/python -m tests.bot.process_harness flood --actions 1000  # taps and texts on one signal,
12 s order
.venv/bin/python -m tests.bot.process_harness busy                  # taps, commands, jobs during a
12 s order

Each prints a Markdown table. The bot runs as under systemd: its own interpreter, `python -m
jobs.cli bot`, killed with SIGKILL (no clean-up of any kind) or stopped with SIGTERM. Nothing leaves
127.0.0.1.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from signaldesk.clock import utc_now  # noqa: E402
from signaldesk.storage import apply_migrations, open_db  # noqa: E402
from tests.bot.harness import (  # noqa: E402
    ALICE,
    ENGLISH_ALL_DAY,
    GMO_BOOKS,
    TOKEN,
    live_env,
    seed_signal,
)
from tests.fakes.gmo_server import FakeGmo  # noqa: E402
from tests.fakes.live_desk import allow_live  # noqa: E402
from tests.fakes.telegram_server import (  # noqa: E402
    FakeTelegram,
    callback_update,
    fixture,
    message_update,
)

CONFIG = (
    "[bot]\nexchange_retry_seconds = 0.5\nexchange_retry_max_seconds = 2.0\n"
    "poll_timeout_seconds = 2\n" + ENGLISH_ALL_DAY
)
FINAL = ("EXECUTED", "BLOCKED", "FAILED", "REJECTED")


class Aborted(SystemExit):
    """Raised inside a fake's request hook so the request is dropped unanswered (the bot is dead).

    A SystemExit ends the fake's request thread without a printed traceback.
    """


@dataclass
class Rig:
    """The fakes, a migrated database in a temp dir, and the bot process's environment."""

    tmp: Path
    telegram: FakeTelegram = field(init=False)
    gmo: FakeGmo = field(init=False)
    started: float = 0.0

    def __post_init__(self):
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.telegram = FakeTelegram(TOKEN, fixture("getMe.json")["result"])
        self.gmo = FakeGmo()
        self.gmo.start()
        for symbol, (bid, ask) in GMO_BOOKS.items():
            self.gmo.set_book(symbol, bid=bid, ask=ask)
        self.db = open_db(self.tmp / "desk.sqlite3")
        apply_migrations(self.db)
        allow_live(self.db)
        (self.tmp / "config.toml").write_text(CONFIG, encoding="utf-8")

    def env(self) -> dict:
        """Return the bot's environment: the fakes' URLs, the temp files, placeholder secrets."""
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SIGNALDESK_", "GMO_", "TELEGRAM_"))
        }
        env.update(
            live_env(
                self.gmo, self.telegram.url, self.tmp / "desk.sqlite3", self.tmp / "config.toml"
            ),
            SIGNALDESK_LOG_DIR=str(self.tmp / "log"),
            PYTHONPATH=str(ROOT),
        )
        return env

    def start(self) -> subprocess.Popen:
        """Start `signaldesk bot`; return the process."""
        log = open(self.tmp / "bot.out", "ab")  # noqa: SIM115 - closed with the process
        self.started = time.monotonic()
        return subprocess.Popen(
            [sys.executable, "-m", "jobs.cli", "bot"], cwd=ROOT, env=self.env(),
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def status(self, signal_id: int) -> tuple[str, str | None]:
        """Return (status, told_status) of a signal."""
        return tuple(
            self.db.execute(
                "SELECT status, told_status FROM signals WHERE id = ?", [signal_id]
            ).fetchone()
        )

    def card(self, signal_id: int, timeout: float = 30) -> int:
        """Wait until the bot announced a signal; return its message id."""
        wait(lambda: self.message_id(signal_id) is not None, timeout, "the announcement")
        return self.message_id(signal_id)

    def message_id(self, signal_id: int) -> int | None:
        """Return a signal's card message id, if any."""
        row = self.db.execute(
            "SELECT telegram_message_id FROM signals WHERE id = ?", [signal_id]
        ).fetchone()
        return row[0]

    def tap(self, action: str, signal_id: int, message_id: int) -> tuple[str, int]:
        """Push a tap on a card; return its callback query id and update id."""
        update = callback_update(f"{action}:{signal_id}", ALICE, ALICE, message_id)
        return update["callback_query"]["id"], self.telegram.push_update(update)

    def outcome_notices(self, signal_id: int, since_call: int = 0) -> list[str]:
        """Return the outcome messages of a signal (its trade's status message under the card, or
        why it was not traded) sent after the `since_call`-th Bot API call."""
        # the card itself starts `<b>Signal #1 · BTC_JPY · 🟢`: not an outcome
        heads = (f"<b>Signal #{signal_id} · BTC_JPY LONG", "<b>Trade #")
        return [
            p["text"]
            for name, p in self.telegram.calls[since_call:]
            if name == "sendmessage" and p.get("text", "").startswith(heads)
        ]

    def orders_posted(self) -> int:
        """Return how many entry POSTs reached GMO."""
        return self.gmo.count("POST", "/v1/order")

    def close(self) -> None:
        """Stop the fakes and close the database."""
        self.telegram.close()
        self.gmo.stop()
        self.db.close()


def wait(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `check` every 20 ms until it is true; raise TimeoutError naming `what`."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return
        time.sleep(0.02)
    raise TimeoutError(f"timed out waiting for {what}")


def kill(process: subprocess.Popen) -> None:
    """SIGKILL the bot (no handler, no clean-up) and reap it."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def stop(process: subprocess.Popen) -> int:
    """SIGTERM the bot and return its exit code (SIGKILL after 30 s)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        kill(process)
        return -9


# ---- kill points ---------------------------------------------------------------------------------


def arm_kill(rig: Rig, point: str, box: dict, signal_id: int, update_id: int | None = None) -> None:
    """Set the hook that SIGKILLs the bot at `point` of the approval's life (once)."""

    def fire(abort: bool) -> None:
        if box.get("killed"):
            return
        box["killed"] = time.monotonic()
        kill(box["process"])
        if abort:
            raise Aborted(point)

    # point -> (when a GMO request (method, path) kills, when a Bot API call (method, params) kills,
    # abort?)
    gmo_points = {
        "reading the order book": lambda m, p: (
            p == "/v1/orderbooks" and rig.status(signal_id)[0] == "APPROVED"
        ),
        "order POST, unsent": lambda m, p: (m, p) == ("POST", "/v1/order"),
        "after the order, before the answer": lambda m, p: (
            p == "/v1/orders" and rig.orders_posted() > 0
        ),
    }
    telegram_points = {
        "outcome not yet told": lambda m, params: "📤 Order placed" in params.get("text", ""),
        "confirming the offset": lambda m, params: (
            m == "getupdates" and int(params.get("offset") or 0) > (update_id or 0)
        ),
    }
    abort = (
        point != "confirming the offset"
    )  # Telegram takes that confirmation; the bot dies right after

    def on_gmo(method: str, path: str) -> None:
        if point in gmo_points and gmo_points[point](method, path):
            fire(abort)
        elif point == "order POST, unanswered" and (method, path) == ("POST", "/v1/order"):
            threading.Timer(
                0.5, fire, [False]
            ).start()  # GMO takes the order; its answer never comes

    def on_telegram(method: str, params: dict) -> None:
        if point in telegram_points and telegram_points[point](method, params):
            fire(abort)

    if point == "order POST, unanswered":
        rig.gmo.timeout_sleep = 3.0
        rig.gmo.fail_next("/v1/order", "timeout")
    rig.gmo.on_request = on_gmo
    rig.telegram.on_call = on_telegram


def kill_run(point: str, tmp: Path) -> dict:
    """Approve one signal, SIGKILL the bot at `point`, restart it, and return what became of the
    approval."""
    rig = Rig(tmp)
    try:
        signal_id = seed_signal(rig.db, utc_now())
        box: dict = {}
        box["process"] = rig.start()
        message_id = rig.card(signal_id)
        holder = None
        if point == "before the decision is recorded":
            holder = open_db(tmp / "desk.sqlite3")  # another process holds the write lock
            holder.execute("BEGIN IMMEDIATE")
        query, update_id = rig.tap("approve", signal_id, message_id)
        arm_kill(rig, point, box, signal_id, update_id)
        if holder is not None:
            wait(
                lambda: rig.telegram.answer_latencies().get(query) is not None, 10, "the tap answer"
            )
            box["killed"] = time.monotonic()
            kill(box["process"])
            holder.execute("ROLLBACK")
            holder.close()
        wait(lambda: "killed" in box, 30, f"the kill point {point!r}")
        state_at_kill = rig.status(signal_id)
        rig.gmo.on_request, rig.telegram.on_call = None, None
        calls_before = len(rig.telegram.calls)
        restarted = rig.start()
        try:
            wait(lambda: told_after(rig, signal_id, calls_before), 60, "the outcome after restart")
        finally:
            code = stop(restarted)
        status, told = rig.status(signal_id)
        return {
            "point": point, "at_kill": state_at_kill[0], "status": status, "told": told == status,
            "notices_after_restart": len(rig.outcome_notices(signal_id, calls_before)),
            "posts": rig.orders_posted(), "orders_on_gmo": len(rig.gmo.orders),
            "stuck_approved": status == "APPROVED", "exit": code,
        }  # fmt: skip
    finally:
        rig.close()


def told_after(rig: Rig, signal_id: int, since_call: int) -> bool:
    """Return True once the signal is final, recorded as told, and an outcome notice went out after
    restart."""
    status, told = rig.status(signal_id)
    return status in FINAL and told == status and bool(rig.outcome_notices(signal_id, since_call))


KILL_POINTS = (
    "before the decision is recorded",
    "reading the order book",
    "order POST, unsent",
    "order POST, unanswered",
    "after the order, before the answer",
    "outcome not yet told",
    "confirming the offset",
)


def sweep_kills(runs: int, points=KILL_POINTS) -> list[dict]:
    """Run every kill point `runs` times; return one summary row per point."""
    rows = []
    for point in points:
        results = []
        for _ in range(runs):
            with tempfile.TemporaryDirectory() as tmp:
                results.append(kill_run(point, Path(tmp)))
        rows.append(summarise(point, results))
    return rows


def summarise(point: str, results: list[dict]) -> dict:
    """Count what the runs of one kill point did."""
    return {
        "point": point,
        "runs": len(results),
        "double_orders": sum(r["orders_on_gmo"] > 1 or r["posts"] > 1 for r in results),
        "stuck_approved": sum(r["stuck_approved"] for r in results),
        "told_after_restart": sum(r["told"] and r["notices_after_restart"] >= 1 for r in results),
        "told_twice": sum(r["notices_after_restart"] > 1 for r in results),
        "outcomes": sorted({r["status"] for r in results}),
        "orders_on_gmo": sorted({r["orders_on_gmo"] for r in results}),
    }


# ---- maintenance around a restart ----------------------------------------------------------------


def maintenance_run(minutes: float, tmp: Path) -> dict:
    """Place an entry, put GMO in maintenance, restart the bot inside it, use /status and /stop, end
    it."""
    rig = Rig(tmp)
    try:
        signal_id = seed_signal(rig.db, utc_now())
        bot = rig.start()
        rig.tap("approve", signal_id, rig.card(signal_id))
        wait(lambda: rig.outcome_notices(signal_id), 30, "the entry")
        rig.gmo.set_private_fault("maintenance")
        began = time.monotonic()
        kill(bot)  # a crash during maintenance; systemd starts it again
        bot = rig.start()
        seen = {"alert": timed(rig, "cannot see the exchange", 60)}
        for command, words in (("/status", "Exchange: cannot see it"), ("/stop", "Trading halted")):
            rig.telegram.push_update(message_update(command, ALICE, ALICE))
            seen[command] = timed(rig, words, 30)
        time.sleep(max(0.0, minutes * 60 - (time.monotonic() - began)))
        up = bot.poll() is None
        rig.gmo.set_private_fault(None)
        seen["reconciled"] = timed(rig, "answers again", 180)
        seen["cancelled"] = timed(rig, "Cancelled orders: #", 180)
        code = stop(bot)
        statuses = sorted(o["status"] for o in rig.gmo.orders.values())
        return {"minutes": minutes, "up_through_maintenance": up, "seconds_to": seen,
                "gmo_orders": statuses, "exit": code}  # fmt: skip
    finally:
        rig.close()


def timed(rig: Rig, words: str, timeout: float) -> float:
    """Return seconds since the bot started until a message containing `words` was sent."""
    wait(lambda: any(words in t for t in texts(rig)), timeout, repr(words))
    return round(time.monotonic() - rig.started, 1)


def texts(rig: Rig) -> list[str]:
    """Return every text the bot sent."""
    return [p.get("text", "") for name, p in list(rig.telegram.calls) if name == "sendmessage"]


# ---- a flood of decisions on one signal ----------------------------------------------------------


def flood_run(actions: int, spread_seconds: float, tmp: Path, order_seconds: float = 12.0) -> dict:
    """Send `actions` approve/reject taps and texts on one signal while the order POST takes
    `order_seconds`."""
    rig = Rig(tmp)
    try:
        rig.gmo.timeout_sleep = order_seconds
        rig.gmo.fail_next("/v1/order", "timeout")
        signal_id = seed_signal(rig.db, utc_now())
        bot = rig.start()
        message_id = rig.card(signal_id)
        taps = push_flood(rig, signal_id, message_id, actions, spread_seconds)
        wait(lambda: all_answered(rig, taps), 60 + spread_seconds, "every tap answer")
        wait(lambda: told_after(rig, signal_id, 0), order_seconds + 60, "the outcome")
        code = stop(bot)
        return flood_figures(rig, signal_id, taps, actions, spread_seconds, code)
    finally:
        rig.close()


def push_flood(rig: Rig, signal_id: int, message_id: int, actions: int, spread: float) -> list[str]:
    """Push the mixed taps and texts (seeded); return the taps' query ids."""
    chooser, taps = random.Random(15), []
    for _ in range(actions):
        action = chooser.choice(("approve", "reject"))
        if chooser.random() < 0.5:
            taps.append(rig.tap(action, signal_id, message_id)[0])
        else:
            rig.telegram.push_update(message_update(f"/{action}_{signal_id}", ALICE, ALICE))
        if spread:
            time.sleep(spread / actions)
    return taps


def all_answered(rig: Rig, taps: list[str]) -> bool:
    """Return True when every tap got an answer (accepted or too late)."""
    answered = {p["callback_query_id"] for p in rig.telegram.calls_to("answerCallbackQuery")}
    return answered.issuperset(taps)


def flood_figures(rig: Rig, signal_id, taps, actions, spread, code) -> dict:
    """Return the flood's figures: verdicts, orders, tap answer latencies."""
    latencies = rig.telegram.answer_latencies()
    answered = sorted(latencies[q] for q in taps if latencies.get(q) is not None)
    verdicts = rig.db.execute(
        "SELECT COUNT(*) FROM audit_log WHERE event IN ('approved', 'rejected')"
    ).fetchone()[0]
    return {
        "actions": actions, "spread_s": spread, "taps": len(taps), "verdicts": verdicts,
        "status": rig.status(signal_id)[0], "posts": rig.orders_posted(),
        "orders_on_gmo": len(rig.gmo.orders), "taps_answered_in_time": len(answered),
        "p50_s": percentile(answered, 50), "p99_s": percentile(answered, 99),
        "max_s": round(answered[-1], 3) if answered else None, "exit": code,
    }  # fmt: skip


def percentile(values: list[float], p: float) -> float | None:
    """Return the p-th percentile (nearest rank) of sorted values, rounded to the millisecond."""
    if not values:
        return None
    return round(values[min(len(values) - 1, max(0, round(p / 100 * len(values)) - 1))], 3)


# ---- the desk while an order takes 12 s ----------------------------------------------------------


def busy_run(tmp: Path, order_seconds: float = 12.0) -> dict:
    """Approve a signal whose order POST takes `order_seconds`; meanwhile tap another card, ask
    /status and /help, and let a new signal arrive: return how long each waited (the order still in
    flight)."""
    rig = Rig(tmp)
    try:
        rig.gmo.timeout_sleep = order_seconds
        rig.gmo.fail_next("/v1/order", "timeout")
        first, second = (
            seed_signal(rig.db, utc_now()),
            seed_signal(rig.db, utc_now(), symbol="ETH_JPY"),
        )
        bot = rig.start()
        cards = rig.card(first), rig.card(second)
        rig.tap("approve", first, cards[0])
        wait(lambda: rig.orders_posted() == 1, 30, "the order POST")
        posted = time.monotonic()
        waited = {"tap on another card": answered_in(rig, rig.tap("reject", second, cards[1])[0])}
        for command, words in (("/status", "Exchange: answering"), ("/help", "<b>Commands</b>")):
            waited[command] = replied_in(rig, command, words)
        third = seed_signal(rig.db, utc_now(), candle_time="2020-01-01T00:00:00.000000Z")
        pushed = time.monotonic()
        wait(lambda: rig.message_id(third) is not None, 30, "the new signal's card")
        waited["new signal announced"] = round(time.monotonic() - pushed, 3)
        waited["order still in flight"] = time.monotonic() - posted < order_seconds
        wait(lambda: told_after(rig, first, 0), order_seconds + 30, "the outcome")
        waited["exit"] = stop(bot)
        return waited
    finally:
        rig.close()


def answered_in(rig: Rig, query_id: str) -> float:
    """Return seconds until a tap was answered."""
    wait(lambda: rig.telegram.answer_latencies().get(query_id) is not None, 15, "the tap answer")
    return round(rig.telegram.answer_latencies()[query_id], 3)


def replied_in(rig: Rig, command: str, words: str) -> float:
    """Send a command; return seconds until a message containing `words` came back."""
    before = len(texts(rig))
    pushed = time.monotonic()
    rig.telegram.push_update(message_update(command, ALICE, ALICE))
    wait(lambda: any(words in t for t in texts(rig)[before:]), 15, f"the answer to {command}")
    return round(time.monotonic() - pushed, 3)


# ---- command line --------------------------------------------------------------------------------


def table(rows: list[dict]) -> str:
    """Render rows as a Markdown table."""
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(str(r[k]) for k in keys) + " |" for r in rows]
    return "\n".join(lines)


def main(argv=None) -> int:
    """Run one sweep and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    sub.add_parser("kill").add_argument("--runs", type=int, default=20)
    sub.add_parser("maintenance").add_argument("--minutes", type=float, default=10)
    flood = sub.add_parser("flood")
    flood.add_argument("--actions", type=int, default=1000)
    flood.add_argument("--spread", type=float, default=30.0, help="seconds for the spread-out run")
    sub.add_parser("busy")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        if args.what == "kill":
            rows = sweep_kills(args.runs)
        elif args.what == "maintenance":
            rows = [maintenance_run(args.minutes, Path(tmp))]
        elif args.what == "busy":
            rows = [busy_run(Path(tmp))]
        else:
            rows = [flood_run(args.actions, 0.0, Path(tmp) / "batch")]
            rows.append(flood_run(args.actions, args.spread, Path(tmp) / "spread"))
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
