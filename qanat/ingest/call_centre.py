"""Call centre: call detail records from the telephone system (Asterisk ``Master.csv``).

Each call is attached to the caller's contact (so a citizen who called, then sent an
SMS, is one contact) and to the ticket an agent logged for it; unanswered calls make
the "missed call — call back" list. Importing the same file twice adds nothing.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from qanat.model import Identity
from qanat.normalize.identity import normalize_phone
from qanat.store import queries
from qanat.store.db import Database
from qanat.store.tables import CallRecord, Message

#: Asterisk's cdr-csv columns, in order (the last two only in newer versions).
COLUMNS = (
    "accountcode",
    "src",
    "dst",
    "dcontext",
    "clid",
    "channel",
    "dstchannel",
    "lastapp",
    "lastdata",
    "start",
    "answer",
    "end",
    "duration",
    "billsec",
    "disposition",
    "amaflags",
    "uniqueid",
    "userfield",
)
#: How long after a call an agent's logged complaint still belongs to it.
LOGGING_WINDOW = timedelta(minutes=30)


@dataclass(frozen=True)
class Call:
    """One call as the CDR file records it."""

    call_id: str
    caller: str
    destination: str
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    duration_s: int
    billsec_s: int
    disposition: str


@dataclass
class CdrReport:
    """What an import did."""

    imported: int = 0
    already_known: int = 0
    missed: int = 0
    bad_rows: list[tuple[int, str]] = field(default_factory=list)


def _time(value: str, tz: ZoneInfo) -> datetime | None:
    value = value.strip()
    if not value:
        return None
    return datetime.fromisoformat(value).replace(tzinfo=tz)


def parse_row(row: list[str], tz: ZoneInfo) -> Call:
    """One CSV row as a :class:`Call` (``ValueError`` with the reason if it isn't one)."""
    if len(row) < 16:
        raise ValueError(f"{len(row)} columns, a CDR row has at least 16")
    fields = dict(zip(COLUMNS, row, strict=False))
    started = _time(fields["start"], tz)
    if started is None:
        raise ValueError("no start time")
    call_id = (
        fields.get("uniqueid", "").strip()
        or hashlib.sha256(
            f"{fields['src']}|{fields['start']}|{fields['channel']}".encode()
        ).hexdigest()[:32]
    )
    return Call(
        call_id=call_id,
        caller=fields["src"].strip(),
        destination=fields["dst"].strip(),
        started_at=started,
        answered_at=_time(fields["answer"], tz),
        ended_at=_time(fields["end"], tz),
        duration_s=int(fields["duration"] or 0),
        billsec_s=int(fields["billsec"] or 0),
        disposition=fields["disposition"].strip().upper(),
    )


def read_cdr(path: Path, tz: ZoneInfo) -> Iterator[tuple[int, Call | str]]:
    """Each row of a ``Master.csv`` (no header) with its line: a call, or why it isn't one."""
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        for number, row in enumerate(csv.reader(handle), start=1):
            if not row or not any(cell.strip() for cell in row):
                continue
            try:
                yield number, parse_row(row, tz)
            except (ValueError, KeyError) as exc:
                yield number, str(exc)


async def _logged_ticket(session: AsyncSession, contact_id: int, call: Call) -> int | None:
    until = (call.ended_at or call.started_at) + LOGGING_WINDOW
    statement = (
        select(Message.ticket_id)
        .where(
            col(Message.channel) == "call_centre",
            col(Message.contact_id) == contact_id,
            col(Message.received_at) >= call.started_at - timedelta(minutes=5),
            col(Message.received_at) <= until,
        )
        .limit(1)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def save_call(session: AsyncSession, call: Call, *, region: str) -> bool:
    """Store a call once (by call id), linked to the caller's contact and logged ticket."""
    existing = await session.execute(
        select(CallRecord.id).where(col(CallRecord.call_id) == call.call_id)
    )
    if existing.scalar_one_or_none() is not None:
        return False
    phone = normalize_phone(call.caller, region)
    contact_id = None
    if phone:
        contact_id = await queries.contact_for_identities(
            session, identities=[Identity(kind="phone", value=phone)], display_name=None
        )
    ticket_id = await _logged_ticket(session, contact_id, call) if contact_id else None
    session.add(
        CallRecord(
            call_id=call.call_id,
            caller=call.caller,
            caller_e164=phone,
            destination=call.destination,
            started_at=call.started_at,
            answered_at=call.answered_at,
            ended_at=call.ended_at,
            duration_s=call.duration_s,
            billsec_s=call.billsec_s,
            disposition=call.disposition,
            contact_id=contact_id,
            ticket_id=ticket_id,
        )
    )
    await session.flush()
    return True


async def import_cdr(db: Database, path: Path, *, tz: ZoneInfo, region: str) -> CdrReport:
    """Import a CDR file; each call commits on its own, bad rows are reported by line."""
    report = CdrReport()
    for number, item in read_cdr(path, tz):
        if isinstance(item, str):
            report.bad_rows.append((number, item))
            continue
        async with db.writing() as session:
            created = await save_call(session, item, region=region)
        report.imported += int(created)
        report.already_known += int(not created)
        report.missed += int(created and item.disposition != "ANSWERED")
    return report


async def missed_calls(session: AsyncSession) -> list[CallRecord]:
    """Unanswered calls not yet called back, with no answered call from that number after."""
    rows = (
        (
            await session.execute(
                select(CallRecord)
                .where(
                    col(CallRecord.disposition) != "ANSWERED",
                    col(CallRecord.called_back_at).is_(None),
                )
                .order_by(col(CallRecord.started_at))
            )
        )
        .scalars()
        .all()
    )
    answered = (
        await session.execute(
            select(CallRecord.caller, CallRecord.started_at).where(
                col(CallRecord.disposition) == "ANSWERED"
            )
        )
    ).all()
    return [
        call
        for call in rows
        if not any(c == call.caller and at > call.started_at for c, at in answered)
    ]


async def link_logged_call(
    session: AsyncSession, *, caller_e164: str, logged_at: datetime, ticket_id: int
) -> int:
    """Attach the records of a call imported before the agent logged it to the new ticket;
    returns how many records were attached."""
    records = (
        await session.execute(
            select(CallRecord).where(
                col(CallRecord.caller_e164) == caller_e164,
                col(CallRecord.ticket_id).is_(None),
                col(CallRecord.started_at) >= logged_at - LOGGING_WINDOW,
                col(CallRecord.started_at) <= logged_at + timedelta(minutes=5),
            )
        )
    ).scalars()
    linked = 0
    for record in records:
        record.ticket_id = ticket_id
        linked += 1
    return linked


async def mark_called_back(session: AsyncSession, *, record_id: int, at: datetime) -> bool:
    """Take a missed call off the call-back list; False when there is no such missed call."""
    record = await session.get(CallRecord, record_id)
    if record is None or record.disposition == "ANSWERED" or record.called_back_at is not None:
        return False
    record.called_back_at = at
    return True
