"""Logs: ids only (no citizen text or contact data), as readable lines or JSON lines.

``QANAT_LOG_FORMAT`` (or ``--log-format`` on ``qanat serve``) picks the format: ``text``
(the default: one line a record, for a person at a terminal) or ``json`` (one object a
line, for a log collector).

In both, an exception is logged by its class and where it was raised, never by its
message or a full traceback: a database error's message carries the SQL and its
parameters (the citizen's phone, text and raw bytes), so the place is kept and the words
are not. Secrets a gateway had to put in a URL (``?secret=``) are blanked in every line.
"""

from __future__ import annotations

import json
import logging
import re
import traceback
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

# Attributes every LogRecord has; anything else came from `extra=` and is logged (but
# uvicorn's copy of its message with terminal colours).
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "color_message",
}


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD}


#: Query parameters whose value is a credential: blanked wherever a URL is logged.
_SECRET_PARAMETER = re.compile(
    r"(?i)\b(secret|token|api_key|key|password|access_token)=([^&\s\"']*)"
)
#: Frames of a logged exception kept (innermost last): enough to find the line.
FRAMES_KEPT = 6
#: The loggers of the libraries qanat runs under, formatted like qanat's own.
LIBRARY_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "arq", "aiosmtpd")


def redact(text: str) -> str:
    """``text`` with the value of every credential-like URL parameter replaced by ``…``."""
    return _SECRET_PARAMETER.sub(lambda match: f"{match.group(1)}=…", text)


def error_summary(
    error: type[BaseException] | None,
    value: BaseException | None,
    trace: TracebackType | None,
) -> dict[str, Any]:
    """An exception as a log field: its class (and SQLSTATE) and the frames it came
    through, file and line only — never its message, which may hold citizen data."""
    summary: dict[str, Any] = {"type": error.__name__ if error else "unknown"}
    original = getattr(value, "orig", None)  # SQLAlchemy wraps the driver's error
    if original is not None:
        summary["driver"] = type(original).__name__
        sqlstate = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
        if sqlstate:
            summary["sqlstate"] = str(sqlstate)
    frames = traceback.extract_tb(trace)[-FRAMES_KEPT:]
    summary["at"] = [f"{_short(frame.filename)}:{frame.lineno} {frame.name}" for frame in frames]
    return summary


#: arq logs each job's arguments; only ids (digits) may show: a staff mail's arguments
#: are addresses and text.
_IDS_ONLY = re.compile(r"[\d, ]*")


def _message(record: logging.LogRecord) -> str:
    args = record.args
    if record.name == "arq.worker" and isinstance(args, tuple) and len(args) == 4:
        if "failed," in str(record.msg):  # "! job failed, Error: message": no message
            args = (*args[:3], "(see error)")
        elif not _IDS_ONLY.fullmatch(str(args[2])):
            args = (*args[:2], "…", args[3])
        record = logging.makeLogRecord(vars(record) | {"args": args})
    return record.getMessage()


def _short(filename: str) -> str:
    for marker in ("/qanat/", "/site-packages/"):
        if marker in filename:
            return filename.rsplit(marker, 1)[1]
    return filename.rsplit("/", 1)[-1]


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line with its ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as compact JSON."""
        entry: dict[str, Any] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": redact(_message(record)),
        }
        entry.update(_extras(record))
        if record.exc_info:
            entry["error"] = error_summary(*record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """Formats a record as one readable line: local time, level, logger, message, extras.

    An exception is named by its type (and SQLSTATE) and the line it was raised at, on
    the same line, never as a traceback or by its message.
    """

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line."""
        moment = datetime.fromtimestamp(record.created).astimezone()
        parts = [
            moment.strftime("%Y-%m-%d %H:%M:%S"),
            f"{record.levelname:<7}",
            f"{record.name}:",
            redact(_message(record)),
        ]
        parts += [f"{key}={value}" for key, value in _extras(record).items()]
        if record.exc_info:
            summary = error_summary(*record.exc_info)
            where = summary["at"][-1] if summary["at"] else "?"
            state = f" sqlstate={summary['sqlstate']}" if "sqlstate" in summary else ""
            parts.append(f"error={summary['type']}{state} at {where}")
        return " ".join(parts)


def formatter_for(log_format: str) -> logging.Formatter:
    """The formatter of ``log_format`` (``text`` or ``json``)."""
    return JsonFormatter() if log_format == "json" else TextFormatter()


def configure_logging(level: str = "INFO", *, log_format: str = "text") -> None:
    """Send qanat's logs (and its servers' and queue's) to stderr in ``log_format``
    (called once, where a process starts)."""
    handler = logging.StreamHandler()
    handler.setFormatter(formatter_for(log_format))
    root = logging.getLogger("qanat")
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in LIBRARY_LOGGERS:
        library = logging.getLogger(name)
        library.handlers[:] = [handler]
        library.propagate = False
        library.setLevel(level)
