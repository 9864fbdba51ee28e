"""The REST API under ``/api``: tickets, their timelines, the summary and dead letters."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from qanat.errors import NotFound
from qanat.store import views
from qanat.web.deps import SessionDep

router = APIRouter(tags=["tickets"])


@router.get("/tickets")
async def list_tickets(
    session: SessionDep,
    status: str | None = None,
    department: str | None = None,
    channel: str | None = None,
    limit: int = Query(default=50, ge=1, le=500),
    offset: int = Query(default=0, ge=0),
) -> list[dict[str, Any]]:
    """Tickets, newest first, with the inbox's filters."""
    return await views.list_tickets(
        session, status=status, department=department, channel=channel, limit=limit, offset=offset
    )


@router.get("/tickets/{reference}")
async def get_ticket(session: SessionDep, reference: str) -> dict[str, Any]:
    """One ticket's timeline: messages, events (routing reason, duplicate links), duplicates."""
    detail = await views.ticket_detail(session, reference=reference)
    if detail is None:
        raise NotFound(f"no ticket {reference}")
    return detail


@router.get("/summary")
async def get_summary(session: SessionDep) -> dict[str, Any]:
    """Counts per department and channel, duplicates, follow-ups, triage and dead letters."""
    return await views.summary(session)


@router.get("/dead-letters")
async def list_dead_letters(session: SessionDep) -> list[dict[str, Any]]:
    """Messages that could not be processed, with their reasons."""
    return await views.dead_letters(session)


@router.get("/reconcile-runs")
async def list_reconcile_runs(
    session: SessionDep, limit: int = Query(default=100, ge=1, le=1000)
) -> list[dict[str, Any]]:
    """The reconciliation ledger, newest first: kept forever, one row per channel account."""
    return await views.reconcile_runs(session, limit=limit)


@router.get("/channels")
async def list_channels(session: SessionDep) -> list[dict[str, Any]]:
    """Channel health: last message, last success, errors and watermark per account."""
    return await views.channel_status(session)
