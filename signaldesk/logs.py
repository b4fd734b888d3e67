"""Logging setup: stdout for journald plus a daily rotated file kept 7 days, with secrets redacted."""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys
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
    """Replace secret values (and anything shaped like a bot token in a URL) in log records with ***."""

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
    """Configure the root logger for one process: stdout, plus `<log_dir>/<process>.log` rotated daily, kept 7 days."""
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
