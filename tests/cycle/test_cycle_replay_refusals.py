"""`cycle --replay` refuses clearly, and writes nothing, when it has nothing to replay."""

from __future__ import annotations

from jobs.cli import EXIT_FAILED, EXIT_USAGE, main
from signaldesk.storage import open_db


def test_replay_without_candles_names_the_symbols_and_writes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SIGNALDESK_DB", str(tmp_path / "desk.sqlite3"))
    monkeypatch.setenv("SIGNALDESK_LOG_DIR", str(tmp_path / "log"))
    assert main(["migrate"]) == 0
    assert (
        main(["cycle", "--replay", "--since", "2025-06-01", "--until", "2025-06-02"]) == EXIT_FAILED
    )
    assert "no stored 15m candles for BTC_JPY, ETH_JPY" in capsys.readouterr().out
    db = open_db(tmp_path / "desk.sqlite3")
    try:
        assert db.execute("SELECT COUNT(*) FROM signals").fetchone()[0] == 0
    finally:
        db.close()


def test_replay_needs_an_ordered_period(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SIGNALDESK_DB", str(tmp_path / "desk.sqlite3"))
    monkeypatch.setenv("SIGNALDESK_LOG_DIR", str(tmp_path / "log"))
    assert (
        main(["cycle", "--replay", "--since", "2025-06-02", "--until", "2025-06-01"]) == EXIT_USAGE
    )
    assert "since < until" in capsys.readouterr().out
