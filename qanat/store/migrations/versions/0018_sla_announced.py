"""the SLA check in SQL: each ticket records the due times announced per clock

Revision ID: 0018_sla_announced
Revises: 0017_search_indexes
Create Date: 2026-12-07 00:00:00

Left empty here: the first check after the upgrade reads the announcements from the
events (as every check did before) and fills them in.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import qanat.store.tables

revision: str = "0018_sla_announced"
down_revision: str | None = "0017_search_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    "first_response_warned_for",
    "first_response_escalated_for",
    "sla_warned_for",
    "sla_escalated_for",
)


def upgrade() -> None:
    with op.batch_alter_table("ticket") as batch:
        for name in _COLUMNS:
            batch.add_column(
                sa.Column(name, qanat.store.tables.UTCDateTime(timezone=True), nullable=True)
            )


def downgrade() -> None:
    with op.batch_alter_table("ticket") as batch:
        for name in _COLUMNS:
            batch.drop_column(name)
