from sqlalchemy import Boolean, Column, Date, DateTime, Integer, MetaData, String, Table, Text, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

metadata = MetaData()

client = Table(
    "client", metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("name", Text, nullable=False),
    Column("identity_code", String(11), nullable=False, unique=True),
    Column("date_of_birth", Date, nullable=False),
    Column("pathway_key", String(64), nullable=False),
    Column("municipality", Text),
    Column("phone", Text),
    Column("email", Text),
    Column("gender", String(10), nullable=False),
    Column("language", String(10), nullable=False),
    Column("created_by", String(100)),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

consent = Table(
    "consent", metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", UUID(as_uuid=True), nullable=False),
    Column("recipient_org", String(100), nullable=False),
    Column("categories", ARRAY(String(40)), nullable=False),
    Column("purpose", String(40), nullable=False),
    Column("decision", String(10), nullable=False),
    Column("valid_from", DateTime(timezone=True), nullable=False),
    Column("valid_until", DateTime(timezone=True), nullable=False),
    Column("method", String(20), nullable=False),
    Column("recorded_by", String(100), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("withdrawn_at", DateTime(timezone=True)),
    Column("withdrawn_by", String(100)),
    Column("expiry_announced_at", DateTime(timezone=True)),
)

referral = Table(
    "referral", metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("direction", String(10), nullable=False),
    Column("from_org", String(100), nullable=False),
    Column("to_org", String(100), nullable=False),
    Column("service_id", UUID(as_uuid=True), nullable=False),
    Column("status", String(20), nullable=False),
    Column("age_band", String(10), nullable=False),
    Column("gender", String(10), nullable=False),
    Column("pathway_key", String(64)),
    Column("client_id", UUID(as_uuid=True)),
    Column("consent_id", UUID(as_uuid=True)),
    Column("categories", ARRAY(String(40)), nullable=False),
    Column("personal", JSONB),
    Column("restricted_at", DateTime(timezone=True)),
    Column("reason_code", String(40)),
    Column("reason_text", Text),
    Column("requested_at", DateTime(timezone=True)),
    Column("received_at", DateTime(timezone=True)),
    Column("answered_at", DateTime(timezone=True)),
    Column("escalated_at", DateTime(timezone=True)),
    Column("arrival", String(20)),                     # the receiver's attendance: arrived / not-arrived
    Column("arrived_at", DateTime(timezone=True)),
    Column("missed_sessions", Integer),
    Column("created_by", String(100)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

referral_history = Table(
    "referral_history", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("referral_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("from_state", String(20)),
    Column("to_state", String(20), nullable=False),
    Column("reason_code", String(40)),
    Column("reason_text", Text),
    Column("by_org", String(100), nullable=False),
    Column("by_user", String(100)),
    Column("at", DateTime(timezone=True), nullable=False),
)

# What the receiver's attendance told of the client's arrival, in order: the referral's timeline shows each.
referral_arrival = Table(
    "referral_arrival", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("referral_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("arrival", String(20), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("missed", Integer),
    Column("by_org", String(100), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

outcome = Table(
    "outcome", metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("referral_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("point", String(20), nullable=False),
    Column("outcome", String(60), nullable=False),
    Column("detail", Text),
    Column("by_org", String(100), nullable=False),
    Column("recorded_by", String(100)),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

disclosure_log = Table(
    "disclosure_log", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("client_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("referral_id", UUID(as_uuid=True)),
    Column("recipient_org", String(100), nullable=False),
    Column("categories", ARRAY(String(40)), nullable=False),
    Column("consent_id", UUID(as_uuid=True), nullable=False),
    Column("username", String(100), nullable=False),
)

# Inbox markers: what needs a manager's or caseworker's attention.
notification = Table(
    "notification", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("role", String(20), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("referral_id", UUID(as_uuid=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("read_at", DateTime(timezone=True)),
)

# Consents withdrawn by the sender, as learnt from events (the receiver restricts on arrival too).
withdrawn_consent = Table(
    "withdrawn_consent", metadata,
    Column("consent_id", UUID(as_uuid=True), primary_key=True),
    Column("by_org", String(100), primary_key=True),   # the signer: it restricts only what it sent
    Column("withdrawn_at", DateTime(timezone=True), nullable=False),
)

service_target = Table(
    "service_target", metadata,
    Column("service_id", UUID(as_uuid=True), primary_key=True),
    Column("organization_id", String(100), nullable=False),
    Column("name_fi", Text, nullable=False),
    Column("categories", ARRAY(String), nullable=False, server_default="{}"),
    Column("areas", ARRAY(String), nullable=False, server_default="{}"),
    Column("referral_required", Boolean),
    Column("capacity", JSONB),
    Column("status", String(30), nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
