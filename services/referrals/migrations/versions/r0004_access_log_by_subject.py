"""referrals: the access log found by subject

Every read of client data writes a row per person shown, and the client's and the referral's pages (and the
registrar's report) ask for the rows about one person: without an index that is a scan of the whole log.

Revision ID: r0004
Revises: r0003
Create Date: 2026-12-02
"""
from alembic import op

revision = "r0004"
down_revision = "r0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("access_log_subject_at", "access_log", ["subject", "at"])


def downgrade():
    op.drop_index("access_log_subject_at", table_name="access_log")
