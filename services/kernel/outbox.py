"""Transactional outbox: the database side of producing events.

`Outbox.add` validates an event against the contract version the producer
names, signs it and inserts it in the caller's transaction; the outbox
table's trigger (`NOTIFY outbox`) wakes the relay (relay.py) when that
transaction commits. Published rows are kept for a retention window, so
`requeue` can have them re-published (e.g. after the broker lost its data).
"""
from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import insert, text, update
from sqlalchemy.engine import Connection, Engine

from .contracts import TYPE_PREFIX, ContractRegistry
from .events import CloudEvent, new_event
from .parking import encode_headers
from .tables import outbox

NOTIFY_CHANNEL = "outbox"  # the outbox table's trigger NOTIFYs it; the relay LISTENs
OUTBOX_INSERT = insert(outbox)


@dataclass
class EventWriter:
    """Who produces: the instance's CloudEvents source, signing key and contracts."""
    source: str
    signing_key: Ed25519PrivateKey
    contracts: ContractRegistry

    def outbox(self, conn: Connection) -> "Outbox":
        return Outbox(conn, self)


class Outbox:
    def __init__(self, conn: Connection, writer: EventWriter | None):
        self.conn = conn
        self.writer = writer

    def add(self, event: str, key: str, data: dict, *, subject: str | None = None,
            extensions: dict | None = None) -> CloudEvent:
        """Stage `event`, named with its version ("referral.requested.v1"), in this transaction.

        The producer names the version it emits: a new contract version is a new
        file, and never switches a producer that did not ask for it.
        """
        if self.writer is None:
            raise RuntimeError("this instance has no signing key, so it cannot produce events")
        contract = self.writer.contracts.validate(TYPE_PREFIX + event, data)
        staged = new_event(source=self.writer.source, type=contract.type, key=key, data=data,
                           signing_key=self.writer.signing_key, subject=subject,
                           dataschema=contract.dataschema, extensions=extensions)
        self.add_record(event_id=staged.id, event_type=staged.type, topic=contract.topic, key=str(key),
                        headers=staged.headers(), value=staged.data_bytes)
        return staged

    def add_record(self, *, event_id: str, event_type: str, topic: str, key: str,
                   headers: list[tuple[str, bytes | None]], value: bytes) -> None:
        # one prepared statement; the table's trigger NOTIFYs the relay when this transaction commits
        self.conn.execute(OUTBOX_INSERT, {
            "event_id": event_id, "event_type": event_type, "topic": topic, "key": key,
            "headers": encode_headers(headers), "value": value})


def requeue(conn: Connection) -> int:
    """Mark every retained row unpublished again (in the caller's transaction), so the relay
    re-publishes them in order once it commits."""
    n = len(conn.execute(update(outbox).where(outbox.c.published_at.is_not(None)).values(published_at=None)
                         .returning(outbox.c.seq)).all())
    conn.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))
    return n


def requeue_retained(engine: Engine) -> int:
    with engine.begin() as conn:
        return requeue(conn)
