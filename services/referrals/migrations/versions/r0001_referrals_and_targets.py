"""referrals: clients, consents, referrals with history and outcomes, logs, inbox markers, targets

Revision ID: r0001
Revises:
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

revision = "r0001"
down_revision = None
branch_labels = ("referrals",)
depends_on = "k0001"


def upgrade():
    op.create_table(
        "client",
        sa.Column('id', UUID(), primary_key=True),
        sa.Column('name', sa.Text(), nullable=False),
        sa.Column('identity_code', sa.String(11), nullable=False, unique=True),
        sa.Column('date_of_birth', sa.Date(), nullable=False),
        sa.Column('pathway_key', sa.String(64), nullable=False),
        sa.Column('municipality', sa.Text()),
        sa.Column('phone', sa.Text()),
        sa.Column('email', sa.Text()),
        sa.Column('gender', sa.String(10), nullable=False),
        sa.Column('language', sa.String(10), nullable=False),
        sa.Column('created_by', sa.String(100)),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "consent",
        sa.Column('id', UUID(), primary_key=True),
        sa.Column('client_id', UUID(), nullable=False),
        sa.Column('recipient_org', sa.String(100), nullable=False),
        sa.Column('categories', ARRAY(sa.String(40)), nullable=False),
        sa.Column('purpose', sa.String(40), nullable=False),
        sa.Column('decision', sa.String(10), nullable=False),
        sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
        sa.Column('valid_until', sa.DateTime(timezone=True), nullable=False),
        sa.Column('method', sa.String(20), nullable=False),
        sa.Column('recorded_by', sa.String(100), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('withdrawn_at', sa.DateTime(timezone=True)),
        sa.Column('withdrawn_by', sa.String(100)),
        sa.Column('expiry_announced_at', sa.DateTime(timezone=True)),
    )
    op.create_table(
        "disclosure_log",
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column('client_id', UUID(), nullable=False, index=True),
        sa.Column('referral_id', UUID()),
        sa.Column('recipient_org', sa.String(100), nullable=False),
        sa.Column('categories', ARRAY(sa.String(40)), nullable=False),
        sa.Column('consent_id', UUID(), nullable=False),
        sa.Column('username', sa.String(100), nullable=False),
    )
    op.create_table(
        "notification",
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('role', sa.String(20), nullable=False),
        sa.Column('kind', sa.String(30), nullable=False),
        sa.Column('referral_id', UUID(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column('read_at', sa.DateTime(timezone=True)),
    )
    op.create_table(
        "outcome",
        sa.Column('id', UUID(), primary_key=True),
        sa.Column('referral_id', UUID(), nullable=False, index=True),
        sa.Column('point', sa.String(20), nullable=False),
        sa.Column('outcome', sa.String(60), nullable=False),
        sa.Column('detail', sa.Text()),
        sa.Column('by_org', sa.String(100), nullable=False),
        sa.Column('recorded_by', sa.String(100)),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "referral",
        sa.Column('id', UUID(), primary_key=True),
        sa.Column('direction', sa.String(10), nullable=False),
        sa.Column('from_org', sa.String(100), nullable=False),
        sa.Column('to_org', sa.String(100), nullable=False),
        sa.Column('service_id', UUID(), nullable=False),
        sa.Column('status', sa.String(20), nullable=False),
        sa.Column('age_band', sa.String(10), nullable=False),
        sa.Column('gender', sa.String(10), nullable=False),
        sa.Column('pathway_key', sa.String(64)),
        sa.Column('client_id', UUID()),
        sa.Column('consent_id', UUID()),
        sa.Column('categories', ARRAY(sa.String(40)), nullable=False),
        sa.Column('personal', JSONB()),
        sa.Column('restricted_at', sa.DateTime(timezone=True)),
        sa.Column('reason_code', sa.String(40)),
        sa.Column('reason_text', sa.Text()),
        sa.Column('requested_at', sa.DateTime(timezone=True)),
        sa.Column('received_at', sa.DateTime(timezone=True)),
        sa.Column('answered_at', sa.DateTime(timezone=True)),
        sa.Column('escalated_at', sa.DateTime(timezone=True)),
        sa.Column('created_by', sa.String(100)),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "referral_history",
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('referral_id', UUID(), nullable=False, index=True),
        sa.Column('from_state', sa.String(20)),
        sa.Column('to_state', sa.String(20), nullable=False),
        sa.Column('reason_code', sa.String(40)),
        sa.Column('reason_text', sa.Text()),
        sa.Column('by_org', sa.String(100), nullable=False),
        sa.Column('by_user', sa.String(100)),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "service_target",
        sa.Column('service_id', UUID(), primary_key=True),
        sa.Column('organization_id', sa.String(100), nullable=False),
        sa.Column('name_fi', sa.Text(), nullable=False),
        sa.Column('category', sa.String(100)),
        sa.Column('status', sa.String(30), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "withdrawn_consent",
        sa.Column('consent_id', UUID(), primary_key=True),
        sa.Column('by_org', sa.String(100), nullable=False),
        sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("consent_client", "consent", ["client_id"])
    op.create_index("referral_box", "referral", ["direction", "status", "updated_at"])


def downgrade():
    for name in ['withdrawn_consent', 'service_target', 'referral_history', 'referral', 'outcome', 'notification', 'disclosure_log', 'consent', 'client']:
        op.drop_table(name)
