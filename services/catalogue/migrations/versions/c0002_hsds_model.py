"""catalogue: the HSDS-profile model — own services and locations as documents, the federation
directory with search columns (Finnish/Swedish/English full text, trigrams) and opening hours

Revision ID: c0002
Revises: c0001
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR, UUID

revision = "c0002"
down_revision = "c0001"
branch_labels = None
depends_on = None

SEARCH = ("setweight(to_tsvector('finnish', coalesce(name_fi, '')), 'A') || "
          "setweight(to_tsvector('swedish', coalesce(name_sv, '')), 'A') || "
          "setweight(to_tsvector('english', coalesce(name_en, '')), 'A') || "
          "setweight(to_tsvector('finnish', coalesce(text_fi, '')), 'B') || "
          "setweight(to_tsvector('swedish', coalesce(text_sv, '')), 'B') || "
          "setweight(to_tsvector('english', coalesce(text_en, '')), 'B')")
TRIGRAMS = ("lower(coalesce(name_fi, '') || ' ' || coalesce(name_sv, '') || ' ' || coalesce(name_en, '') "
            "|| ' ' || coalesce(text_fi, ''))")


def upgrade():
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.drop_table("directory_service")
    op.drop_table("service")
    op.create_table(
        "location",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("organization_id", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("document", JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "service",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("organization_id", sa.String(100), nullable=False),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("document", JSONB, nullable=False),
        sa.Column("closed_reason", JSONB),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "service_location",
        sa.Column("service_id", UUID(as_uuid=True), sa.ForeignKey("service.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("location_id", UUID(as_uuid=True), sa.ForeignKey("location.id"), primary_key=True),
    )
    op.create_index("service_location_by_location", "service_location", ["location_id"])
    op.create_table(
        "directory_service",
        sa.Column("service_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("organization_id", sa.String(100), nullable=False),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("source_event_id", sa.String(200), nullable=False),
        sa.Column("document", JSONB, nullable=False),
        sa.Column("locations", JSONB, nullable=False),
        sa.Column("closed_reason", JSONB),
        sa.Column("name_fi", sa.Text),
        sa.Column("name_sv", sa.Text),
        sa.Column("name_en", sa.Text),
        sa.Column("text_fi", sa.Text),
        sa.Column("text_sv", sa.Text),
        sa.Column("text_en", sa.Text),
        sa.Column("categories", ARRAY(sa.String), nullable=False),
        sa.Column("delivery_modes", ARRAY(sa.String), nullable=False),
        sa.Column("languages", ARRAY(sa.String), nullable=False),
        sa.Column("areas", ARRAY(sa.String), nullable=False),
        sa.Column("min_age", sa.Integer),
        sa.Column("max_age", sa.Integer),
        sa.Column("free", sa.Boolean),
        sa.Column("referral_required", sa.Boolean),
        sa.Column("search", TSVECTOR, sa.Computed(SEARCH, persisted=True)),
        sa.Column("search_text", sa.Text, sa.Computed(TRIGRAMS, persisted=True)),
    )
    op.create_index("directory_service_search", "directory_service", ["search"], postgresql_using="gin")
    op.execute("CREATE INDEX directory_service_trgm ON directory_service USING gin (search_text gin_trgm_ops)")
    for col in ("categories", "delivery_modes", "languages", "areas"):
        op.create_index(f"directory_service_{col}", "directory_service", [col], postgresql_using="gin")
    op.create_index("directory_service_org", "directory_service", ["organization_id", "published_at"])
    op.create_table(
        "directory_opening",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("service_id", UUID(as_uuid=True),
                  sa.ForeignKey("directory_service.service_id", ondelete="CASCADE"), nullable=False),
        sa.Column("location_id", UUID(as_uuid=True)),
        sa.Column("isodow", sa.SmallInteger, nullable=False),
        sa.Column("opens_at", sa.Time, nullable=False),
        sa.Column("closes_at", sa.Time, nullable=False),
        sa.Column("valid_from", sa.Date),
        sa.Column("valid_to", sa.Date),
    )
    op.create_index("directory_opening_by_day", "directory_opening", ["isodow", "service_id"])
    op.create_index("directory_opening_by_service", "directory_opening", ["service_id"])
    op.create_table(
        "directory_exception",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("service_id", UUID(as_uuid=True),
                  sa.ForeignKey("directory_service.service_id", ondelete="CASCADE"), nullable=False),
        sa.Column("starts_on", sa.Date, nullable=False),
        sa.Column("ends_on", sa.Date, nullable=False),
        sa.Column("closed", sa.Boolean, nullable=False),
        sa.Column("opens_at", sa.Time),
        sa.Column("closes_at", sa.Time),
    )
    op.create_index("directory_exception_by_service", "directory_exception", ["service_id", "starts_on"])


def downgrade():
    for t in ("directory_exception", "directory_opening", "directory_service", "service_location", "service",
              "location"):
        op.drop_table(t)
