"""A worker's candidate index kept on disk between runs, so a restart is ready in seconds.

At a million open tickets, reading them from the store and working out each one's
words and language takes most of a minute; reading them back from a snapshot and
filing them (:meth:`CandidateIndex.of`) takes a fraction of it. The snapshot is JSON
Lines: a header, then one line per open ticket with its index entry.

A snapshot is only a shortcut. It is used when the code that builds entries is the code
that wrote it (:func:`code_mark`) and the store still holds the last event it had read
(:mod:`qanat.dedupe.live` checks that); the events after it are then applied as at any
catch-up. Anything else — a missing, partial or foreign file, another qanat version,
another or restored database — and the worker loads from the store as before.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import Any

from qanat.dedupe import index as index_module
from qanat.dedupe import text as text_module
from qanat.dedupe.index import Entry, entry_from
from qanat.normalize import text as normalize_text

log = logging.getLogger(__name__)

FORMAT = 1
#: An entry's fields, in the order a line lists them after the ticket id.
ENTRY_FIELDS = tuple(field.name for field in fields(Entry))


@dataclass(frozen=True)
class Header:
    """What a snapshot says of itself: who wrote it and how far it had read the store."""

    code: str
    #: The last event read, and the ticket and time it records: the store's fingerprint.
    last_event_id: int
    last_event: tuple[int | None, str]
    gaps: tuple[int, ...]
    count: int


def code_mark() -> str | None:
    """A digest of the code that makes an index entry (the words, the language, the keys):
    a snapshot written by other code is not used. None where that code cannot be read
    (a frozen build): then no snapshot is written or read."""
    digest = hashlib.sha256(f"{FORMAT}:{','.join(ENTRY_FIELDS)}".encode())
    for module in (index_module, text_module, normalize_text):
        if not module.__file__:
            return None
        try:
            digest.update(Path(module.__file__).read_bytes())
        except OSError:
            return None
    return digest.hexdigest()[:32]


#: A partial file this old was left by a writer that was stopped: it is removed.
STALE_PARTIAL_SECONDS = 3600.0


def write_snapshot(path: Path, header: Header, tickets: Iterable[tuple[int, Entry]]) -> None:
    """Write a snapshot beside ``path`` and move it into place (a reader never sees half;
    several workers sharing the folder each write their own partial file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for left in path.parent.glob(f".{path.name}.*.partial"):
        with contextlib.suppress(OSError):
            if time.time() - left.stat().st_mtime > STALE_PARTIAL_SECONDS:
                left.unlink()
    partial = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.partial")
    try:
        with partial.open("w", encoding="utf-8") as out:
            out.write(json.dumps({"format": FORMAT, **_header_fields(header)}) + "\n")
            for ticket_id, entry in tickets:
                out.write(json.dumps([ticket_id, *_values(entry)], ensure_ascii=False) + "\n")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def read_header(path: Path) -> Header | None:
    """A snapshot's header, or None when there is no usable snapshot at ``path``."""
    try:
        with path.open(encoding="utf-8") as lines:
            found = json.loads(lines.readline())
        if found.get("format") != FORMAT:
            return None
        ticket, at = found["last_event"]
        return Header(
            code=str(found["code"]),
            last_event_id=int(found["last_event_id"]),
            last_event=(None if ticket is None else int(ticket), str(at)),
            gaps=tuple(int(i) for i in found["gaps"]),
            count=int(found["count"]),
        )
    except FileNotFoundError:
        return None
    except _UNREADABLE as exc:
        _unreadable(path, exc)
        return None


def read_entries(path: Path, count: int) -> list[tuple[int, Entry]] | None:
    """The tickets a snapshot holds; None when it does not hold the ``count`` its header
    promised, whole (a file cut short, or changed)."""
    try:
        tickets = list(_entries(path))
    except _UNREADABLE as exc:
        _unreadable(path, exc)
        return None
    return tickets if len(tickets) == count else None


#: What reading a snapshot that is cut short, broken or of another shape raises.
_UNREADABLE = (OSError, ValueError, KeyError, TypeError)


def _unreadable(path: Path, exc: Exception) -> None:
    log.warning("the dedupe index snapshot %s is unreadable (%s)", path, type(exc).__name__)


def _entries(path: Path) -> Iterator[tuple[int, Entry]]:
    with path.open(encoding="utf-8") as lines:
        lines.readline()  # the header
        for line in lines:
            ticket_id, *values = json.loads(line)
            found: dict[str, Any] = dict(zip(ENTRY_FIELDS, values, strict=True))
            found["created_at"] = datetime.fromisoformat(found["created_at"])
            yield int(ticket_id), entry_from(found)


def _header_fields(header: Header) -> dict[str, Any]:
    return {
        "code": header.code,
        "last_event_id": header.last_event_id,
        "last_event": list(header.last_event),
        "gaps": list(header.gaps),
        "count": header.count,
    }


def _values(entry: Entry) -> list[Any]:
    values = [getattr(entry, name) for name in ENTRY_FIELDS]
    values[ENTRY_FIELDS.index("created_at")] = entry.created_at.isoformat()
    return values
