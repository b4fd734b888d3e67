"""Logging setup: stdout for journald plus a daily rotated file kept 7 days, with secrets redacted;
and the last warnings and errors read back for /logs."""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"
KEEP_DAYS = 7
TOKEN_IN_URL = re.compile(r"/bot\d+:[A-Za-z0-9_-]+")
QUIET_LOGGERS = (
    "httpx",
    "httpcore",
    "telegram.ext.ExtBot",
    "apscheduler",
    "websockets.client",
    "numba",
)


class RedactSecrets(logging.Filter):
    """Replace secret values (and anything shaped like a bot token in a URL) in log records with
    ***."""

    def __init__(self, secrets: tuple[str, ...]):
        super().__init__()
        self.secrets = tuple(s for s in secrets if len(s) >= 4)

    def filter(self, record: logging.LogRecord) -> bool:
        """Render the message once, redact it, and keep the record."""
        message = record.getMessage()
        redacted = self.redact(message)
        if redacted != message or record.args:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True

    def redact(self, text: str) -> str:
        """Return the text with every secret replaced."""
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return TOKEN_IN_URL.sub("/bot***", text)


def setup_logging(
    process: str, log_dir: Path | None, secrets: tuple[str, ...] = (), level: int = logging.INFO
) -> None:
    """Configure the root logger for one process: stdout, plus `<log_dir>/<process>.log` rotated
    daily, kept 7 days."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    redact = RedactSecrets(secrets)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stdout)]
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        handlers.append(
            logging.handlers.TimedRotatingFileHandler(
                log_dir / f"{process}.log",
                when="midnight",
                backupCount=KEEP_DAYS,
                utc=True,
                encoding="utf-8",
            )
        )
    for handler in handlers:
        handler.setFormatter(logging.Formatter(FORMAT))
        handler.addFilter(redact)
        root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


PROBLEM_LEVELS = (" WARNING ", " ERROR ", " CRITICAL ")
TAIL_BYTES = 256 * 1024


@dataclass(frozen=True)
class LogLine:
    """One warning or error from a process's log file."""

    at: datetime | None  # aware, from the log's local time stamp
    process: str
    text: str


def recent_problems(log_dir: Path, processes: tuple[str, ...], n: int, secrets=()) -> list[LogLine]:
    """Return the last n warnings and errors of these processes' logs, oldest first (secrets
    redacted again, in case a line escaped the filter)."""
    found = []
    for process in processes:
        for line in _tail(log_dir / f"{process}.log"):
            if any(level in line for level in PROBLEM_LEVELS):
                for secret in secrets:
                    line = line.replace(secret, "***")
                found.append(LogLine(_stamp(line), process, line[24:].strip()))
    found.sort(key=lambda item: item.at or datetime.min.replace(tzinfo=UTC))
    return found[-n:]


def _tail(path: Path) -> list[str]:
    """Return the last lines of a file (at most TAIL_BYTES of it); none when it does not exist."""
    try:
        with path.open("rb") as handle:
            start = max(path.stat().st_size - TAIL_BYTES, 0)
            handle.seek(start)
            lines = handle.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return []
    return lines[1:] if start else lines


def _stamp(line: str) -> datetime | None:
    """Return the aware time of a log line (asctime is the machine's local time)."""
    try:
        return datetime.strptime(line[:19], "%Y-%m-%d %H:%M:%S").astimezone()
    except ValueError:
        return None
