from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, func
from sqlalchemy.dialects.postgresql import JSONB, UUID

metadata = MetaData()

# The organisation's own services (the source of truth for what it publishes).
service = Table(
    "service", metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("organization_id", String(100), nullable=False),
    Column("name", JSONB, nullable=False),
    Column("description", JSONB, nullable=False),
    Column("category", String(100)),
    Column("status", String(30), nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Read model of the whole federation's services, with provenance, built from catalogue events.
directory_service = Table(
    "directory_service", metadata,
    Column("service_id", UUID(as_uuid=True), primary_key=True),
    Column("organization_id", String(100), nullable=False),
    Column("name", JSONB, nullable=False),
    Column("description", JSONB, nullable=False),
    Column("category", String(100)),
    Column("status", String(30), nullable=False),
    Column("version", Integer, nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False),
    Column("source_event_id", String(200), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
