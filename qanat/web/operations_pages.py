"""Admin pages for operations: the reconciliation ledger and the health of each channel."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import col, select

from qanat.store import views
from qanat.store.tables import ReconcileRun
from qanat.web.auth import Admin
from qanat.web.deps import RuntimeDep
from qanat.web.templating import page

router = APIRouter(include_in_schema=False)

#: Ledger rows shown at most (the API pages further back).
LEDGER_ROWS = 500


@router.get("/admin/ledger")
async def ledger_page(
    request: Request, runtime: RuntimeDep, viewer: Admin, channel: str = ""
) -> Response:
    """The reconciliation ledger, newest first; lines that did not add up stand out."""
    statement = select(ReconcileRun).order_by(col(ReconcileRun.id).desc()).limit(LEDGER_ROWS)
    if channel:
        statement = statement.where(col(ReconcileRun.channel) == channel)
    async with runtime.db.session() as session:
        runs = list((await session.execute(statement)).scalars())
        channels = sorted(
            set((await session.execute(select(ReconcileRun.channel).distinct())).scalars())
        )
    not_ok = sum(1 for run in runs if run.status != "ok")
    return page(
        request,
        "ledger.html",
        viewer=viewer,
        runs=runs,
        channels=channels,
        chosen=channel,
        not_ok=not_ok,
    )


@router.get("/admin/channels")
async def channels_page(request: Request, runtime: RuntimeDep, viewer: Admin) -> Response:
    """Each channel account: last message, last success, last error, watermark."""
    async with runtime.db.session() as session:
        rows = await views.channel_status(session)
    for row in rows:  # the view gives ISO text (for the API); pages show local times
        for key in ("last_message_at", "last_success_at", "last_error_at"):
            row[key] = datetime.fromisoformat(row[key]) if row[key] else None
    return page(request, "channels.html", viewer=viewer, channels=rows)
