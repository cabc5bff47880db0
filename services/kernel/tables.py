"""Tables every service database has: outbox, inbox, consumer offsets, parking failures, users, access log.

Created by the kernel's Alembic branch (services/kernel/migrations); the
services' own migrations depend on it.
"""
from sqlalchemy import (BigInteger, Column, DateTime, Identity, Index, Integer, LargeBinary, MetaData,
                        String, Table, Text, func, text)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

outbox = Table(
    "outbox", metadata,
    Column("seq", BigInteger, Identity(), primary_key=True),
    Column("event_id", String(200), nullable=False, unique=True),
    Column("event_type", String(200), nullable=False),
    Column("topic", String(200), nullable=False),
    Column("key", String(200), nullable=False),
    Column("headers", JSONB, nullable=False),
    Column("value", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("published_at", DateTime(timezone=True)),
    Column("quarantined_at", DateTime(timezone=True)),  # the broker refused it for good: set aside
    Column("quarantine_error", Text),
    Index("outbox_unpublished", "seq", postgresql_where=text("published_at IS NULL")),
    Index("outbox_quarantined", "seq", postgresql_where=text("quarantined_at IS NOT NULL")),
    Index("outbox_published_at", "published_at", postgresql_where=text("published_at IS NOT NULL")),
)

inbox = Table(
    "inbox", metadata,
    Column("event_id", String(200), primary_key=True),  # with source: another member cannot reuse an id
    Column("source", String(200), primary_key=True),
    Column("event_type", String(200), nullable=False),
    Column("topic", String(200), nullable=False),
    Column("partition", Integer, nullable=False),
    Column("offset", BigInteger, nullable=False),
    Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("inbox_processed_at", "processed_at"),
)

consumer_offset = Table(
    "consumer_offset", metadata,
    Column("topic", String(200), primary_key=True),
    Column("partition", Integer, primary_key=True),
    Column("next_offset", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

api_user = Table(
    "api_user", metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("username", String(100), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("password_hash", String(255)),   # browser login (werkzeug hash); NULL: API token only
    # raised at every logout: the page sessions of the user signed before it end (a copied cookie too)
    Column("session_generation", Integer, nullable=False, server_default=text("0")),
    # a regional instance's user who speaks for one member organisation (e.g. its manager at reporting)
    Column("member_org", String(100)),
)

# Every page login attempt: the username tried, the client address and the result (never the password).
# The per-account lockout counts the failures here, so it holds across every process of the instance.
login_attempt = Table(
    "login_attempt", metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("username", String(100), nullable=False),
    Column("address", String(64), nullable=False),
    Column("result", String(20), nullable=False),   # ok, failed, locked (refused unchecked during a lockout)
    Index("login_attempt_username_at", "username", "at"),
    Index("login_attempt_at", "at"),
)

access_log = Table(
    "access_log", metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("username", String(100), nullable=False),
    Column("org_id", String(100), nullable=False),
    Column("role", String(20), nullable=False),
    Column("subject", String(200)),
    Column("action", String(100), nullable=False),
    Column("purpose", Text),
    Column("result", String(60), nullable=False),
)

# A record that could not even be parked on its dead-letter topic: consumption moved on past it.
parking_failure = Table(
    "parking_failure", metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("consumer_group", String(200), nullable=False),
    Column("topic", String(200), nullable=False),
    Column("partition", Integer, nullable=False),
    Column("offset", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("error", Text, nullable=False),
)

# The Kafka cluster the stored offsets and the published outbox rows refer to.
kafka_cluster = Table(
    "kafka_cluster", metadata,
    Column("id", Integer, primary_key=True),
    Column("cluster_id", String(100), nullable=False),
    Column("seen_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
