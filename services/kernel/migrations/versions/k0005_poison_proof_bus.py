"""kernel: the bus never stops — deduplication by (source, id), quarantined outbox rows, parking failures

- inbox: the primary key becomes (source, event_id): another member reusing a genuine event's id
  can no longer make it be skipped; an index on processed_at serves pruning.
- outbox: a row the broker refuses permanently is set aside (quarantined_at, quarantine_error)
  instead of blocking every later row; published_at is indexed for pruning.
- parking_failure: a record that could not even be parked on its dead-letter topic is noted here
  (where an operator sees it) and consumption moves on.

Revision ID: k0005
Revises: k0004
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "k0005"
down_revision = "k0004"
branch_labels = None
depends_on = None


def upgrade():
    op.drop_constraint("inbox_pkey", "inbox", type_="primary")
    op.create_primary_key("inbox_pkey", "inbox", ["source", "event_id"])
    op.create_index("inbox_processed_at", "inbox", ["processed_at"])
    op.add_column("outbox", sa.Column("quarantined_at", sa.DateTime(timezone=True)))
    op.add_column("outbox", sa.Column("quarantine_error", sa.Text))
    op.create_index("outbox_quarantined", "outbox", ["seq"], postgresql_where=sa.text("quarantined_at IS NOT NULL"))
    op.create_index("outbox_published_at", "outbox", ["published_at"],
                    postgresql_where=sa.text("published_at IS NOT NULL"))
    op.create_table(
        "parking_failure",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("consumer_group", sa.String(200), nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("partition", sa.Integer, nullable=False),
        sa.Column("offset", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
    )


def downgrade():
    op.drop_table("parking_failure")
    op.drop_index("outbox_published_at", "outbox")
    op.drop_index("outbox_quarantined", "outbox")
    op.drop_column("outbox", "quarantine_error")
    op.drop_column("outbox", "quarantined_at")
    op.drop_index("inbox_processed_at", "inbox")
    op.drop_constraint("inbox_pkey", "inbox", type_="primary")
    op.create_primary_key("inbox_pkey", "inbox", ["event_id"])
