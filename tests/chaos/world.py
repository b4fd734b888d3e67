"""The world of the crash and fault harness: the real `signaldesk bot` process (live mode) over HTTP
and WebSocket to the strict fake GMO, the local Telegram Bot API for the person, and a SQLite file;
SIGKILL and restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from jobs.demo.telegram_api import LocalBotApi
from signaldesk import signals
from signaldesk.clock import utc_now
from signaldesk.storage import apply_migrations, open_db
from tests.fakes.gmo_server import FakeGmo
from tests.fakes.live_desk import allow_live
from tests.fakes.telegram_server import fixture, message_update

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "7000000001:CHAOS-PLACEHOLDER-TOKEN"
ALICE = 111111111
SYMBOL = "BTC_JPY"
BASE = Decimal("10000000")
ATR = Decimal("50000")
RESTART_DELAY = 0.5  # systemd Restart=always with a short RestartSec
CONFIG = """[strategy]
symbols = ["BTC_JPY"]

[risk]
risk_per_trade = 0.01
{risk}
"""


class World:
    """One desk: fake GMO, local Bot API, a database and the bot process (killed and restarted at
    will)."""

    def __init__(self, tmp: Path, *, risk: str = "", timeout_sleep: float = 1.5):
        self.tmp, self.risk, self.timeout_sleep = tmp, risk, timeout_sleep
        self.db_path = tmp / "desk.sqlite3"
        self.process: subprocess.Popen | None = None
        self.killed = threading.Event()
        self.kills = self.starts = 0
        self.lock = threading.Lock()

    def __enter__(self) -> World:
        self.fake = FakeGmo(timeout_sleep=self.timeout_sleep)
        self.fake.start()
        self.quote(0)
        self.telegram = LocalBotApi(TOKEN, fixture("getMe.json")["result"])
        (self.tmp / "config.toml").write_text(CONFIG.format(risk=self.risk), encoding="utf-8")
        db = open_db(self.db_path)
        apply_migrations(db)
        allow_live(db)  # the golive gate: live mode against the fakes
        db.close()
        return self

    def __exit__(self, *exc) -> None:
        self.stop_bot()
        self.telegram.close()
        self.fake.stop()

    # -- the bot process
    # -------------------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        """Return the bot's environment: live mode on the fakes."""
        keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "PYTHONPATH")}
        return {
            **keep,
            "SIGNALDESK_MODE": "live",
            "SIGNALDESK_DB": str(self.db_path),
            "SIGNALDESK_CONFIG": str(self.tmp / "config.toml"),
            "SIGNALDESK_LOG_DIR": str(self.tmp / "log"),
            **self.fake.env(),
            "GMO_WS_PRIVATE_URL": self.fake.ws_private_url,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_CHAT_ID": str(ALICE),
            "TELEGRAM_USER_IDS": str(ALICE),
            "TELEGRAM_API_URL": self.telegram.url,
        }

    def start_bot(self, wait: bool = True) -> None:
        """Start `signaldesk bot` and wait until it polls Telegram."""
        with self.lock:
            polls = len(self.telegram.calls_to("getUpdates"))
            out = open(self.tmp / f"bot-{self.starts}.out", "wb")  # noqa: SIM115 (closed with the process)
            self.process = subprocess.Popen(
                [sys.executable, "-m", "jobs.cli", "bot"],
                cwd=self.tmp,
                env=self.env(),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
            out.close()
            self.starts += 1
            self.killed.clear()
        if wait:
            self.until(lambda: len(self.telegram.calls_to("getUpdates")) > polls, 30, "bot polling")
            self.until(lambda: self.fake.stream.subscribed(), 30, "the private stream")

    def kill_bot(self, *_args) -> None:
        """SIGKILL the bot (from any thread, e.g. a fake's hook in the middle of a request)."""
        with self.lock:
            if self.process is not None and self.process.poll() is None:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()
                self.kills += 1
                self.killed.set()

    def stop_bot(self) -> None:
        """Stop the bot with SIGTERM (as systemd does)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def revive(self) -> None:
        """Restart the bot after a kill, as systemd would."""
        if self.killed.is_set():
            time.sleep(RESTART_DELAY)
            self.start_bot(wait=False)

    def until(self, condition, timeout: float, what: str) -> None:
        """Wait until `condition()` holds, restarting the bot whenever it was killed; AssertionError
        on time."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.revive()
            if condition():
                return
            time.sleep(0.05)
        raise AssertionError(f"timed out after {timeout} s waiting for {what}")

    # -- the market and the person
    # ---------------------------------------------------------------------------

    def quote(self, offset: int, size: str = "5") -> None:
        """Set a 1,000 JPY wide book `offset` JPY from the base price."""
        mid = BASE + offset
        self.fake.set_book(
            SYMBOL, bid=str(mid - 500), ask=str(mid + 500), bid_size=size, ask_size=size
        )

    def seed_signal(self, direction: str = "LONG") -> int:
        """Insert a PENDING signal the cycle would have proposed (levels from the base price and
        ATR)."""
        now = utc_now()
        sign = 1 if direction == "LONG" else -1
        db = open_db(self.db_path)
        try:
            return signals.insert(
                db,
                signals.Signal(
                    created_at=now,
                    symbol=SYMBOL,
                    candle_time=now - timedelta(minutes=15),
                    direction=direction,
                    confidence=0.8,
                    model_version="chaos",
                    status=signals.PENDING,
                    close_price=BASE,
                    atr=ATR,
                    entry_price=BASE - sign * 500,
                    stop_loss=BASE - sign * 2 * ATR,
                    take_profit_1=BASE + sign * 2 * ATR,
                    take_profit_2=BASE + sign * 4 * ATR,
                    size=Decimal("0.01"),
                    expires_at=now + timedelta(minutes=15),
                ),
            )
        finally:
            db.close()

    def approve(self, signal_id: int) -> None:
        """Type /approve_<id> in the chat."""
        self.telegram.push_update(message_update(f"/approve_{signal_id}", ALICE, ALICE))

    def rows(self, sql: str, params=()) -> list[tuple]:
        """Read the desk's database (a fresh connection)."""
        db = open_db(self.db_path)
        try:
            return db.execute(sql, list(params)).fetchall()
        finally:
            db.close()

    def write(self, sql: str, params=()) -> None:
        """Change the desk's database as time would (e.g. a time stop that has come)."""
        db = open_db(self.db_path)
        try:
            with db.conn:
                db.conn.execute(sql, list(params))
        finally:
            db.close()

    def texts(self) -> list[str]:
        """Return every message the bot sent to the person."""
        return [p.get("text", "") for p in self.telegram.calls_to("sendMessage")]
