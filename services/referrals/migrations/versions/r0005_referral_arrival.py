"""referrals: whether the referred client arrived at the receiver, as its attendance tells

The referral keeps the current fact (arrival, arrived_at, missed_sessions); referral_arrival keeps each fact as
it was told, for the timeline (a client who did not arrive may still come later).

Revision ID: r0005
Revises: r0004
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "r0005"
down_revision = "r0004"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("referral", sa.Column("arrival", sa.String(20)))
    op.add_column("referral", sa.Column("arrived_at", sa.DateTime(timezone=True)))
    op.add_column("referral", sa.Column("missed_sessions", sa.Integer()))
    op.create_table(
        "referral_arrival",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("referral_id", UUID(), nullable=False, index=True),
        sa.Column("arrival", sa.String(20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("missed", sa.Integer()),
        sa.Column("by_org", sa.String(100), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def downgrade():
    op.drop_table("referral_arrival")
    op.drop_column("referral", "missed_sessions")
    op.drop_column("referral", "arrived_at")
    op.drop_column("referral", "arrival")
