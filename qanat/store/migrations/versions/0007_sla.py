"""sla: warning times and pauses on tickets; shifts, absence, languages and email on staff

Revision ID: 0007_sla
Revises: 0005_public
Create Date: 2026-11-30 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import qanat.store.tables

revision: str = "0007_sla"
down_revision: str | None = "0005_public"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WHEN = qanat.store.tables.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_response_warn_at", _WHEN, nullable=True))
        batch_op.add_column(sa.Column("sla_warn_at", _WHEN, nullable=True))
        batch_op.add_column(sa.Column("sla_paused_at", _WHEN, nullable=True))
        batch_op.add_column(
            sa.Column("sla_pauses", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
    with op.batch_alter_table("staff_user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "languages",
                sa.JSON(),
                nullable=False,
                server_default=sa.text('\'["ar", "en"]\''),
            )
        )
        batch_op.add_column(sa.Column("shift", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("away_until", _WHEN, nullable=True))
        batch_op.add_column(sa.Column("email", sa.String(length=320), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("staff_user", schema=None) as batch_op:
        for name in ("email", "away_until", "shift", "languages"):
            batch_op.drop_column(name)
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        for name in ("sla_pauses", "sla_paused_at", "sla_warn_at", "first_response_warn_at"):
            batch_op.drop_column(name)
