"""`signaldesk doctor` against the local fakes over real HTTP: a good desk passes; each injected
fault is named."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from jobs.doctor import diagnose
from signaldesk.clock import utc_now
from signaldesk.doctor import (
    FAIL,
    PASS,
    SKIP,
    WARN,
    Check,
    disk_verdict,
    memory_verdict,
    run_checks,
    skew_verdict,
)
from signaldesk.runs import finish_run, start_run
from signaldesk.settings import DEFAULT_MODEL_VERSION, PROJECT_ROOT
from signaldesk.state import beat
from signaldesk.storage import open_db
from tests.fakes.gmo_server import FakeGmo
from tests.fakes.telegram_server import FakeTelegram, fixture

TOKEN = "7000000001:DOCTOR-PLACEHOLDER-TOKEN"
ALICE = 111111111
SYMBOLS = ("BTC_JPY", "BTC")
BOOKS = {
    "BTC_JPY": ("9999000", "10000000"),
    "BTC": ("10001000", "10002000"),
    "ETH_JPY": ("399900", "400000"),
}
EVERY_CHECK = (
    "settings",
    ".env file",
    "database",
    "disk",
    "memory",
    "model",
    "news calendar",
    "liquidation feed",
    "post-only",
    "processes",
    "telegram settings",
    "telegram bot",
    "telegram chat",
    "gmo status",
    "gmo tickers",
    "clock skew",
    "gmo private",
)


class DoctorTelegram(FakeTelegram):
    """The shared fake Bot API plus getChat, which it does not answer (the diff for it is in the ops
    report)."""

    def m_getchat(self, params):
        return {
            "id": int(params["chat_id"]),
            "type": "private",
            "first_name": "Alice",
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }


@pytest.fixture(scope="module")
def telegram_server():
    """Return one fake Bot API for the module (closing one takes its 0.5 s poll interval)."""
    fake = DoctorTelegram(TOKEN, fixture("getMe.json")["result"])
    yield fake
    fake.close()


@pytest.fixture
def telegram(telegram_server):
    """Return the fake Bot API with no calls recorded and no errors queued."""
    telegram_server.calls.clear()
    telegram_server.errors.clear()
    return telegram_server


@pytest.fixture
def gmo():
    """Return a running fake GMO with books for the configured symbols."""
    with FakeGmo() as fake:
        for symbol, (bid, ask) in BOOKS.items():
            fake.set_book(symbol, bid=bid, ask=ask)
        yield fake


def model_copy(folder: Path, age: timedelta) -> Path:
    """Copy the shipped model version, restamped as trained `age` ago (keeps the test independent of
    the date)."""
    source = PROJECT_ROOT / "models" / DEFAULT_MODEL_VERSION
    folder.mkdir(parents=True)
    shutil.copy(source / "direction.txt", folder / "direction.txt")
    metadata = json.loads((source / "metadata.json").read_text())
    metadata.update(trained_at=(utc_now() - age).isoformat(), version=folder.name)
    (folder / "metadata.json").write_text(json.dumps(metadata))
    return folder


def write_calendar(path: Path, *offsets: timedelta) -> Path:
    """Write a news calendar with one event at each offset from now."""
    rows = [
        f"{(utc_now() + o).isoformat(timespec='seconds')},Event {i}" for i, o in enumerate(offsets)
    ]
    path.write_text("time_utc,title\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def desk(tmp_path, db, telegram, gmo):
    """Return the environment of a good desk: migrated db with live processes, fresh model,
    calendar, 0600 .env."""
    now = utc_now()
    for process in ("bot", "listener"):
        beat(db, process, now)
    finish_run(
        db, start_run(db, "cycle", now - timedelta(minutes=5)), "ok", now - timedelta(minutes=4)
    )
    calendar = write_calendar(tmp_path / "news.csv", timedelta(days=-3), timedelta(days=5))
    config = tmp_path / "config.toml"
    config.write_text(
        f'[strategy]\nsymbols = {json.dumps(list(SYMBOLS))}\nnews_calendar = "{calendar}"\n'
    )
    env = {
        "SIGNALDESK_CONFIG": str(config),
        "SIGNALDESK_MODEL": str(model_copy(tmp_path / "models" / "v-doc", timedelta(days=2))),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_CHAT_ID": str(ALICE),
        "TELEGRAM_USER_IDS": str(ALICE),
        "TELEGRAM_API_URL": telegram.url,
        "GMO_API_KEY": gmo.api_key,
        "GMO_API_SECRET": gmo.api_secret,
        "GMO_PUBLIC_URL": gmo.public_url,
        "GMO_PRIVATE_URL": gmo.private_url,
    }
    env_file = tmp_path / ".env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    env_file.chmod(0o600)
    return env


def verdicts(make_settings, tmp_path, env: dict, **options) -> dict[str, Check]:
    """Run the doctor on settings built from `env`; return the checks by name."""
    checks = diagnose(make_settings(**env), env_file=tmp_path / ".env", **options)
    assert [c.name for c in checks] == list(EVERY_CHECK)
    return {c.name: c for c in checks}


def test_a_good_desk_passes_every_check(make_settings, tmp_path, desk, gmo, telegram):
    checks = verdicts(make_settings, tmp_path, desk)
    assert {name: c.status for name, c in checks.items() if c.status != PASS} == {}
    assert "@example_approval_bot" in checks["telegram bot"].detail
    assert "BTC_JPY bid 9999000 / ask 10000000" in checks["gmo tickers"].detail
    assert "openPositions BTC_JPY" in checks["gmo private"].detail
    assert telegram.calls_to("getChat") and gmo.count("GET", "/v1/account/assets") == 1


def test_live_mode_warns_that_order_permissions_were_not_verified_and_sends_no_order(
    make_settings, tmp_path, desk, gmo
):
    checks = verdicts(make_settings, tmp_path, {**desk, "SIGNALDESK_MODE": "live"})
    assert checks["gmo private"].status == WARN
    assert "Not verified: placing, changing and cancelling orders" in checks["gmo private"].detail
    assert [r for r in gmo.requests if r[0] != "GET"] == []


def test_env_file_readable_by_others_fails_with_chmod(make_settings, tmp_path, desk):
    (tmp_path / ".env").chmod(0o644)
    check = verdicts(make_settings, tmp_path, desk)[".env file"]
    assert (check.status, check.fix) == (FAIL, f"chmod 600 {tmp_path / '.env'}")


def test_missing_env_file_warns_in_paper_mode(make_settings, tmp_path, desk):
    (tmp_path / ".env").unlink()
    assert verdicts(make_settings, tmp_path, desk, offline=True)[".env file"].status == WARN


def test_unmigrated_database_fails_and_names_the_migrate_command(make_settings, tmp_path, desk):
    fresh = tmp_path / "fresh.sqlite3"
    open_db(fresh).close()
    checks = verdicts(make_settings, tmp_path, {**desk, "SIGNALDESK_DB": str(fresh)})
    assert checks["database"].status == FAIL and checks["database"].fix == "signaldesk migrate"
    assert "0001_initial" in checks["database"].detail
    assert checks["processes"].status == SKIP


def test_missing_model_folder_fails(make_settings, tmp_path, desk):
    check = verdicts(
        make_settings, tmp_path, {**desk, "SIGNALDESK_MODEL": str(tmp_path / "models" / "gone")}
    )["model"]
    assert (
        check.status == FAIL
        and "missing metadata.json" in check.detail
        and "signaldesk train" in check.fix
    )


def test_old_model_warns_and_mismatched_model_fails(make_settings, tmp_path, desk):
    old = model_copy(tmp_path / "models" / "v-old", timedelta(days=60))
    check = verdicts(make_settings, tmp_path, {**desk, "SIGNALDESK_MODEL": str(old)}, offline=True)[
        "model"
    ]
    assert check.status == WARN and "60 days ago" in check.detail
    metadata = json.loads((old / "metadata.json").read_text())
    metadata["feature_names"] = metadata["feature_names"][::-1]
    (old / "metadata.json").write_text(json.dumps(metadata))
    check = verdicts(make_settings, tmp_path, {**desk, "SIGNALDESK_MODEL": str(old)}, offline=True)[
        "model"
    ]
    assert check.status == FAIL and "retrain" in check.detail


def test_bad_telegram_token_fails_the_bot_check_without_showing_any_token(
    make_settings, tmp_path, desk
):
    wrong = "7000000001:WRONG-PLACEHOLDER-TOKEN"
    checks = verdicts(make_settings, tmp_path, {**desk, "TELEGRAM_BOT_TOKEN": wrong})
    assert (
        checks["telegram bot"].status == FAIL
        and "rejected the token" in checks["telegram bot"].detail
    )
    assert "@BotFather" in checks["telegram bot"].fix
    assert checks["telegram chat"].status == SKIP
    text = json.dumps([c.__dict__ for c in checks.values()])
    assert wrong not in text and TOKEN not in text and "WRONG-PLACEHOLDER" not in text


def test_chat_not_found_fails_the_chat_check(make_settings, tmp_path, desk, telegram):
    telegram.fail_next(
        "getChat",
        400,
        {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"},
    )
    checks = verdicts(make_settings, tmp_path, desk)
    assert checks["telegram bot"].status == PASS
    assert (
        checks["telegram chat"].status == FAIL
        and "chat not found" in checks["telegram chat"].detail.lower()
    )


def test_missing_telegram_user_ids_fail_deny_by_default(make_settings, tmp_path, desk):
    check = verdicts(make_settings, tmp_path, {**desk, "TELEGRAM_USER_IDS": ""}, offline=True)[
        "telegram settings"
    ]
    assert check.status == FAIL and "TELEGRAM_USER_IDS" in check.detail


def test_gmo_maintenance_warns(make_settings, tmp_path, desk, gmo):
    gmo.set_status("MAINTENANCE")
    check = verdicts(make_settings, tmp_path, desk)["gmo status"]
    assert check.status == WARN and "ERR-5201" in check.detail


def test_wrong_gmo_secret_fails_the_private_check(make_settings, tmp_path, desk):
    check = verdicts(make_settings, tmp_path, {**desk, "GMO_API_SECRET": "not-the-secret"})[
        "gmo private"
    ]
    assert check.status == FAIL and "ERR-5010" in check.detail and "GMO_API_SECRET" in check.fix


def test_local_clock_ahead_of_gmo_is_measured_and_fails(make_settings, tmp_path, desk):
    """The injected clock plays a machine whose clock runs 45 s fast; the fake GMO stamps real
    time."""
    ahead = verdicts(make_settings, tmp_path, desk, clock=lambda: utc_now() + timedelta(seconds=45))
    assert ahead["clock skew"].status == FAIL and "45." in ahead["clock skew"].detail
    assert "ahead of" in ahead["clock skew"].detail
    assert ahead["gmo private"].status == FAIL and "ERR-5008" in ahead["gmo private"].detail
    behind = verdicts(make_settings, tmp_path, desk, clock=lambda: utc_now() - timedelta(seconds=5))
    assert behind["clock skew"].status == WARN and behind["gmo private"].status == PASS


def test_calendar_with_only_past_events_warns(make_settings, tmp_path, desk):
    write_calendar(tmp_path / "news.csv", timedelta(days=-3), timedelta(hours=-1))
    check = verdicts(make_settings, tmp_path, desk, offline=True)["news calendar"]
    assert check.status == WARN and "add upcoming FOMC/CPI/BoJ times" in check.fix


def test_malformed_calendar_fails(make_settings, tmp_path, desk):
    (tmp_path / "news.csv").write_text("time_utc,title\n2026-12-10 13:30,CPI\n")
    check = verdicts(make_settings, tmp_path, desk, offline=True)["news calendar"]
    assert check.status == FAIL and "no time zone" in check.detail


def test_symbol_without_post_only_warns_with_the_consequence(make_settings, tmp_path, desk):
    (tmp_path / "config.toml").write_text(
        f'[strategy]\nsymbols = ["BTC_JPY", "ETH_JPY"]\nnews_calendar = "{tmp_path / "news.csv"}"\n'
    )
    check = verdicts(make_settings, tmp_path, desk)["post-only"]
    assert (
        check.status == WARN
        and check.detail.startswith("ETH_JPY:")
        and "BTC_JPY:" not in check.detail
    )
    assert "taker" in check.detail


def test_stale_heartbeat_warns(make_settings, tmp_path, desk, db):
    beat(db, "listener", utc_now() - timedelta(minutes=30))
    check = verdicts(make_settings, tmp_path, desk, offline=True)["processes"]
    assert check.status == WARN and "listener not running" in check.detail


def test_offline_skips_the_network_checks_and_reaches_no_server(
    make_settings, tmp_path, desk, gmo, telegram
):
    checks = verdicts(make_settings, tmp_path, desk, offline=True)
    network = (
        "telegram bot",
        "telegram chat",
        "gmo status",
        "gmo tickers",
        "clock skew",
        "gmo private",
    )
    assert {n: checks[n].status for n in network} == dict.fromkeys(network, SKIP)
    assert gmo.requests == [] and telegram.calls == []


def test_a_check_that_raises_is_named_and_the_others_still_run():
    def broken():
        raise RuntimeError("boom with s3cret-value inside")

    checks = run_checks(
        [("first", broken), ("second", lambda: Check("second", PASS, "fine"))], ("s3cret-value",)
    )
    assert [(c.name, c.status) for c in checks] == [("first", FAIL), ("second", PASS)]
    assert "RuntimeError: boom with *** inside" in checks[0].detail


def test_thresholds_of_disk_memory_and_clock():
    # Synthetic numbers at the edges of the stated thresholds.
    mb = 1024 * 1024
    assert [disk_verdict(n * mb, Path("/")).status for n in (199, 200, 1023, 1024)] == [
        FAIL,
        WARN,
        WARN,
        PASS,
    ]
    assert [
        memory_verdict(8000 * mb, n * mb, 0.99, 0.999).status for n in (249, 250, 399, 400)
    ] == [FAIL, WARN, WARN, PASS]
    assert (
        memory_verdict(8000 * mb, 700 * mb, 0.8, 0.9).status == FAIL
    )  # 91% used: the cycle would halt trading
    assert (
        memory_verdict(8000 * mb, 1200 * mb, 0.8, 0.9).status == WARN
    )  # 85% used: the cycle warns
    assert [skew_verdict(s, 0.01).status for s in (0.5, -2.5, 29.0, -31.0)] == [
        PASS,
        WARN,
        WARN,
        FAIL,
    ]


def run_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """Run `signaldesk doctor` as a process in the desk folder (settings from its .env, like
    systemd/cron)."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SIGNALDESK_", "GMO_", "TELEGRAM_"))
    }
    clean.update(
        PYTHONPATH=str(PROJECT_ROOT),
        SIGNALDESK_DB=str(tmp_path / "signaldesk.sqlite3"),
        SIGNALDESK_LOG_DIR=str(tmp_path / "log"),
    )
    return subprocess.run(
        [sys.executable, "-m", "jobs.cli", "doctor", *args],
        cwd=tmp_path,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_prints_the_table_and_json_and_exits_by_failure(tmp_path, desk):
    good = run_cli(tmp_path, "--json")
    assert good.returncode == 0, good.stdout + good.stderr
    assert (
        good.stdout.startswith("check ")
        and "gmo private" in good.stdout
        and "17 passed" in good.stdout
    )
    summary = json.loads(good.stdout.strip().splitlines()[-1])
    assert summary["ok"] is True and len(summary["checks"]) == len(EVERY_CHECK)
    (tmp_path / ".env").chmod(0o640)
    bad = run_cli(tmp_path, "--json", "--offline")
    assert bad.returncode == 1
    summary = json.loads(bad.stdout.strip().splitlines()[-1])
    assert summary["ok"] is False
    assert [c["name"] for c in summary["checks"] if c["status"] == FAIL] == [".env file"]
    assert TOKEN not in bad.stdout + good.stdout


def test_live_mode_fails_without_a_current_news_calendar(make_settings, tmp_path, desk):
    write_calendar(tmp_path / "news.csv", timedelta(days=-3), timedelta(hours=-1))
    live = {**desk, "SIGNALDESK_MODE": "live"}
    check = verdicts(make_settings, tmp_path, live, offline=True)["news calendar"]
    assert check.status == FAIL and "in live mode every signal is filtered" in check.detail
    (tmp_path / "news.csv").unlink()
    check = verdicts(make_settings, tmp_path, live, offline=True)["news calendar"]
    assert check.status == FAIL and check.detail.startswith("no calendar at")


def test_live_mode_fails_without_a_liquidation_feed_and_paper_warns(
    make_settings, tmp_path, desk, db
):
    beat(db, "listener", utc_now() - timedelta(minutes=30))
    live = verdicts(make_settings, tmp_path, {**desk, "SIGNALDESK_MODE": "live"}, offline=True)
    paper = verdicts(make_settings, tmp_path, desk, offline=True)
    assert live["liquidation feed"].status == FAIL and paper["liquidation feed"].status == WARN
    assert (
        "every signal is filtered (liquidation feed unavailable)" in live["liquidation feed"].detail
    )
