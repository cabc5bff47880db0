"""kernel: accounts — login attempts (failures logged, per-account lockout), session end at logout,
regional users who speak for one member organisation

- login_attempt: every page login attempt (username tried, client address, time, result; never the
  password); the per-account lockout counts its failures, so it holds across processes.
- api_user.session_generation: raised at logout; a session signed with an older one has ended.
- api_user.member_org: at a regional instance (reporting), the organisation a user speaks for.

Revision ID: k0006
Revises: k0005
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "k0006"
down_revision = "k0005"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("api_user", sa.Column("session_generation", sa.Integer, nullable=False, server_default="0"))
    op.add_column("api_user", sa.Column("member_org", sa.String(100)))
    op.create_table(
        "login_attempt",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("username", sa.String(100), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("result", sa.String(20), nullable=False),
    )
    op.create_index("login_attempt_username_at", "login_attempt", ["username", "at"])
    op.create_index("login_attempt_at", "login_attempt", ["at"])


def downgrade():
    op.drop_table("login_attempt")
    op.drop_column("api_user", "member_org")
    op.drop_column("api_user", "session_generation")
