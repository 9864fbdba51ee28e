"""Inspections as the API gives them."""

from __future__ import annotations

from typing import Any

from qanat.store import inspections
from qanat.store.inspection_tables import Inspection
from qanat.store.tables import utcnow


def inspection_json(inspection: Inspection, tickets: list[str] | None = None) -> dict[str, Any]:
    """An inspection as the API gives it."""
    return {
        "id": inspection.id,
        "status": inspection.status,
        "what": inspection.what,
        "category": inspection.category,
        "inspector_id": inspection.inspector_id,
        "due_at": inspection.due_at.isoformat(),
        "overdue": inspection.status == inspections.OPEN and inspection.due_at < utcnow(),
        "decision": inspection.decision,
        "lat": inspection.lat,
        "lon": inspection.lon,
        "block": inspection.block,
        "checklist": inspection.checklist,
        **({"tickets": tickets} if tickets is not None else {}),
    }
