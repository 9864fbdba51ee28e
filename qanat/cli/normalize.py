"""``qanat normalize FILE``: see how qanat reads each message (the pipeline's own functions)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from qanat.model import Inbound, Normalized, Sender
from qanat.normalize import normalize

PARTS = ("building", "road", "block", "area", "governorate")


def normalized_json(result: Normalized) -> dict[str, Any]:
    """The operator's view of a :class:`Normalized` record (every location part listed)."""
    place = result.location.model_dump() if result.location else {}
    location: dict[str, Any] = {part: place.get(part) for part in PARTS}
    location |= {"lat": place.get("lat"), "lon": place.get("lon")}
    location["confidence"] = result.location_confidence
    return {
        "match_text": result.match_text,
        "language": result.language,
        "kind": result.kind.value,
        "location": location,
        "identities": [i.model_dump() for i in result.identities],
        "claimed": [i.model_dump() for i in result.claimed],
        "thread": result.thread.model_dump(),
        "flags": result.flags,
    }


def _inbound(record: dict[str, Any], line: int, region: str) -> Inbound:
    sender = record.get("sender") or {"handle": "operator"}
    if isinstance(sender, str):
        sender = {"handle": sender}
    return Inbound(
        channel=record.get("channel", "web"),
        external_id=f"line-{line}",
        received_at=datetime.now(UTC),
        sender=Sender.model_validate(sender),
        text=str(record["text"]),
        subject=record.get("subject"),
        in_reply_to=record.get("in_reply_to", []),
    )


def normalize_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSON Lines with text")],
    region: Annotated[str, typer.Option(help="Region for phone numbers without +")] = "BH",
) -> None:
    """Print, for each line (keys text, optional channel and sender), how qanat reads it."""
    failed = False
    with file.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                result = normalize(_inbound(record, number, region), region=region)
                out: dict[str, Any] = normalized_json(result)
            except (ValueError, KeyError, TypeError, ValidationError) as exc:
                failed = True
                out = {"line": number, "error": f"{type(exc).__name__}: {exc}"}
            sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
    if failed:
        raise typer.Exit(1)
