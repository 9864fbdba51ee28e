"""field federation: inspections, visits, checklists, inspectors' areas; status updates
owed upstream, forwarded requests, partners' updates; partner keys that may post updates

Revision ID: 0015_field_federation
Revises: 0007_sla
Create Date: 2026-12-07 12:40:47.013386
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import qanat.store.tables

revision: str = "0015_field_federation"
down_revision: str | None = "0007_sla"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "checklist_template",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=80), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("due_hours", sa.Float(), nullable=False),
        sa.Column("updated_at", qanat.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=160), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("checklist_template", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_checklist_template_category"), ["category"], unique=True
        )

    op.create_table(
        "inspection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("what", sa.String(), nullable=False),
        sa.Column("category", sa.String(length=80), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("inspector_id", sa.Integer(), nullable=True),
        sa.Column("checklist", sa.JSON(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("building", sa.String(length=20), nullable=True),
        sa.Column("road", sa.String(length=20), nullable=True),
        sa.Column("block", sa.String(length=10), nullable=True),
        sa.Column("due_at", qanat.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", qanat.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=160), nullable=False),
        sa.Column("visited_at", qanat.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decision", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["department.id"],
        ),
        sa.ForeignKeyConstraint(
            ["inspector_id"],
            ["staff_user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("inspection", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inspection_due_at"), ["due_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_inspection_inspector_id"), ["inspector_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_inspection_status"), ["status"], unique=False)

    op.create_table(
        "inspector_area",
        sa.Column("user_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("block", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["staff_user.id"],
        ),
        sa.PrimaryKeyConstraint("user_id", "block"),
    )
    with op.batch_alter_table("inspector_area", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inspector_area_block"), ["block"], unique=False)

    op.create_table(
        "forwarded_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=120), nullable=False),
        sa.Column("requested_by", sa.String(length=160), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("detail", sa.String(), nullable=True),
        sa.Column("service_request_id", sa.String(length=500), nullable=True),
        sa.Column("token", sa.String(length=500), nullable=True),
        sa.Column("created_at", qanat.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", qanat.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["ticket.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ticket_id", "account", name="uq_forwarded_request"),
    )
    with op.batch_alter_table("forwarded_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_forwarded_request_state"), ["state"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_forwarded_request_ticket_id"), ["ticket_id"], unique=False
        )

    op.create_table(
        "inspection_ticket",
        sa.Column("inspection_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("ticket_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["inspection_id"],
            ["inspection.id"],
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["ticket.id"],
        ),
        sa.PrimaryKeyConstraint("inspection_id", "ticket_id"),
    )
    with op.batch_alter_table("inspection_ticket", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inspection_ticket_ticket_id"), ["ticket_id"], unique=False
        )

    op.create_table(
        "open311_update",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client", sa.String(length=120), nullable=False),
        sa.Column("client_update_id", sa.String(length=200), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=True),
        sa.Column("description", sa.String(), nullable=False),
        sa.Column("updated_at", qanat.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("received_at", qanat.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["ticket.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("client", "client_update_id", name="uq_open311_update_client"),
    )
    with op.batch_alter_table("open311_update", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_open311_update_received_at"), ["received_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_open311_update_ticket_id"), ["ticket_id"], unique=False
        )

    op.create_table(
        "visit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inspection_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=100), nullable=False),
        sa.Column("inspector_id", sa.Integer(), nullable=True),
        sa.Column("observed_at", qanat.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", qanat.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("distance_m", sa.Float(), nullable=True),
        sa.Column("far", sa.Boolean(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("notes", sa.String(), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("department", sa.String(length=60), nullable=True),
        sa.Column("reason", sa.String(), nullable=True),
        sa.Column("photos", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["inspection_id"],
            ["inspection.id"],
        ),
        sa.ForeignKeyConstraint(
            ["inspector_id"],
            ["staff_user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("client_id", name="uq_visit_client_id"),
    )
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_visit_inspection_id"), ["inspection_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_visit_received_at"), ["received_at"], unique=False)

    op.create_table(
        "upstream_update",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=120), nullable=False),
        sa.Column("service_request_id", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("description", sa.String(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("detail", sa.String(), nullable=True),
        sa.Column("remote_id", sa.String(length=200), nullable=True),
        sa.Column("created_at", qanat.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", qanat.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["event.id"],
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["ticket.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id", "account", "service_request_id", name="uq_upstream_update"),
    )
    with op.batch_alter_table("upstream_update", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_upstream_update_state"), ["state"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_upstream_update_ticket_id"), ["ticket_id"], unique=False
        )

    with op.batch_alter_table("open311_key", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("updates", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("open311_key", schema=None) as batch_op:
        batch_op.drop_column("updates")

    with op.batch_alter_table("upstream_update", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_upstream_update_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_upstream_update_state"))

    op.drop_table("upstream_update")
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_visit_received_at"))
        batch_op.drop_index(batch_op.f("ix_visit_inspection_id"))

    op.drop_table("visit")
    with op.batch_alter_table("open311_update", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_open311_update_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_open311_update_received_at"))

    op.drop_table("open311_update")
    with op.batch_alter_table("inspection_ticket", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inspection_ticket_ticket_id"))

    op.drop_table("inspection_ticket")
    with op.batch_alter_table("forwarded_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_forwarded_request_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_forwarded_request_state"))

    op.drop_table("forwarded_request")
    with op.batch_alter_table("inspector_area", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inspector_area_block"))

    op.drop_table("inspector_area")
    with op.batch_alter_table("inspection", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inspection_status"))
        batch_op.drop_index(batch_op.f("ix_inspection_inspector_id"))
        batch_op.drop_index(batch_op.f("ix_inspection_due_at"))

    op.drop_table("inspection")
    with op.batch_alter_table("checklist_template", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checklist_template_category"))

    op.drop_table("checklist_template")
