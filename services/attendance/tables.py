from sqlalchemy import Boolean, Column, DateTime, Integer, MetaData, String, Table
from sqlalchemy.dialects.postgresql import UUID

metadata = MetaData()

encounter = Table(
    "encounter", metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("organization_id", String(100), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("anonymous", Boolean, nullable=False),
    Column("participants", Integer, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("service_id", UUID(as_uuid=True)),
    Column("recorded_by", String(100)),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)
