"""Trade lives for the crash and fault harness: one approved trade from entry to take-profit 1 and
its time stop, with the bot SIGKILLed at one moment or one GMO fault injected into one step, then
checked from the exchange's side (cover windows, duplicates) and the desk's (stuck or inconsistent
trades)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from decimal import Decimal

from signaldesk.clock import to_db, utc_now
from tests.chaos.world import SYMBOL, World

# Where the bot dies: (life step, GMO path, moment of that request).
CRASHES = {
    "before-entry": ("entry", "/v1/account/margin", "answered"),  # the approval's last read
    "entry-sent": ("entry", "/v1/order", "received"),
    "entry-done": ("entry", "/v1/order", "answered"),
    "after-fill": ("fill", None, None),
    "stop-sent": ("fill", "/v1/closeOrder", "received"),
    "stop-done": ("fill", "/v1/closeOrder", "answered"),
    "tp-losscut": ("tp", "/v1/changeLosscutPrice", "received"),
    "tp-cancel-sent": ("tp", "/v1/cancelOrder", "received"),
    "tp-cancel-done": ("tp", "/v1/cancelOrder", "answered"),
    "tp-close-sent": ("tp", "/v1/closeOrder", "received"),
    "tp-close-done": ("tp", "/v1/closeOrder", "answered"),
    "be-reprice": ("tp", "/v1/changeOrder", "received"),
    "exit-cancel-sent": ("exit", "/v1/cancelOrder", "received"),
    "exit-close-sent": ("exit", "/v1/closeOrder", "received"),
    "exit-close-done": ("exit", "/v1/closeOrder", "answered"),
}
# Which GMO path a fault is injected on at each step.
FAULT_PATHS = {
    "entry": "/v1/order",
    "fill": "/v1/closeOrder",
    "sync": "/v1/orders",
    "tp": "/v1/closeOrder",
    "tp-cancel": "/v1/cancelOrder",
    "exit": "/v1/closeOrder",
}
FAULT_KINDS = (
    "http429",
    "http503",
    "maintenance",
    "rate_limit",
    "reset_before",
    "reset_after",
    "timeout",
    "malformed",
    "malformed_after",
)
SLOW = 6.0  # longer than the bot's 5 s timeout of an order POST


@dataclass(frozen=True)
class Trial:
    """One trade life: a crash point or a fault (step, kind), in one direction."""

    name: str
    direction: str = "LONG"
    crash: str | None = None
    fault: tuple[str, str] | None = None


@dataclass
class Outcome:
    """What a life showed: the exchange's cover figures and every problem found."""

    trial: Trial
    cover: dict
    problems: list[str] = field(default_factory=list)
    entry_orders: int = 0
    kills: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Return True when nothing was wrong."""
        return not self.problems


def arm(world: World, trial: Trial, step: str) -> None:
    """Arm the trial's crash or fault just before `step` of the life."""
    if trial.crash and CRASHES[trial.crash][0] == step and CRASHES[trial.crash][1]:
        _, path, moment = CRASHES[trial.crash]
        world.fake.on(path, moment, world.kill_bot)
    if trial.fault and trial.fault[0] == step:
        world.fake.fail_next(FAULT_PATHS[step], trial.fault[1])
    if trial.fault and trial.fault[0] == "sync" and step == "fill":
        world.fake.fail_next(FAULT_PATHS["sync"], trial.fault[1])


def sign_of(trial: Trial) -> int:
    """Return +1 for a long, -1 for a short."""
    return 1 if trial.direction == "LONG" else -1


def fake_entries(world: World) -> list[dict]:
    """Return the opening orders the exchange has (every entry the desk ever created)."""
    with world.fake.lock:
        return [dict(o) for o in world.fake.orders.values() if o["settleType"] == "OPEN"]


def covered_by_stops(world: World) -> bool:
    """Return True when every open position is covered by resting STOP orders for its whole size."""
    with world.fake.lock:
        positions = list(world.fake.positions.values())
        stops = [o for o in world.fake.orders.values() if o["executionType"] == "STOP"]
        return bool(positions) and all(
            sum(
                (
                    o["remaining"]
                    for o in stops
                    if o["positionId"] == p["positionId"]
                    and o["status"] in ("WAITING", "ORDERED", "MODIFYING")
                ),
                Decimal(0),
            )
            >= p["size"]
            for p in positions
        )


def trade_value(world: World, column: str):
    """Return one column of the (only) trade, None when there is no trade."""
    rows = world.rows(f"SELECT {column} FROM trades ORDER BY id LIMIT 1")
    return rows[0][0] if rows else None


def resting_entry(world: World) -> bool:
    """Return True while an entry order rests on the exchange."""
    return any(o["status"] in ("ORDERED", "WAITING") for o in fake_entries(world))


def no_entry(world: World) -> bool:
    """Return True when the approval ended without an entry on the exchange (refused, or never
    placed)."""
    signal = world.rows("SELECT status FROM signals")
    trade = trade_value(world, "status")
    return (signal and signal[0][0] in ("FAILED", "BLOCKED")) or trade == "cancelled"


def enter(world: World, trial: Trial) -> bool:
    """Approve a signal and wait for its entry on the exchange; False when no entry was ever made
    (the POST was refused or never reached GMO, or the bot died before sending it)."""
    arm(world, trial, "entry")
    world.approve(world.seed_signal(trial.direction))
    if trial.crash == "before-entry":
        world.until(lambda: world.kills > 0 or fake_entries(world), 20, "the crash")
        world.until(lambda: len(world.telegram.calls_to("getUpdates")) > 3, 20, "restart")
        time.sleep(2)
        return bool(fake_entries(world))
    world.until(lambda: resting_entry(world) or no_entry(world), 40, "an entry or its refusal")
    if not resting_entry(world):
        return False
    if not (trial.crash or trial.fault):  # the entry fills between two steps, not during approval
        world.until(lambda: any("EXECUTED" in t for t in world.texts()), 20, "the approval")
    return True


def fill(world: World, trial: Trial) -> None:
    """Print a trade through the resting entry and wait for stops to cover the position."""
    arm(world, trial, "fill")
    (entry,) = [o for o in fake_entries(world) if o["status"] in ("ORDERED", "WAITING")]
    world.fake.trade_at(SYMBOL, str(entry["price"]), size=str(entry["remaining"]))
    if trial.crash == "after-fill":
        world.kill_bot()
    world.until(lambda: covered_by_stops(world), 40, "stops covering the position")


def take_profit(world: World, trial: Trial) -> None:
    """Move the market through take-profit 1 and wait for it and the stop at break-even."""
    arm(world, trial, "tp")
    if trial.fault and trial.fault[0] == "tp-cancel":
        world.fake.fail_next(FAULT_PATHS["tp-cancel"], trial.fault[1])
    world.quote(sign_of(trial) * 101000)
    world.fake.nudge()

    def done() -> bool:
        if not trade_value(world, "tp1_done"):
            nudge_now_and_then(world)  # prices do not move on the private stream: wake the desk
            return False
        return covered_by_stops(world)

    world.until(done, 40, "take-profit 1 and the break-even stop")


def nudge_now_and_then(world: World) -> None:
    """Push a position update about once a second (the desk's periodic poll would get there, only
    later)."""
    if time.monotonic() - getattr(world, "nudged", 0.0) >= 1.0:
        world.nudged = time.monotonic()
        world.fake.nudge()


def time_stop(world: World, trial: Trial) -> None:
    """Let the time stop come and wait for the trade to close."""
    arm(world, trial, "exit")
    world.write("UPDATE trades SET time_stop_at = ?", [to_db(utc_now())])
    world.fake.nudge()

    def closed() -> bool:
        if trade_value(world, "status") != "closed":
            nudge_now_and_then(world)
            return False
        return True

    world.until(closed, 40, "the time stop")


def settle(world: World) -> None:
    """Wait until the exchange has nothing left and the desk nothing in flight."""

    def quiet() -> bool:
        with world.fake.lock:
            world.fake._settle_async()
            busy = world.fake.positions or world.fake._active()
        pending = world.rows(
            "SELECT COUNT(*) FROM orders WHERE status IN ('PLACING', 'UNKNOWN', 'OPEN', 'PARTIAL')"
        )[0][0]
        return not busy and not pending

    world.until(quiet, 30, "a settled desk")


def problems_of(world: World, trial: Trial, entered: bool) -> list[str]:
    """Return everything wrong after the life settled: duplicates, stuck or inconsistent trades,
    cover."""
    found = []
    cover = world.fake.cover.report()
    if cover["bare_over_10s"]:
        found.append(f"{cover['bare_over_10s']} position(s) without stop or loss-cut for over 10 s")
    if cover["stopless_over_10s"]:
        found.append(f"{cover['stopless_over_10s']} position(s) without a stop for over 10 s")
    entries = fake_entries(world)
    expired = sum(1 for o in entries if o["cancelType"] == "EXPIRED_SOK")
    if len(entries) - expired > 1:
        found.append(
            f"duplicate entry: {len(entries)} opening orders ({expired} expired post-only)"
        )
    known = {r[0] for r in world.rows("SELECT exchange_order_id FROM orders")}
    strangers = [o for o in world.fake.orders if o not in known]
    if strangers:
        found.append(f"exchange orders unknown to the desk: {strangers}")
    found += desk_problems(world, entered)
    return found


def desk_problems(world: World, entered: bool) -> list[str]:
    """Return problems in the desk's records: unresolved orders, trades not closed, fills not adding
    up."""
    found = []
    stuck = world.rows("SELECT id, status FROM orders WHERE status IN ('PLACING', 'UNKNOWN')")
    if stuck:
        found.append(f"orders in an unknown state: {stuck}")
    trades = world.rows("SELECT id, status, filled_size, remaining_size FROM trades")
    if entered and [t[1] for t in trades] != ["closed"]:
        found.append(f"trades not closed: {trades}")
    for trade_id, _, filled, remaining in trades:
        sums = world.rows(
            "SELECT o.purpose = 'entry', SUM(CAST(f.size AS REAL)) FROM fills f JOIN orders o "
            "ON o.id = f.order_id WHERE o.trade_id = ? GROUP BY 1",
            [trade_id],
        )
        got = {bool(k): round(v, 8) for k, v in sums}
        if got.get(True, 0) != round(float(filled), 8) or Decimal(remaining) != 0:
            found.append(
                f"trade #{trade_id}: fills {got} vs filled {filled}, remaining {remaining}"
            )
    return found


def run_life(world: World, trial: Trial) -> Outcome:
    """Run one trade life with its crash or fault; return what it showed."""
    started = time.monotonic()
    world.start_bot()
    entered = enter(world, trial)
    if entered:
        fill(world, trial)
        take_profit(world, trial)
        time_stop(world, trial)
    settle(world)
    world.stop_bot()
    outcome = Outcome(trial, world.fake.cover.report(), problems_of(world, trial, entered))
    outcome.entry_orders, outcome.kills = len(fake_entries(world)), world.kills
    outcome.seconds = time.monotonic() - started
    return outcome


def trials(full: bool) -> list[Trial]:
    """Return the crash and fault trials: every crash point both ways and every fault on every step
    (full), or a representative set (one direction, the faults that lose an answer or refuse a
    step)."""
    crashes = list(CRASHES)
    kinds = FAULT_KINDS if full else ("http503", "reset_after", "timeout", "malformed_after")
    steps = list(FAULT_PATHS) if full else ["entry", "fill", "tp", "exit"]
    directions = ("LONG", "SHORT") if full else ("LONG",)
    chosen = [Trial(f"crash:{c}:{d}", d, crash=c) for d in directions for c in crashes]
    if not full:
        chosen = [t for t in chosen if t.crash in REPRESENTATIVE_CRASHES]
    chosen += [Trial(f"fault:{s}:{k}", fault=(s, k)) for s in steps for k in kinds]
    return chosen + [Trial("fault:entry:expired_sok", fault=("entry", "expired_sok"))]


REPRESENTATIVE_CRASHES = (
    "entry-done",
    "stop-sent",
    "tp-cancel-done",
    "tp-close-sent",
    "exit-close-done",
)
