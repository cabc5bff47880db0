"""reporting: young people referred, under reporting's own pseudonym, per referring organisation

Revision ID: p0002
Revises: p0001
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "p0002"
down_revision = "p0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "person_seen",
        sa.Column("pseudonym", sa.String(64), primary_key=True),
        sa.Column("org_id", sa.String(100), primary_key=True),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade():
    op.drop_table("person_seen")
