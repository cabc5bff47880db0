"""referrals: service targets learn categories, areas, referral need and capacity from catalogue v2

Revision ID: r0002
Revises: r0001
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "r0002"
down_revision = "r0001"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("service_target", sa.Column("categories", ARRAY(sa.String), nullable=False,
                                              server_default="{}"))
    op.execute("UPDATE service_target SET categories = ARRAY[category] WHERE category IS NOT NULL")
    op.drop_column("service_target", "category")
    op.add_column("service_target", sa.Column("areas", ARRAY(sa.String), nullable=False, server_default="{}"))
    op.add_column("service_target", sa.Column("referral_required", sa.Boolean))
    op.add_column("service_target", sa.Column("capacity", JSONB))


def downgrade():
    op.add_column("service_target", sa.Column("category", sa.String(100)))
    op.execute("UPDATE service_target SET category = categories[1]")
    for c in ("categories", "areas", "referral_required", "capacity"):
        op.drop_column("service_target", c)
