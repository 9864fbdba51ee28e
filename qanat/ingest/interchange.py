"""The JSON Lines interchange formats: reading ``qanat import`` files, writing exports."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from qanat.ingest.base import Intake
from qanat.model import Inbound


@dataclass(frozen=True)
class BadLine:
    """A line of an import file that could not be read, with the reason."""

    line: int
    reason: str


@dataclass
class ImportReport:
    """What an import did: new messages, ones seen before, and the lines it refused."""

    saved: int = 0
    already_known: int = 0
    bad_lines: list[BadLine] = field(default_factory=list)


def parse_line(text: str) -> Inbound:
    """One import line as an :class:`Inbound`; its exact bytes are kept as the raw payload.

    Raises ``ValueError`` with a readable reason.
    """
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg} at column {exc.colno}") from exc
    if not isinstance(record, dict):
        raise ValueError("a line must hold one JSON object")
    try:
        inbound = Inbound.model_validate(record)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'record'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ValueError(problems) from exc
    return inbound.model_copy(update={"raw": text.encode()})


def unknown_channel(inbound: Inbound, channels: Collection[str] | None) -> str | None:
    """Why ``inbound`` cannot be taken when its channel is not one of ``channels`` (None:
    every channel is taken): a ticket on a channel no connector or filter knows would be
    lost from sight."""
    if channels is None or inbound.channel in channels:
        return None
    return (
        f"channel: {inbound.channel!r} is not a channel qanat knows ({', '.join(channels)}); "
        "install its connector first"
    )


def read_lines(path: Path) -> Iterator[tuple[int, Inbound | BadLine]]:
    """Each non-blank line of ``path`` with its number: a record, or why it isn't one."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                text = raw.decode("utf-8").strip()
            except UnicodeDecodeError as exc:
                yield number, BadLine(number, f"not UTF-8: {exc.reason} at byte {exc.start}")
                continue
            if not text:
                continue
            try:
                yield number, parse_line(text)
            except ValueError as exc:
                yield number, BadLine(number, str(exc))


def count_lines(path: Path) -> int:
    """How many lines ``path`` has (for the progress bar)."""
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


async def import_file(
    intake: Intake,
    path: Path,
    *,
    advance: Callable[[], None] | None = None,
    channels: Collection[str] | None = None,
) -> ImportReport:
    """Save every good line of ``path`` through the intake (save raw, then process).

    Each message is committed on its own, so a bad line or an interruption leaves
    nothing half-written; importing the same file again adds nothing. With ``channels``,
    a line on any other channel is a bad line.
    """
    report = ImportReport()
    for number, item in read_lines(path):
        refusal = None if isinstance(item, BadLine) else unknown_channel(item, channels)
        if refusal is not None:
            report.bad_lines.append(BadLine(number, refusal))
        elif isinstance(item, BadLine):
            report.bad_lines.append(item)
        else:
            result = await intake.save(item)
            if result.created:
                report.saved += 1
            else:
                report.already_known += 1
        if advance is not None:
            advance()
    return report
