"""Logs: ids only (no citizen text or contact data), as readable lines or JSON lines.

``QANAT_LOG_FORMAT`` (or ``--log-format`` on ``qanat serve``) picks the format: ``text``
(the default: one line a record, for a person at a terminal) or ``json`` (one object a
line, for a log collector).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

# Attributes every LogRecord has; anything else came from `extra=` and is logged (but
# uvicorn's copy of its message with terminal colours).
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "color_message",
}
#: Loggers whose records go through qanat's handler: qanat's own and the web server's.
LOGGERS = ("qanat", "uvicorn", "arq")


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD}


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line with its ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as compact JSON."""
        entry: dict[str, Any] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        entry.update(_extras(record))
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """Formats a record as one readable line: local time, level, logger, message, extras.

    An exception is named with its type and message on the same line, never as a
    traceback (run with ``--debug``, or JSON logs, for the whole story).
    """

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line."""
        moment = datetime.fromtimestamp(record.created).astimezone()
        parts = [
            moment.strftime("%Y-%m-%d %H:%M:%S"),
            f"{record.levelname:<7}",
            f"{record.name}:",
            record.getMessage(),
        ]
        parts += [f"{key}={value}" for key, value in _extras(record).items()]
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            parts.append(f"error={type(error).__name__}: {error}".splitlines()[0])
        return " ".join(parts)


def formatter_for(log_format: str) -> logging.Formatter:
    """The formatter of ``log_format`` (``text`` or ``json``)."""
    return JsonFormatter() if log_format == "json" else TextFormatter()


def configure_logging(level: str = "INFO", *, log_format: str = "text") -> None:
    """Send qanat's (and the web server's) logs to stderr, once, where a process starts."""
    handler = logging.StreamHandler()
    handler.setFormatter(formatter_for(log_format))
    for name in LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level)
