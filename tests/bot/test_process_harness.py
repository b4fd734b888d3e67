"""The real `signaldesk bot` process, SIGKILLed and flooded (one run of each here; the sweeps are in
the notes: `.venv/bin/python -m tests.bot.process_harness kill --runs 20`, `... flood --actions
1000`, `... maintenance --minutes 10`)."""

from __future__ import annotations

import pytest

from tests.bot.process_harness import KILL_POINTS, busy_run, flood_run, kill_run, maintenance_run

pytestmark = [
    pytest.mark.slow,
    # a kill hook ends the fake's request thread on purpose (process_harness.Aborted)
    pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning"),
]


@pytest.mark.parametrize("point", KILL_POINTS)
def test_an_approval_killed_at_any_point_is_processed_once_and_told_after_restart(tmp_path, point):
    run = kill_run(point, tmp_path)
    assert run["posts"] <= 1 and run["orders_on_gmo"] <= 1  # never a second order
    assert not run["stuck_approved"] and run["status"] in ("EXECUTED", "BLOCKED", "FAILED")
    assert run["told"] and run["notices_after_restart"] == 1  # told once, after the restart
    assert run["exit"] == 0  # the restarted bot stops cleanly on SIGTERM


def test_a_burst_of_approve_and_reject_on_one_signal_gives_one_verdict_and_one_order(tmp_path):
    run = flood_run(300, 0.0, tmp_path, order_seconds=12.0)
    assert (run["verdicts"], run["posts"], run["orders_on_gmo"]) == (1, 1, 1)
    assert run["taps_answered_in_time"] == run["taps"]  # every tap answered within Telegram's 15 s


def test_decisions_spread_out_are_each_answered_within_a_second(tmp_path):
    run = flood_run(200, 10.0, tmp_path, order_seconds=12.0)
    assert (run["verdicts"], run["orders_on_gmo"]) == (1, 1)
    assert run["taps_answered_in_time"] == run["taps"] and run["p99_s"] < 1.0


def test_the_bot_restarted_inside_gmo_maintenance_talks_and_reconciles_after(tmp_path):
    run = maintenance_run(0.1, tmp_path)
    assert run["up_through_maintenance"] and run["exit"] == 0
    assert set(run["seconds_to"]) == {"/status", "/stop", "alert", "reconciled", "cancelled"}
    assert run["gmo_orders"] == [
        "CANCELED"
    ]  # the resting entry, cancelled by /stop once GMO answered


def test_a_slow_order_holds_up_no_tap_command_or_job(tmp_path):
    run = busy_run(tmp_path, order_seconds=12.0)
    assert run["order still in flight"] and run["exit"] == 0
    assert max(run["tap on another card"], run["/status"], run["/help"]) < 1.0
    assert (
        run["new signal announced"] < 7.0
    )  # the next announce round (every 5 s), not after the order
