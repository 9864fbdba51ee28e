"""The rest of ``/api``: summary, dead letters, canned replies, submissions, audit, tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlmodel import col, select

from qanat.errors import BadPayload, NotFound
from qanat.model import Kind
from qanat.store import audit, staff, views
from qanat.store.actions import dead_letters
from qanat.store.canned import canned_replies
from qanat.store.tables import Message, Ticket, utcnow
from qanat.web import schemas, work
from qanat.web.auth import AccountKeeper, Admin, DeadLetterKeeper, Submitter, Worker, client_ip
from qanat.web.deps import PageLimit, RowId, RuntimeDep
from qanat.web.work import who

router = APIRouter()


@router.get(
    "/summary", tags=["reports"], response_model=schemas.Summary, response_model_exclude_unset=True
)
async def get_summary(runtime: RuntimeDep, viewer: Admin) -> dict[str, Any]:
    """Counts per department and channel, duplicates, follow-ups, triage and dead letters."""
    async with runtime.db.session() as session:
        return await views.summary(session)


@router.get(
    "/dead-letters",
    tags=["dead letters"],
    response_model=list[schemas.DeadLetter],
    response_model_exclude_unset=True,
)
async def list_dead_letters(runtime: RuntimeDep, viewer: DeadLetterKeeper) -> list[dict[str, Any]]:
    """Messages that could not be processed, with their reasons (newest first)."""
    async with runtime.db.session() as session:
        rows = await dead_letters(session)
    return [
        {
            "id": m.id,
            "channel": m.channel,
            "account": m.account,
            "external_id": m.external_id,
            "received_at": m.received_at.isoformat(),
            "reason": m.state_reason,
            "attempts": m.attempts,
        }
        for m in rows
    ]


@router.post(
    "/dead-letters/{message_id}/retry",
    tags=["dead letters"],
    response_model=schemas.Retried,
    response_model_exclude_unset=True,
)
async def retry_dead_letter(
    request: Request, runtime: RuntimeDep, viewer: DeadLetterKeeper, message_id: RowId
) -> dict[str, Any]:
    """Send a dead letter through the pipeline again (after the cause is fixed)."""
    attempt = await work.retry(runtime, who(request, viewer), message_id)
    async with runtime.db.session() as session:
        message = await session.get(Message, message_id)
    assert message is not None
    return {"id": message_id, "attempt": attempt, "state": message.state}


@router.get(
    "/canned-replies",
    tags=["tickets"],
    response_model=list[schemas.CannedReply],
    response_model_exclude_unset=True,
)
async def list_canned(runtime: RuntimeDep, viewer: Worker) -> list[dict[str, str]]:
    """Ready-made replies in Arabic and English; ``{reference}`` and ``{name}`` are filled in."""
    async with runtime.db.session() as session:
        replies = await canned_replies(session)
    return [
        {"key": c.key, "name_ar": c.name_ar, "name_en": c.name_en, "ar": c.text_ar, "en": c.text_en}
        for c in replies
    ]


class SubmissionIn(BaseModel):
    """A block representative's report; ``client_id`` makes a retried upload safe."""

    text: str = Field(min_length=1, max_length=10_000)
    subject: str | None = Field(default=None, max_length=300)
    kind: Kind | None = None
    building: str | None = Field(default=None, max_length=20)
    road: str | None = Field(default=None, max_length=20)
    block: str | None = Field(default=None, max_length=10)
    client_id: str | None = Field(default=None, max_length=120)


@router.post(
    "/submissions",
    status_code=201,
    tags=["submissions"],
    response_model=schemas.Submission,
    response_model_exclude_unset=True,
)
async def submit(runtime: RuntimeDep, viewer: Submitter, body: SubmissionIn) -> dict[str, Any]:
    """Report a problem as a block's representative (their own block is used)."""
    saved, reference = await work.submit_report(runtime, viewer, **body.model_dump())
    return {"message_id": saved.message_id, "created": saved.created, "reference": reference}


@router.get(
    "/audit",
    tags=["admin"],
    response_model=list[schemas.AuditRow],
    response_model_exclude_unset=True,
)
async def list_audit(
    runtime: RuntimeDep, viewer: Admin, ticket: str | None = None, limit: PageLimit = 200
) -> list[dict[str, Any]]:
    """The audit log, newest first (optionally for one ticket reference)."""
    async with runtime.db.session() as session:
        ticket_id = None
        if ticket:
            ticket_id = (
                await session.execute(select(Ticket.id).where(col(Ticket.reference) == ticket))
            ).scalar_one_or_none()
            if ticket_id is None:
                raise NotFound(f"no ticket {ticket}")
        return await audit.recent(session, limit=min(limit, 1000), ticket_id=ticket_id)


class TokenIn(BaseModel):
    """A new API token: who it acts as, what it may do, and for how long."""

    name: str = Field(min_length=1, max_length=120)
    username: str
    scopes: list[str] = Field(default_factory=lambda: ["read"])
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


@router.get(
    "/tokens", tags=["admin"], response_model=list[schemas.Token], response_model_exclude_unset=True
)
async def list_tokens(runtime: RuntimeDep, viewer: AccountKeeper) -> list[dict[str, Any]]:
    """Every API token (never its secret)."""
    async with runtime.db.session() as session:
        return await staff.api_tokens(session)


@router.post(
    "/tokens",
    status_code=201,
    tags=["admin"],
    response_model=schemas.TokenCreated,
    response_model_exclude_unset=True,
)
async def create_token(
    request: Request, runtime: RuntimeDep, viewer: AccountKeeper, body: TokenIn
) -> dict[str, Any]:
    """Issue a token; the secret is in this response only."""
    expires = utcnow() + timedelta(days=body.expires_in_days) if body.expires_in_days else None
    async with runtime.db.writing() as session:
        user = await staff.user_named(session, username=body.username)
        if user is None or user.id is None:
            raise BadPayload(f"no active account {body.username!r}")
        try:
            token, secret = await staff.create_api_token(
                session,
                name=body.name,
                user_id=user.id,
                scopes=body.scopes,
                created_by_id=viewer.user_id,
                expires_at=expires,
            )
        except ValueError as exc:
            raise BadPayload(str(exc)) from exc
        detail = {"token_id": token.id, "name": body.name, "for": body.username}
        await audit.record(
            session, viewer=viewer, action="token_created", detail=detail, ip=client_ip(request)
        )
    return {"id": token.id, "token": secret, "prefix": token.prefix, "scopes": token.scopes}


@router.delete(
    "/tokens/{token_id}",
    tags=["admin"],
    response_model=schemas.TokenRevoked,
    response_model_exclude_unset=True,
)
async def revoke_token(
    request: Request, runtime: RuntimeDep, viewer: AccountKeeper, token_id: RowId
) -> dict[str, int]:
    """Revoke a token at once."""
    async with runtime.db.writing() as session:
        if not await staff.revoke_api_token(session, token_id=token_id, now=utcnow()):
            raise NotFound(f"no live token {token_id}")
        await audit.record(
            session,
            viewer=viewer,
            action="token_revoked",
            detail={"token_id": token_id},
            ip=client_ip(request),
        )
    return {"revoked": token_id}


@router.get(
    "/reconcile-runs",
    tags=["operations"],
    response_model=list[schemas.ReconcileRun],
    response_model_exclude_unset=True,
)
async def list_reconcile_runs(
    runtime: RuntimeDep, viewer: Admin, limit: PageLimit = 100
) -> list[dict[str, Any]]:
    """The reconciliation ledger, newest first: kept forever, one row per channel account."""
    async with runtime.db.session() as session:
        return await views.reconcile_runs(session, limit=max(1, min(limit, 1000)))


@router.get(
    "/channels",
    tags=["operations"],
    response_model=list[schemas.ChannelStatus],
    response_model_exclude_unset=True,
)
async def list_channels(runtime: RuntimeDep, viewer: Admin) -> list[dict[str, Any]]:
    """Channel health: last message, last success, errors and watermark per account."""
    async with runtime.db.session() as session:
        return await views.channel_status(session)


@router.get(
    "/contact-suggestions",
    tags=["contacts"],
    response_model=list[schemas.ContactSuggestion],
    response_model_exclude_unset=True,
)
async def list_merge_suggestions(runtime: RuntimeDep, viewer: Admin) -> list[dict[str, Any]]:
    """Contacts shown to be one citizen (a shared identity), waiting for staff to merge."""
    async with runtime.db.session() as session:
        return await views.merge_suggestions(session)
