"""referrals: referrals and the service-target read model

Revision ID: r0001
Revises:
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "r0001"
down_revision = None
branch_labels = ("referrals",)
depends_on = "k0001"


def upgrade():
    op.create_table(
        "referral",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("direction", sa.String(10), nullable=False),
        sa.Column("from_org", sa.String(100), nullable=False),
        sa.Column("to_org", sa.String(100), nullable=False),
        sa.Column("service_id", UUID(as_uuid=True), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("age_band", sa.String(10), nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("requested_at", sa.DateTime(timezone=True)),
        sa.Column("received_at", sa.DateTime(timezone=True)),
        sa.Column("created_by", sa.String(100)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "service_target",
        sa.Column("service_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("organization_id", sa.String(100), nullable=False),
        sa.Column("name_fi", sa.Text, nullable=False),
        sa.Column("category", sa.String(100)),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def downgrade():
    op.drop_table("service_target")
    op.drop_table("referral")
