"""citizen loop: notices to citizens (acknowledgement, status, survey and its answer),
their templates, and opt-outs

Revision ID: 0016_citizen_loop
Revises: 0013_inbox_product
Create Date: 2026-12-07 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import qanat.store.tables

revision: str = "0016_citizen_loop"
down_revision: str | None = "0013_inbox_product"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WHEN = qanat.store.tables.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "citizen_notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("state_reason", sa.String(length=300), nullable=True),
        sa.Column("due_at", _WHEN, nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("answered_at", _WHEN, nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("satisfied", sa.Boolean(), nullable=True),
        sa.Column("answer_text", sa.String(length=2000), nullable=True),
        sa.ForeignKeyConstraint(["message_id"], ["message.id"]),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ticket_id", "key", name="uq_citizen_notice_ticket_key"),
    )
    op.create_index("ix_citizen_notice_ticket_id", "citizen_notice", ["ticket_id"])
    op.create_index("ix_citizen_notice_waiting", "citizen_notice", ["state", "due_at"])
    op.create_table(
        "notice_template",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("updated_at", _WHEN, nullable=False),
        sa.Column("updated_by", sa.String(length=160), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "language", name="uq_notice_template"),
    )
    op.create_table(
        "notice_opt_out",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("at", _WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel", "address", name="uq_notice_opt_out"),
    )


def downgrade() -> None:
    op.drop_table("notice_opt_out")
    op.drop_table("notice_template")
    op.drop_index("ix_citizen_notice_waiting", table_name="citizen_notice")
    op.drop_index("ix_citizen_notice_ticket_id", table_name="citizen_notice")
    op.drop_table("citizen_notice")
