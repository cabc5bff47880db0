from sqlalchemy import BigInteger, Column, DateTime, MetaData, String, Table

metadata = MetaData()

event_count = Table(
    "event_count", metadata,
    Column("org_id", String(100), primary_key=True),
    Column("event_type", String(200), primary_key=True),
    Column("count", BigInteger, nullable=False),
    Column("last_event_at", DateTime(timezone=True), nullable=False),
)

# One row per (young person, referring organisation): reporting's own pseudonym, never the pathway key.
person_seen = Table(
    "person_seen", metadata,
    Column("pseudonym", String(64), primary_key=True),
    Column("org_id", String(100), primary_key=True),
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("last_seen", DateTime(timezone=True), nullable=False),
)
