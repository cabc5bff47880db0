from sqlalchemy import (Boolean, Column, Date, DateTime, Index, Integer, MetaData, PrimaryKeyConstraint, String,
                        Table, UniqueConstraint)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

metadata = MetaData()

encounter = Table(
    "encounter", metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("organization_id", String(100), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("count", Integer, nullable=False),
    Column("client_id", UUID(as_uuid=True)),
    Column("referral_id", UUID(as_uuid=True)),
    Column("service_id", UUID(as_uuid=True)),
    Column("location_id", UUID(as_uuid=True)),
    Column("duration_minutes", Integer),
    Column("worker", String(100)),
    Column("channel", String(30)),
    Column("matters", ARRAY(String(30)), nullable=False),
    Column("new_matter", Boolean, nullable=False),
    Column("status", String(10)),
    Column("excuse_reason", String(30)),
    Column("age_band", String(10), nullable=False),
    Column("gender", String(10), nullable=False),
    Column("aid_kind", String(20)),
    Column("count_unit", String(20)),
    Column("format", String(20)),
    Column("partner_orgs", ARRAY(String(100)), nullable=False),
    Column("idempotency_key", String(100)),
    Column("recorded_by", String(100)),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("voided_at", DateTime(timezone=True)),
    Column("voided_by", String(100)),
    UniqueConstraint("recorded_by", "idempotency_key", name="encounter_idempotency"),
    Index("encounter_by_time", "occurred_at"),
    Index("encounter_by_client", "client_id", "occurred_at"),
)

client_group = Table(
    "client_group", metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("organization_id", String(100), nullable=False),
    Column("service_id", UUID(as_uuid=True), nullable=False),
    Column("name", String(200), nullable=False),
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date),
    Column("location_id", UUID(as_uuid=True)),
    Column("capacity", Integer),
    Column("created_by", String(100)),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

group_participant = Table(
    "group_participant", metadata,
    Column("group_id", UUID(as_uuid=True), nullable=False),
    Column("client_id", UUID(as_uuid=True), nullable=False),
    Column("enrolled_on", Date, nullable=False),
    Column("left_on", Date),
    Column("enrolled_by", String(100)),
    PrimaryKeyConstraint("group_id", "client_id"),
    Index("participant_by_client", "client_id"),
)

group_session = Table(
    "group_session", metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("group_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("organization_id", String(100), nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("duration_minutes", Integer),
    Column("location_id", UUID(as_uuid=True)),
    Column("worker", String(100)),
    Column("status", String(10), nullable=False),
    Column("guests", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_by", String(100)),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

session_mark = Table(
    "session_mark", metadata,
    Column("session_id", UUID(as_uuid=True), nullable=False),
    Column("client_id", UUID(as_uuid=True), nullable=False),
    Column("mark", String(10), nullable=False),
    Column("excuse_reason", String(30)),
    Column("marked_by", String(100)),
    Column("marked_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("session_id", "client_id"),
    Index("mark_by_client", "client_id"),
)

# referrals addressed to this organisation, as their senders' signed events named them (no personal data)
incoming_referral = Table(
    "incoming_referral", metadata,
    Column("referral_id", UUID(as_uuid=True), primary_key=True),
    Column("from_org", String(100), nullable=False),
    Column("service_id", UUID(as_uuid=True), nullable=False),
    Column("age_band", String(10), nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("status", String(20), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

referral_link = Table(
    "referral_link", metadata,
    Column("referral_id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("from_org", String(100), nullable=False),
    Column("to_org", String(100), nullable=False),
    Column("service_id", UUID(as_uuid=True), nullable=False),
    Column("linked_by", String(100)),
    Column("linked_at", DateTime(timezone=True), nullable=False),
    Column("arrival", String(20)),
    Column("arrival_at", DateTime(timezone=True)),
    Column("missed", Integer, nullable=False),
)

guidance = Table(
    "guidance", metadata,
    Column("client_id", UUID(as_uuid=True), primary_key=True),
    Column("since", Date, nullable=False),
    Column("worker", String(100)),
    Column("ended_on", Date),
    Column("ended_by", String(100)),
)

# what attendance may keep of a client: the age band and gender its events carry (from the referrals service)
client_ref = Table(
    "client_ref", metadata,
    Column("client_id", UUID(as_uuid=True), primary_key=True),
    Column("age_band", String(10), nullable=False),
    Column("gender", String(10), nullable=False),
    Column("refreshed_at", DateTime(timezone=True), nullable=False),
)

measurement = Table(
    "measurement", metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("organization_id", String(100), nullable=False),
    Column("client_id", UUID(as_uuid=True), nullable=False),
    Column("series_id", UUID(as_uuid=True), nullable=False),
    Column("instrument", String(80), nullable=False),
    Column("instrument_id", String(63), nullable=False),
    Column("instrument_version", Integer, nullable=False),
    Column("scale_min", Integer, nullable=False),
    Column("scale_max", Integer, nullable=False),
    Column("point", String(10), nullable=False),
    Column("measured_at", DateTime(timezone=True), nullable=False),
    Column("scores", JSONB, nullable=False),
    Column("recorded_by", String(100)),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Index("measurement_by_client", "client_id", "instrument", "measured_at"),
)

# the organisation's own catalogue services and their locations, from its catalogue's events
own_service = Table(
    "own_service", metadata,
    Column("service_id", UUID(as_uuid=True), primary_key=True),
    Column("organization_id", String(100), nullable=False),
    Column("name", JSONB, nullable=False),
    Column("locations", JSONB, nullable=False),
    Column("status", String(20), nullable=False),
    Column("version", Integer, nullable=False),
)

# the skeleton's encounters (before issue 14), kept as they were; their drop-ins were carried into `encounter`
encounter_v1 = Table(
    "encounter_v1", metadata,
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
