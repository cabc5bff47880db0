"""reporting: event counts per organisation and type

Revision ID: p0001
Revises:
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

revision = "p0001"
down_revision = None
branch_labels = ("reporting",)
depends_on = "k0001"


def upgrade():
    op.create_table(
        "event_count",
        sa.Column("org_id", sa.String(100), primary_key=True),
        sa.Column("event_type", sa.String(200), primary_key=True),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.Column("last_event_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade():
    op.drop_table("event_count")
