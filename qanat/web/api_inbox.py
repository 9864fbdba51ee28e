"""The list's own API: live queue counts and bulk actions on many tickets at once.

Bulk actions go ticket by ticket through :mod:`qanat.web.work` (the same checks as one at
a time: a ticket the viewer cannot see is "not found", one they may not change is "not
allowed"); the answer says which were done and why the others were not.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from qanat.errors import BadPayload, NotFound
from qanat.store import inbox
from qanat.store.tables import utcnow
from qanat.web import panel, work
from qanat.web.auth import Reader, Worker, client_ip
from qanat.web.deps import RuntimeDep

router = APIRouter(tags=["inbox"])

#: At most this many tickets in one bulk action.
BULK_LIMIT = 200


class QueueCounts(BaseModel):
    """How many tickets each of the viewer's queues holds now; a count above ``cap`` means
    "more than ``cap``" (counting stops there)."""

    counts: dict[str, int]
    cap: int = inbox.QUEUE_COUNT_CAP


@router.get("/inbox/counts", response_model=QueueCounts, response_model_exclude_unset=True)
async def queue_counts(runtime: RuntimeDep, viewer: Reader) -> QueueCounts:
    """The viewer's queues and how many tickets each holds (the list refreshes them live)."""
    queues = inbox.queues_for(viewer)
    async with runtime.db.session() as session:
        counts = await inbox.queue_counts(session, viewer=viewer, queues=queues, now=utcnow())
    return QueueCounts(counts=counts)


class BulkIn(BaseModel):
    """One action for many tickets: assign (to ``username``; empty: nobody), transfer (to
    ``department``, with ``reason``), close (with ``reason``) or link as duplicates of
    ``primary_reference``."""

    references: list[str] = Field(min_length=1, max_length=BULK_LIMIT)
    action: Literal["assign", "transfer", "close", "link"]
    username: str | None = Field(default=None, max_length=120)
    department: str | None = Field(default=None, max_length=60)
    reason: str | None = Field(default=None, max_length=2000)
    primary_reference: str | None = Field(default=None, max_length=30)


class BulkOut(BaseModel):
    """Which tickets were changed, and for the others the reason (a message key such as
    ``error_not_allowed`` or ``error_not_found_reference``)."""

    done: list[str]
    failed: dict[str, str]


def _missing(body: BulkIn) -> str | None:
    """What the action needs and the body lacks."""
    if body.action in ("transfer", "close") and not (body.reason or "").strip():
        return "reason"
    if body.action == "transfer" and not body.department:
        return "department"
    if body.action == "link" and not body.primary_reference:
        return "primary_reference"
    return None


async def _one(runtime: RuntimeDep, who: work.Request, reference: str, body: BulkIn) -> None:
    reason = (body.reason or "").strip()
    if body.action == "assign":
        if body.username and body.username == who.viewer.username:
            await work.take(runtime, who, reference)
        else:
            await work.assign(runtime, who, reference, body.username or None)
    elif body.action == "transfer":
        await work.transfer(runtime, who, reference, body.department or "", reason)
    elif body.action == "close":
        await work.update(runtime, who, reference, status="closed", reason=reason)
    else:
        await work.link(runtime, who, reference, (body.primary_reference or "").strip().upper())


@router.post("/tickets/bulk", response_model=BulkOut, response_model_exclude_unset=True)
async def bulk(request: Request, runtime: RuntimeDep, viewer: Worker, body: BulkIn) -> BulkOut:
    """Assign, transfer, close or link many tickets; each is checked as if done alone."""
    missing = _missing(body)
    if missing:
        raise BadPayload(f"{body.action} needs {missing}")
    who = work.Request(viewer=viewer, ip=client_ip(request))
    done: list[str] = []
    failed: dict[str, str] = {}
    for reference in dict.fromkeys(r.strip().upper() for r in body.references):
        try:
            await _one(runtime, who, reference, body)
        except (BadPayload, NotFound, HTTPException) as exc:
            failed[reference] = panel.refusal_key(exc)
        else:
            done.append(reference)
    return BulkOut(done=done, failed=failed)
