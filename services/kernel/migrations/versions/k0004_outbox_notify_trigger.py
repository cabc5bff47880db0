"""kernel: wake the relay from the database itself (NOTIFY outbox after each inserting statement)

Saves the application a statement and a round trip per event; the
notification is still delivered only when the transaction commits.

Revision ID: k0004
Revises: k0003
Create Date: 2026-11-25
"""
from alembic import op

revision = "k0004"
down_revision = "k0003"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("""
        CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('outbox', '');
            RETURN NULL;
        END $$;
        CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
            FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
    """)


def downgrade():
    op.execute("DROP TRIGGER outbox_notify ON outbox; DROP FUNCTION outbox_notify();")
