"""Field inspections' tables: inspections, the tickets they serve, visits, checklists, areas.

An inspection is a visit someone must make: what to check, where, by when, and who goes.
Several tickets (a duplicate cluster) can share one. A visit is what the inspector found
there — the checklist, photos, the GPS fix and a decision — recorded once per phone
submission (``client_id``), however often the phone sends it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Field

from qanat.store.row import Row
from qanat.store.tables import _json, _when


class ChecklistTemplate(Row, table=True):
    """What an inspector checks for one category (``*``: any category), edited by admins."""

    __tablename__ = "checklist_template"

    id: int | None = Field(default=None, primary_key=True)
    category: str = Field(max_length=80, unique=True, index=True)
    #: ``[{"key": "leak", "ar": "…", "en": "…"}]``, in the order the inspector sees them.
    items: list[dict[str, str]] = _json(list)
    #: The inspection's own SLA: hours from creation to the visit.
    due_hours: float = 48.0
    updated_at: datetime = _when()
    updated_by: str | None = Field(default=None, max_length=160)


class InspectorArea(Row, table=True):
    """A block an inspector covers (new inspections there go to them first)."""

    __tablename__ = "inspector_area"

    user_id: int = Field(
        foreign_key="staff_user.id", primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    block: str = Field(max_length=10, primary_key=True, index=True)


class Inspection(Row, table=True):
    """A visit to make: what to check, the place, the checklist, the due time, the inspector."""

    id: int | None = Field(default=None, primary_key=True)
    status: str = Field(default="open", max_length=20, index=True)
    what: str
    category: str | None = Field(default=None, max_length=80)
    department_id: int | None = Field(default=None, foreign_key="department.id")
    inspector_id: int | None = Field(default=None, foreign_key="staff_user.id", index=True)
    checklist: list[dict[str, str]] = _json(list)
    lat: float | None = None
    lon: float | None = None
    building: str | None = Field(default=None, max_length=20)
    road: str | None = Field(default=None, max_length=20)
    block: str | None = Field(default=None, max_length=10)
    due_at: datetime = _when(index=True)
    created_at: datetime = _when()
    created_by: str = Field(max_length=160)
    visited_at: datetime | None = _when(nullable=True)
    decision: str | None = Field(default=None, max_length=20)


class InspectionTicket(Row, table=True):
    """One ticket an inspection serves (a cluster's tickets share one inspection)."""

    __tablename__ = "inspection_ticket"

    inspection_id: int = Field(
        foreign_key="inspection.id", primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    ticket_id: int = Field(
        foreign_key="ticket.id",
        primary_key=True,
        index=True,
        sa_column_kwargs={"autoincrement": False},
    )


class Visit(Row, table=True):
    """What an inspector found on site, stored once per phone submission (``client_id``)."""

    __table_args__ = (UniqueConstraint("client_id", name="uq_visit_client_id"),)

    id: int | None = Field(default=None, primary_key=True)
    inspection_id: int = Field(foreign_key="inspection.id", index=True)
    client_id: str = Field(max_length=100)
    inspector_id: int | None = Field(default=None, foreign_key="staff_user.id")
    #: When the phone recorded it (it may have been sent hours later, back in signal).
    observed_at: datetime = _when()
    received_at: datetime = _when(index=True)
    lat: float | None = None
    lon: float | None = None
    accuracy_m: float | None = None
    #: Metres between the GPS fix and the reported place (None: one of them is unknown).
    distance_m: float | None = None
    far: bool = False
    answers: dict[str, Any] = _json(dict)
    notes: str = ""
    decision: str = Field(max_length=20)
    department: str | None = Field(default=None, max_length=60)
    reason: str | None = None
    #: ``[{"name", "content_type", "size", "sha256", "stored_at"}]``: stored like attachments.
    photos: list[dict[str, Any]] = _json(list)
