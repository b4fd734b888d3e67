"""Messages the trader gets over the demo: per JST day, per trade, and how many rang at night.

    .venv/bin/python bench/notify_demo.py run [--days 14] [--out var/demo/transcript.jsonl]
    .venv/bin/python bench/notify_demo.py table TRANSCRIPT.jsonl DEMO.sqlite3 [--active 08:00-23:00]

`run` runs `signaldesk demo --quiet --transcript` (every Bot API call with its replay time) and
prints the tables; `table` reads a transcript written earlier (for example by an older version of
the demo). A message is a sendMessage or sendPhoto (edits change a message already there and never
ring); it rings unless sent with disable_notification. A message belongs to a trade when it replies
to the trade's card (or to a reply of it), else when its text names the trade (#id) or its signal.
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

JST = ZoneInfo("Asia/Tokyo")
NEW = ("sendmessage", "sendphoto")
TRADE_WORDS = re.compile(r"(?:trade|Trade|取引) ?#(\d+)")
SIGNAL_WORDS = re.compile(r"(?:Signal|signal|シグナル) ?#(\d+)")


def read_calls(path: Path) -> list[dict]:
    """Return the recorded Bot API calls in order."""
    text = path.read_text(encoding="utf-8")
    return [json.loads(line) for line in text.split("\n") if line]  # not splitlines: U+2028 etc.


def trade_of_signal(db_path: Path) -> dict[int, int]:
    """Return signal id -> trade id from the demo database."""
    with sqlite3.connect(db_path) as db:
        return dict(db.execute("SELECT signal_id, id FROM trades WHERE signal_id IS NOT NULL"))


def exit_reasons(db_path: Path) -> dict[int, str]:
    """Return trade id -> how it ended (exit reason, or its status)."""
    with sqlite3.connect(db_path) as db:
        rows = db.execute("SELECT id, COALESCE(exit_reason, status) FROM trades").fetchall()
    return dict(rows)


def messages(calls: list[dict], trades: dict[int, int]) -> list[dict]:
    """Return each new message with its JST time, whether it rang, and its trade (or None)."""
    threads: dict[int, int] = {}  # message id -> trade id
    found, ids = [], iter(range(1000, 10**9))
    for call in calls:
        if call["method"] not in NEW:
            continue
        params, message_id = call["params"], call.get("message_id") or next(ids)
        text = str(params.get("text") or params.get("caption") or "")
        trade = _trade_of(params, text, threads, trades)
        if trade is not None:
            threads[message_id] = trade
        found.append(
            {
                "at": datetime.fromisoformat(call["at"]).astimezone(JST),
                "loud": str(params.get("disable_notification", "")).lower() not in ("true", "1"),
                "trade": trade,
                "card": "approve:" in json.dumps(params.get("reply_markup") or {}),
            }
        )
    return found


def _trade_of(params: dict, text: str, threads: dict, trades: dict) -> int | None:
    """Return the trade a message is about: the thread it replies to, else the ids in its text."""
    reply = params.get("reply_parameters") or {}
    if isinstance(reply, str):
        reply = json.loads(reply)
    if reply.get("message_id") in threads:
        return threads[reply["message_id"]]
    if (match := TRADE_WORDS.search(text)) is not None:
        return int(match.group(1))
    if (match := SIGNAL_WORDS.search(text)) is not None:
        return trades.get(int(match.group(1)))
    markup = json.dumps(params.get("reply_markup") or {})
    if (match := re.search(r'"approve:(\d+)"', markup)) is not None:
        return trades.get(int(match.group(1)))
    return None


def night(moment: datetime, active: tuple[time, time]) -> bool:
    """Return True outside the active hours (JST)."""
    start, end = active
    return not (start <= moment.time() < end)


def tables(found: list[dict], reasons: dict[int, str], active: tuple[time, time]) -> str:
    """Return the per-day and per-trade tables as Markdown."""
    days = defaultdict(Counter)
    for m in found:
        day = days[m["at"].date()]
        day["messages"] += 1
        day["night"] += night(m["at"], active)
        day["loud at night"] += night(m["at"], active) and m["loud"]
    lines = ["| JST day | messages | at night | with sound at night |", "|---|---|---|---|"]
    for day, c in sorted(days.items()):
        lines.append(f"| {day} | {c['messages']} | {c['night']} | {c['loud at night']} |")
    total = Counter()
    for c in days.values():
        total.update(c)
    lines.append(
        f"| **total** | {total['messages']} | {total['night']} | {total['loud at night']} |"
    )
    lines += ["", *trade_table(found, reasons)]
    return "\n".join(lines)


def trade_table(found: list[dict], reasons: dict[int, str]) -> list[str]:
    """Return messages per trade, by how the trade ended."""
    per_trade = Counter(m["trade"] for m in found if m["trade"] is not None)
    by_end = defaultdict(list)
    for trade, reason in reasons.items():
        by_end[reason].append(per_trade.get(trade, 0))
    lines = ["| trade ended by | trades | messages per trade (min / mean / max) |", "|---|---|---|"]
    for reason, counts in sorted(by_end.items()):
        mean = sum(counts) / len(counts)
        lines.append(f"| {reason} | {len(counts)} | {min(counts)} / {mean:.1f} / {max(counts)} |")
    every = [c for counts in by_end.values() for c in counts]
    if every:
        lines.append(
            f"| **all** | {len(every)} | {min(every)} / {sum(every) / len(every):.1f} / "
            f"{max(every)} |"
        )
    return lines


def hours(text: str) -> tuple[time, time]:
    """Parse HH:MM-HH:MM."""
    start, end = (time.fromisoformat(part) for part in text.split("-"))
    return start, end


def main(argv: list[str] | None = None) -> int:
    """Run the demo (or read a transcript) and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run")
    run.add_argument("--days", type=int, default=14)
    run.add_argument("--out", type=Path, default=Path("var/demo/transcript.jsonl"))
    run.add_argument("--active", default="08:00-23:00")
    table = sub.add_parser("table")
    table.add_argument("transcript", type=Path)
    table.add_argument("db", type=Path)
    table.add_argument("--active", default="08:00-23:00")
    args = parser.parse_args(argv)
    if args.command == "run":
        db = args.out.with_suffix(".sqlite3")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "jobs.cli",
                "demo",
                "--quiet",
                "--days",
                str(args.days),
                "--db",
                str(db),
                "--transcript",
                str(args.out),
            ],
            check=True,
        )
        transcript = args.out
    else:
        transcript, db = args.transcript, args.db
    found = messages(read_calls(transcript), trade_of_signal(db))
    print(tables(found, exit_reasons(db), hours(args.active)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
