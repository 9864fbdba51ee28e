"""Ticket actions as the API and the pages both call them: find, check, change, tell.

Each function first finds the ticket among those the viewer may see (404 otherwise),
then checks the role may do the action (403), then changes it in one transaction.
Replies leave after the transaction commits, so a slow channel never holds the store.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from fastapi import Request as HttpRequest
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from qanat.errors import BadPayload, NotFound
from qanat.ingest.base import SaveResult
from qanat.model import Inbound, Kind, Location, Sender, TicketStatus, Visibility
from qanat.outbound import replies
from qanat.outbound.notices import send_due_notices, tell_citizens
from qanat.outbound.replies import ReplyResult
from qanat.outbound.upstream import queue_status_updates
from qanat.router.pauses import recount_clocks, resume_clock
from qanat.runtime import Runtime
from qanat.store import actions, contacts
from qanat.store.access import (
    REPRESENTATIVE_ACCOUNT,
    REPRESENTATIVE_CHANNEL,
    Viewer,
    visible_ticket,
)
from qanat.store.tables import Ticket, User, utcnow
from qanat.web.auth import client_ip, ensure
from qanat.web.public_intake import save_report


@dataclass(frozen=True)
class Request:
    """Who acts and from where: the viewer and their address for the audit log."""

    viewer: Viewer
    ip: str | None = None


def who(request: HttpRequest, viewer: Viewer) -> Request:
    """The acting viewer and their address, for an API call or a page's form alike."""
    return Request(viewer=viewer, ip=client_ip(request))


async def _ticket(session: AsyncSession, who: Request, reference: str, permission: str) -> Ticket:
    """The ticket, locked for the change: 404 unless visible, then 403 unless allowed."""
    ticket = await visible_ticket(session, viewer=who.viewer, reference=reference, for_update=True)
    ensure(who.viewer, permission)
    return ticket


async def reply(
    runtime: Runtime,
    who: Request,
    reference: str,
    text: str,
    visibility: Visibility | None = None,
) -> ReplyResult:
    """Reply to the citizen on their channel (``visibility``: public or private, on X).

    Whoever answers a ticket nobody holds takes it, and a new ticket becomes open: an
    answered ticket leaves the unassigned queue and the "new" count.
    """
    async with runtime.db.writing() as session:
        ticket = await _ticket(session, who, reference, "tickets.work")
        message_id, _answer = await replies.queue_reply(
            session, ticket=ticket, text=text, viewer=who.viewer, ip=who.ip, visibility=visibility
        )
        await _take_on_reply(session, who, ticket)
    return await replies.send_queued(runtime, message_id)


async def _take_on_reply(session: AsyncSession, who: Request, ticket: Ticket) -> None:
    """The replier takes an unassigned ticket (if they can hold it) and a new one opens."""
    viewer = who.viewer
    can_hold = viewer.role in actions.ASSIGNABLE_ROLES and (
        viewer.role == "admin" or viewer.department_id == ticket.department_id
    )
    if ticket.assignee_id is None and can_hold:
        await actions.assign(
            session, viewer=viewer, ticket=ticket, assignee_id=viewer.user_id, ip=who.ip
        )
    if ticket.status == TicketStatus.new.value:
        await actions.set_status(
            session, viewer=viewer, ticket=ticket, status=TicketStatus.open.value, ip=who.ip
        )


async def _status_notices(
    session: AsyncSession,
    runtime: Runtime,
    ticket: Ticket,
    followers: list[Ticket],
    resolution_text: str | None,
    reason: str | None,
) -> list[int]:
    """The citizens' notices of a status change, decided in its transaction: on hold
    (with what is needed), resolved (with the resolution, every reporter of the cluster,
    then the survey). Returns the tickets whose citizens will be told."""
    settings = runtime.settings
    if ticket.status == TicketStatus.pending.value:
        values = {"needed": (reason or "").strip()}
        return await tell_citizens(
            session, settings=settings, tickets=[ticket], kind="pending", values=values
        )
    if ticket.status in (TicketStatus.resolved.value, TicketStatus.closed.value):
        values = {"resolution": (resolution_text or "").strip()}
        return await tell_citizens(
            session,
            settings=settings,
            tickets=[ticket, *followers],
            kind="resolved",
            values=values,
            survey=True,
        )
    return []


async def note(runtime: Runtime, who: Request, reference: str, text: str) -> int:
    """Add an internal note; returns its id."""
    async with runtime.db.writing() as session:
        ticket = await _ticket(session, who, reference, "tickets.work")
        added = await actions.add_note(
            session, viewer=who.viewer, ticket=ticket, text=text, ip=who.ip
        )
    assert added.id is not None
    return added.id


async def assign(runtime: Runtime, who: Request, reference: str, username: str | None) -> None:
    """Give the ticket to ``username`` (None: nobody). Taking it oneself is ``take``."""
    async with runtime.db.writing() as session:
        ticket = await _ticket(session, who, reference, "tickets.assign")
        assignee_id = None
        if username:
            found = await session.execute(select(User.id).where(col(User.username) == username))
            assignee_id = found.scalar_one_or_none()
            if assignee_id is None:
                raise BadPayload(f"no member of staff {username!r}")
        await actions.assign(
            session, viewer=who.viewer, ticket=ticket, assignee_id=assignee_id, ip=who.ip
        )


async def take(runtime: Runtime, who: Request, reference: str) -> None:
    """Assign the ticket to oneself."""
    async with runtime.db.writing() as session:
        ticket = await _ticket(session, who, reference, "tickets.work")
        await actions.assign(
            session, viewer=who.viewer, ticket=ticket, assignee_id=who.viewer.user_id, ip=who.ip
        )


async def _recount(
    session: AsyncSession, runtime: Runtime, who: Request, ticket: Ticket, reason: str
) -> None:
    """After a staff correction: the ticket's due times under the SLA that now applies."""
    await recount_clocks(
        session,
        rules=runtime.rules(),
        tz=runtime.settings.tz,
        ticket=ticket,
        actor=who.viewer.actor,
        reason=reason,
    )


async def transfer(
    runtime: Runtime, who: Request, reference: str, department: str, reason: str
) -> None:
    """Move the ticket to another department, with the reason; its SLA becomes theirs."""
    async with runtime.db.writing() as session:
        ticket = await _ticket(session, who, reference, "tickets.transfer")
        moved = await actions.transfer(
            session,
            viewer=who.viewer,
            ticket=ticket,
            department=department,
            reason=reason,
            ip=who.ip,
        )
        for each in moved:
            await _recount(session, runtime, who, each, f"transferred to {department}")


async def update(
    runtime: Runtime,
    who: Request,
    reference: str,
    *,
    kind: str | None = None,
    priority: str | None = None,
    status: str | None = None,
    resolution_text: str | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """Change kind, priority or status; resolving a primary resolves and tells its duplicates.

    ``reason`` says why the status changed (a close asks for one). ``resolution_text``,
    when given with a resolving status, also goes to the ticket's
    own citizen; the duplicates' citizens get it too (else the canned "resolved" reply).
    A new kind or priority brings the SLA row that fits it (due times counted again).
    """
    async with runtime.db.writing() as session:
        ticket = await _ticket(session, who, reference, "tickets.work")
        before = (ticket.kind, ticket.priority)
        await actions.change(
            session, viewer=who.viewer, ticket=ticket, kind=kind, priority=priority, ip=who.ip
        )
        if (ticket.kind, ticket.priority) != before:
            await _recount(session, runtime, who, ticket, f"{ticket.kind}, {ticket.priority}")
        followers: list[Ticket] = []
        noticed: list[int] = []
        if status:
            paused = ticket.sla_paused_at is not None
            before_status = ticket.status
            followers = await actions.set_status(
                session, viewer=who.viewer, ticket=ticket, status=status, ip=who.ip, reason=reason
            )
            if ticket.status != before_status:
                noticed = await _status_notices(
                    session, runtime, ticket, followers, resolution_text, reason
                )
            if paused and ticket.sla_paused_at is None:  # no longer waiting on the citizen
                await resume_clock(
                    session,
                    rules=runtime.rules(),
                    tz=runtime.settings.tz,
                    ticket=ticket,
                    actor=who.viewer.actor,
                )
    if status:  # a federated ticket tells its upstream (the minute's sweep is the backstop)
        await queue_status_updates(runtime, ticket_ids=[t.id for t in (ticket, *followers) if t.id])
    await send_due_notices(runtime, ticket_ids=noticed)
    told: list[ReplyResult] = []
    text = (resolution_text or "").strip() or None
    # Citizens a notice tells are not told twice; staff answer the others themselves.
    if text and status in ("resolved", "closed") and ticket.id not in noticed:
        told += await replies.tell_reporters(
            runtime, tickets=[ticket], viewer=who.viewer, text=text, ip=who.ip
        )
    untold = [t for t in followers if t.id not in noticed]
    told += await replies.tell_reporters(
        runtime, tickets=untold, viewer=who.viewer, text=text, ip=who.ip
    )
    return {
        "reference": ticket.reference,
        "status": ticket.status,
        "kind": ticket.kind,
        "priority": ticket.priority,
        "duplicates_resolved": [t.reference for t in followers],
        "replies": [r.__dict__ for r in told],
    }


async def link(runtime: Runtime, who: Request, reference: str, primary_reference: str) -> str:
    """Link the ticket as a duplicate of another; returns the primary's reference."""
    async with runtime.db.writing() as session:
        ticket = await _ticket(session, who, reference, "tickets.work")
        primary = await visible_ticket(
            session, viewer=who.viewer, reference=primary_reference.strip().upper()
        )
        chosen = await actions.link_duplicate(
            session, viewer=who.viewer, ticket=ticket, primary=primary, ip=who.ip
        )
    return chosen.reference


async def dismiss_suggestion(runtime: Runtime, who: Request, reference: str) -> None:
    """Answer a possible duplicate: another problem (nothing to answer: not found)."""
    async with runtime.db.writing() as session:
        ticket = await _ticket(session, who, reference, "tickets.work")
        answered = await actions.dismiss_suggestion(
            session, viewer=who.viewer, ticket=ticket, ip=who.ip
        )
    if answered is None:
        raise NotFound(f"no suggestion on {reference}")


async def unlink(runtime: Runtime, who: Request, reference: str, reason: str | None = None) -> None:
    """Make a duplicate independent again (staff say why)."""
    async with runtime.db.writing() as session:
        ticket = await _ticket(session, who, reference, "tickets.work")
        await actions.unlink_duplicate(
            session, viewer=who.viewer, ticket=ticket, ip=who.ip, reason=reason
        )


async def delivered(runtime: Runtime, who: Request, reference: str, message_id: int) -> None:
    """Mark a reply staff delivered by hand as sent."""
    async with runtime.db.writing() as session:
        ticket = await _ticket(session, who, reference, "tickets.work")
        await replies.mark_delivered(
            session, viewer=who.viewer, ticket=ticket, message_id=message_id, ip=who.ip
        )


async def retry(runtime: Runtime, who: Request, message_id: int) -> int:
    """Put a dead letter back through the pipeline; returns the attempt number."""
    ensure(who.viewer, "dead_letters")
    async with runtime.db.writing() as session:
        attempt = await actions.retry_dead_letter(
            session, viewer=who.viewer, message_id=message_id, ip=who.ip
        )
    await runtime.queue.enqueue_processing(message_id, attempt=attempt)
    return attempt


async def submit_report(
    runtime: Runtime,
    viewer: Viewer,
    *,
    text: str,
    subject: str | None = None,
    kind: Kind | None = None,
    block: str | None = None,
    road: str | None = None,
    building: str | None = None,
    client_id: str | None = None,
) -> tuple[SaveResult, str | None]:
    """Save a representative's report through the intake, like any channel's message.

    A representative reports for their own block. Returns the save result and the
    ticket's reference once processed (None while it waits in the queue).
    """
    if viewer.role == "representative" and viewer.block:
        block = viewer.block
    inbound = Inbound(
        channel=REPRESENTATIVE_CHANNEL,
        account=REPRESENTATIVE_ACCOUNT,
        external_id=f"{viewer.username}:{client_id or uuid.uuid4().hex}",
        received_at=utcnow(),
        sender=Sender(handle=viewer.username, name=viewer.display_name),
        subject=subject,
        text=text,
        kind=kind,
        location=Location(block=block, road=road or None, building=building or None),
    )
    saved = await save_report(runtime, inbound, wait=False)
    return SaveResult(saved.message_id, saved.created), saved.reference


async def merge_contact(runtime: Runtime, who: Request, reference: str, other: str) -> int:
    """Make the citizen of ticket ``other`` the same person as this ticket's; the merge id."""
    async with runtime.db.writing() as session:
        ticket = await _ticket(session, who, reference, "tickets.work")
        second = await visible_ticket(session, viewer=who.viewer, reference=other.strip().upper())
        return await contacts.merge_contacts(
            session, viewer=who.viewer, ticket=ticket, other=second, ip=who.ip
        )


async def unmerge_contact(runtime: Runtime, who: Request, reference: str, merge_id: int) -> None:
    """Undo a contact merge recorded on the ticket."""
    async with runtime.db.writing() as session:
        ticket = await _ticket(session, who, reference, "tickets.work")
        await contacts.unmerge_contacts(
            session, viewer=who.viewer, ticket=ticket, merge_id=merge_id, ip=who.ip
        )
