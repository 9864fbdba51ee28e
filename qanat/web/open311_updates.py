"""Service request updates at ``/open311/v2/servicerequestupdates`` (the GeoReport v2
extension FixMyStreet specifies): partner systems that work qanat's requests post their
status back, and anyone may list the updates of a period.

- ``POST servicerequestupdates.{fmt}``: form-encoded ``api_key`` (a key issued with
  ``--updates``), ``service_request_id``, ``update_id`` (the partner's own id: the same
  update posted twice is kept once), ``status`` (``open`` / ``closed``, any case; none: a
  note only), ``description``, ``updated_datetime``. Closed resolves the ticket, open
  reopens it; the note becomes the request's ``status_notes``. Answers
  ``[{update_id}]`` — qanat's id for the update.
- ``GET servicerequestupdates.{fmt}``: ``start_date`` / ``end_date`` (the last day by
  default, 90 days at most): ``update_id``, ``service_request_id``, ``status``,
  ``updated_datetime``, ``description``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException

from qanat.errors import NotFound, TooLarge
from qanat.normalize.thread import ticket_references
from qanat.store import open311_updates
from qanat.store.open311_updates import PartnerUpdate
from qanat.store.tables import utcnow
from qanat.web.deps import RuntimeDep
from qanat.web.limits import read_limited
from qanat.web.open311 import (
    MAX_SPAN,
    POST_MAX,
    Open311Error,
    _answer,
    _client,
    _text,
    _when,
)
from qanat.web.open311_format import render, w3

router = APIRouter(prefix="/open311", tags=["Open311"])


def _update(form: Any) -> PartnerUpdate:
    """The update a form describes; :class:`Open311Error` says what is missing or wrong."""
    given = _text(form, "service_request_id", limit=60)
    update_id = _text(form, "update_id", limit=200)
    if given is None or update_id is None:
        raise Open311Error(400, "service_request_id and update_id are required")
    status = (_text(form, "status", limit=20) or "").lower() or None
    if status not in (None, "open", "closed"):
        raise Open311Error(400, "status must be open or closed")
    return PartnerUpdate(
        service_request_id=(ticket_references(given) or [given.upper()])[0],
        client_update_id=update_id,
        status=status,
        description=_text(form, "description", limit=4000) or "",
        updated_at=_when(_text(form, "updated_datetime", limit=40), "updated_datetime"),
    )


@router.post("/v2/servicerequestupdates.{fmt}")
async def post_update(request: Request, runtime: RuntimeDep, fmt: str) -> Response:
    """POST Service Request Update: a partner's status and note on one of qanat's requests."""

    async def produce() -> Response:
        try:
            form = await (await read_limited(request, POST_MAX)).form(max_files=0)
        except (TooLarge, HTTPException) as exc:
            raise Open311Error(400, f"the update could not be read: {exc}") from exc
        client = await _client(runtime, form)
        if not client.updates:
            raise Open311Error(403, "this api_key may not post updates")
        update = _update(form)
        try:
            async with runtime.db.writing() as session:
                row, _created = await open311_updates.record_partner_update(
                    session, client=client, update=update, now=utcnow()
                )
        except NotFound as exc:
            raise Open311Error(404, str(exc)) from exc
        except IntegrityError:  # the same update posted twice at once: the other one won
            async with runtime.db.session() as session:
                row, _created = await open311_updates.record_partner_update(
                    session, client=client, update=update, now=utcnow()
                )
        return render(fmt, "service_request_updates", [{"update_id": str(row.id)}])

    return await _answer(fmt, produce)


@router.get("/v2/servicerequestupdates.{fmt}")
async def list_updates(request: Request, runtime: RuntimeDep, fmt: str) -> Response:
    """GET Service Request Updates: what partners posted in a period (the last day)."""

    async def produce() -> Response:
        params = request.query_params
        end = _when(params.get("end_date"), "end_date") or utcnow()
        start = _when(params.get("start_date"), "start_date") or end - timedelta(days=1)
        if end - start > MAX_SPAN:
            raise Open311Error(400, "start_date and end_date may not span more than 90 days")
        async with runtime.db.session() as session:
            rows = await open311_updates.partner_updates(session, start=start, end=end)
        tz = runtime.settings.tz
        updates = [
            {
                "update_id": str(row.id),
                "service_request_id": reference,
                "status": row.status,
                "updated_datetime": w3(row.updated_at or row.received_at, tz),
                "description": row.description,
            }
            for row, reference in rows
        ]
        return render(fmt, "service_request_updates", updates)

    return await _answer(fmt, produce)
