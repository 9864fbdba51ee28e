"""On the ticket page: its inspections (and asking for one), the upstream request it came
from, and forwarding it to the body it belongs to. Forms here; the same in the API.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from qanat.errors import BadPayload
from qanat.jobs.field_visits import Who, create_inspection
from qanat.outbound.forwarding import forward_targets, queue_forward, request_forward
from qanat.outbound.notices import send_due_notices, tell_citizens
from qanat.outbound.upstream import upstream_accounts
from qanat.runtime import Runtime
from qanat.store import federation, inspections
from qanat.store.access import Viewer, visible_ticket
from qanat.store.links import duplicates_of
from qanat.store.tables import Ticket, User
from qanat.web import schemas
from qanat.web.auth import Reader, Worker, client_ip, ensure, may
from qanat.web.deps import RuntimeDep
from qanat.web.field_json import inspection_json

router = APIRouter(include_in_schema=False)
api_router = APIRouter(tags=["inspections"])


async def ticket_extras(
    session: AsyncSession, runtime: Runtime, ticket: Ticket, viewer: Viewer
) -> dict[str, Any]:
    """What the ticket page shows of inspections and federation."""
    assert ticket.id is not None
    held = await inspections.of_ticket(session, ticket_id=ticket.id)
    people: list[User] = []
    if may(viewer, "inspections.create"):
        people = list(
            (
                await session.execute(
                    select(User)
                    .where(col(User.role) == inspections.INSPECTOR, col(User.active).is_(True))
                    .order_by(col(User.username))
                )
            ).scalars()
        )
    upstream = await federation.upstream_requests(
        session, ticket_ids=[ticket.id], accounts=upstream_accounts(runtime.accounts)
    )
    return {
        "inspections": held,
        "inspectors": people,
        "open_inspection": any(i.status == inspections.OPEN for i in held),
        "upstream": upstream.get(ticket.id, []),
        "forwards": await federation.forwarded(session, ticket_id=ticket.id),
        "forward_targets": sorted(forward_targets(runtime.accounts)),
    }


def _due(value: str) -> datetime | None:
    if not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise BadPayload("the due time must be a date and time") from exc
    return moment if moment.tzinfo else moment.astimezone()


@router.post("/tickets/{reference}/inspection")
async def ask_for_inspection(
    request: Request,
    runtime: RuntimeDep,
    viewer: Worker,
    reference: str,
    what: Annotated[str, Form(max_length=2000)],
    inspector: Annotated[str, Form(max_length=120)] = "",
    due_at: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Ask for a field inspection of the ticket's cluster."""
    ensure(viewer, "inspections.create")
    who = Who(viewer=viewer, ip=client_ip(request))
    await create_inspection(
        runtime, who, reference, what=what, inspector=inspector or None, due_at=_due(due_at)
    )
    return RedirectResponse(f"/tickets/{reference}?done=inspection", status_code=303)


async def forward(runtime: Runtime, who: Who, reference: str, account: str) -> dict[str, Any]:
    """Forward the ticket to another body; where the forward stands."""
    async with runtime.db.writing() as session:
        ticket = await visible_ticket(session, viewer=who.viewer, reference=reference)
        ensure(who.viewer, "tickets.transfer")
        row, fresh = await request_forward(
            session,
            accounts=runtime.accounts,
            ticket=ticket,
            account=account,
            actor=who.viewer.actor,
        )
        told: list[int] = []
        if fresh:  # every reporter of the cluster hears where it went, once per body
            target = forward_targets(runtime.accounts).get(account, {})
            body = {
                "ar": str(target.get("name_ar") or target.get("name") or account),
                "en": str(target.get("name_en") or target.get("name") or account),
            }
            cluster = [ticket, *await duplicates_of(session, ticket=ticket)]
            told = await tell_citizens(
                session,
                settings=runtime.settings,
                tickets=cluster,
                kind="transferred",
                values={"body": body},
                key=f"transferred:{account}",  # a forward tried again tells nobody twice
            )
    if fresh:
        await queue_forward(runtime, row)
    await send_due_notices(runtime, ticket_ids=told)
    async with runtime.db.session() as session:
        [now] = [
            f
            for f in await federation.forwarded(session, ticket_id=row.ticket_id)
            if f.id == row.id
        ]
    return {
        "account": now.account,
        "state": now.state,
        "service_request_id": now.service_request_id,
        "token": now.token,
        "detail": now.detail,
    }


@router.post("/tickets/{reference}/forward")
async def forward_form(
    request: Request,
    runtime: RuntimeDep,
    viewer: Worker,
    reference: str,
    account: Annotated[str, Form(max_length=120)],
) -> Response:
    """Forward the ticket to the body it belongs to (their Open311 endpoint)."""
    found = await forward(runtime, Who(viewer=viewer, ip=client_ip(request)), reference, account)
    return RedirectResponse(f"/tickets/{reference}?done=forward_{found['state']}", status_code=303)


class InspectionIn(BaseModel):
    """Asking for an inspection through the API."""

    what: str = Field(min_length=1, max_length=2000)
    inspector: str | None = None
    due_at: datetime | None = None


class ForwardIn(BaseModel):
    """Forwarding through the API: the body's Open311 account name."""

    account: str = Field(min_length=1, max_length=120)


@api_router.post(
    "/tickets/{reference}/inspections",
    status_code=201,
    response_model=schemas.InspectionAnswer,
    response_model_exclude_unset=True,
)
async def ask_for_inspection_api(
    request: Request, runtime: RuntimeDep, viewer: Reader, reference: str, body: InspectionIn
) -> dict[str, Any]:
    """Ask for an inspection of the ticket's cluster; the inspection made."""
    ensure(viewer, "inspections.create")
    who = Who(viewer=viewer, ip=client_ip(request))
    made = await create_inspection(
        runtime, who, reference, what=body.what, inspector=body.inspector, due_at=body.due_at
    )
    return inspection_json(made)


@api_router.post(
    "/tickets/{reference}/forward",
    response_model=schemas.Forwarded,
    response_model_exclude_unset=True,
)
async def forward_api(
    request: Request, runtime: RuntimeDep, viewer: Reader, reference: str, body: ForwardIn
) -> dict[str, Any]:
    """Forward the ticket to another body; the forward's state and the reference it got."""
    return await forward(
        runtime, Who(viewer=viewer, ip=client_ip(request)), reference, body.account
    )
