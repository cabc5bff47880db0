"""kernel: remember which Kafka cluster the offsets and the published outbox belong to

Revision ID: k0002
Revises: k0001
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

revision = "k0002"
down_revision = "k0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "kafka_cluster",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("cluster_id", sa.String(100), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("id = 1", name="kafka_cluster_singleton"),
    )


def downgrade():
    op.drop_table("kafka_cluster")
