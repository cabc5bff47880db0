"""referrals: a consent withdrawal is remembered per organisation that signed it

A withdrawal restricts only the referrals its signer sent; keyed by consent id alone, a third member's
withdrawal recorded first would have hidden the genuine one.

Revision ID: r0003
Revises: r0002
Create Date: 2026-12-02
"""
from alembic import op

revision = "r0003"
down_revision = "r0002"
branch_labels = None
depends_on = None


def upgrade():
    op.drop_constraint("withdrawn_consent_pkey", "withdrawn_consent", type_="primary")
    op.create_primary_key("withdrawn_consent_pkey", "withdrawn_consent", ["consent_id", "by_org"])


def downgrade():
    op.execute("DELETE FROM withdrawn_consent a USING withdrawn_consent b WHERE a.consent_id = b.consent_id "
               "AND a.by_org > b.by_org")
    op.drop_constraint("withdrawn_consent_pkey", "withdrawn_consent", type_="primary")
    op.create_primary_key("withdrawn_consent_pkey", "withdrawn_consent", ["consent_id"])
