from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text, func
from sqlalchemy.dialects.postgresql import UUID

metadata = MetaData()

referral = Table(
    "referral", metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("direction", String(10), nullable=False),
    Column("from_org", String(100), nullable=False),
    Column("to_org", String(100), nullable=False),
    Column("service_id", UUID(as_uuid=True), nullable=False),
    Column("status", String(20), nullable=False),
    Column("age_band", String(10), nullable=False),
    Column("note", Text),
    Column("requested_at", DateTime(timezone=True)),
    Column("received_at", DateTime(timezone=True)),
    Column("created_by", String(100)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Read model of the federation's services: the targets a caseworker can refer to.
service_target = Table(
    "service_target", metadata,
    Column("service_id", UUID(as_uuid=True), primary_key=True),
    Column("organization_id", String(100), nullable=False),
    Column("name_fi", Text, nullable=False),
    Column("category", String(100)),
    Column("status", String(30), nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
