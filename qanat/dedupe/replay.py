"""A labelled stream of requests, replayed: what qanat links compared with what a body's
own history says (``qanat dedupe replay``).

A stream is JSON Lines as ``qanat import`` takes them, each line optionally labelled:
``"duplicate": true`` when the body closed it as a duplicate, ``"duplicate_of": "…"``
naming the original's ``external_id`` when it is known. The labels are read here and
left out of what is imported; the requests go through the real pipeline, in time order,
into a scratch store, and :func:`tally` compares its links with the labels.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

#: The label keys a stream's line may carry besides the message.
LABELS = ("duplicate", "duplicate_of")


@dataclass(frozen=True)
class Label:
    """What a body's history says of one request."""

    duplicate: bool
    original: str | None  # the original's external id, when named


@dataclass
class Tally:
    """What qanat did with the stream, against its labels."""

    requests: int = 0
    labelled_duplicates: int = 0
    named: int = 0  # duplicates naming an original that is in the stream
    named_found: int = 0  # …on one ticket with it
    links: int = 0
    duplicates_linked: int = 0
    false_links: int = 0  # links of requests the body did not call duplicates
    suggestions: int = 0
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The figures, with the false-link share of the non-duplicates."""
        others = self.requests - self.labelled_duplicates
        return {
            "requests": self.requests,
            "labelled_duplicates": self.labelled_duplicates,
            "named_originals": self.named,
            "named_found": self.named_found,
            "links": self.links,
            "duplicates_linked": self.duplicates_linked,
            "false_links": self.false_links,
            "false_link_share": round(self.false_links / others, 4) if others else 0.0,
            "suggestions": self.suggestions,
        }


def split_stream(source: Path, target: Path) -> tuple[dict[str, Label], list[int]]:
    """Write ``source``'s lines to ``target`` in time order without their labels; return
    the labels by external id and the numbers of lines that are not JSON objects (left
    for the import to report)."""
    rows: list[tuple[str, int, dict[str, Any] | str]] = []
    labels: dict[str, Label] = {}
    unreadable: list[int] = []
    with source.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                record = None
            if not isinstance(record, dict):
                unreadable.append(number)
                rows.append(("", number, line.strip()))
                continue
            original = record.pop("duplicate_of", None)
            duplicate = bool(record.pop("duplicate", False)) or original is not None
            external = str(record.get("external_id", ""))
            labels[external] = Label(duplicate, str(original) if original else None)
            rows.append((str(record.get("received_at", "")), number, record))
    rows.sort(key=lambda row: (_instant(row[0]), row[1]))
    with target.open("w", encoding="utf-8") as out:
        for _when, _number, record in rows:
            text = record if isinstance(record, str) else json.dumps(record, ensure_ascii=False)
            out.write(text + "\n")
    return labels, unreadable


def _instant(text: str) -> float:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return float("inf")  # unreadable times go last; the import says what is wrong


def tally(
    labels: Mapping[str, Label],
    filed: Mapping[str, int],
    primary_of: Mapping[int, int],
    suggestions: int,
) -> Tally:
    """Compare links with labels. ``filed`` maps each request's external id to its ticket,
    ``primary_of`` a ticket to its cluster's primary (itself when on its own)."""
    found = Tally(suggestions=suggestions)

    def cluster(external: str) -> int | None:
        ticket = filed.get(external)
        return None if ticket is None else primary_of.get(ticket, ticket)

    for external, label in labels.items():
        ticket = filed.get(external)
        if ticket is None:
            continue
        found.requests += 1
        found.labelled_duplicates += label.duplicate
        linked = primary_of.get(ticket, ticket) != ticket
        if linked:
            found.links += 1
            found.duplicates_linked += label.duplicate
            found.false_links += not label.duplicate
        if label.original and label.original in filed and label.original != external:
            found.named += 1
            found.named_found += cluster(label.original) == cluster(external)
    return found


def primaries(rows: Iterable[tuple[int, int | None]]) -> dict[int, int]:
    """Each ticket's primary (itself when it has none) from (ticket, primary) rows."""
    return {ticket: primary or ticket for ticket, primary in rows}
