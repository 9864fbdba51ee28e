"""public channels: Open311 client keys and rate-limit counts

Revision ID: 0005_public
Revises: 0003_inbox
Create Date: 2026-11-24 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import qanat.store.tables

revision: str = "0005_public"
down_revision: str | None = "0003_inbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "open311_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", qanat.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", qanat.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", qanat.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["staff_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("open311_key", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_open311_key_key_hash"), ["key_hash"], unique=True)
        batch_op.create_index(batch_op.f("ix_open311_key_name"), ["name"], unique=True)

    op.create_table(
        "rate_count",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("window_start", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start"),
    )


def downgrade() -> None:
    op.drop_table("rate_count")
    with op.batch_alter_table("open311_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_open311_key_name"))
        batch_op.drop_index(batch_op.f("ix_open311_key_key_hash"))
    op.drop_table("open311_key")
