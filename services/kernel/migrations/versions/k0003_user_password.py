"""kernel: users may log in to the pages with a password (stored as a werkzeug hash)

Revision ID: k0003
Revises: k0002
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = "k0003"
down_revision = "k0002"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("api_user", sa.Column("password_hash", sa.String(255), nullable=True))


def downgrade():
    op.drop_column("api_user", "password_hash")
