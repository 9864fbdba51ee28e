"""search that uses indexes: each ticket's searchable text, trigram indexes on PostgreSQL,
identities looked up by value, and the open tickets of a queue counted by index

Revision ID: 0017_search_indexes
Revises: 0016_citizen_loop
Create Date: 2026-12-07 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_search_indexes"
down_revision: str | None = "0016_citizen_loop"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What search looks in, as qanat.store.tables.search_text_of writes it: the ticket's
# text in match form, its reference, its citizen's identities and its later messages.
_FILL = """
UPDATE ticket SET search_text = substr(
    coalesce(match_text, '') || ' ' || lower(reference)
    || coalesce(' ' || (SELECT {agg}(lower(i.value), ' ') FROM contact_identity i
                        WHERE i.contact_id = ticket.contact_id), '')
    || coalesce(' ' || (SELECT {agg}(m.match_text, ' ') FROM message m
                        WHERE m.ticket_id = ticket.id AND m.match_text <> ''
                        AND m.match_text <> ticket.match_text), ''),
    1, 20000)
"""


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("ticket") as batch:
        batch.add_column(sa.Column("search_text", sa.String(), nullable=False, server_default=""))
    op.execute(_FILL.format(agg="string_agg" if postgres else "group_concat"))
    op.create_index("ix_contact_identity_value", "contact_identity", ["value"])
    # Queue counts: the open tickets of a holder, nobody's, and those waiting for triage.
    op.create_index("ix_ticket_assignee_status", "ticket", ["assignee_id", "status"])
    op.create_index("ix_ticket_status_triage", "ticket", ["status", "needs_triage"])
    op.create_index("ix_ticket_block_created", "ticket", ["block", "created_at"])
    if postgres:
        # Trigram indexes serve LIKE '%word%' (SQLite scans, which is fine at its size).
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            "CREATE INDEX ix_ticket_search_trgm ON ticket USING gin (search_text gin_trgm_ops)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_ticket_search_trgm")
    op.drop_index("ix_ticket_block_created", table_name="ticket")
    op.drop_index("ix_ticket_status_triage", table_name="ticket")
    op.drop_index("ix_ticket_assignee_status", table_name="ticket")
    op.drop_index("ix_contact_identity_value", table_name="contact_identity")
    with op.batch_alter_table("ticket") as batch:
        batch.drop_column("search_text")
