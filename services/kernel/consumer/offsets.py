"""The service database owns the consumer offsets: per (topic, partition), the next offset to apply."""
from __future__ import annotations

from sqlalchemy import delete, select, text, tuple_

from ..tables import consumer_offset

# Hot-path statements as text: SQLAlchemy 2.0 does not cache compiled PostgreSQL INSERT ... ON CONFLICT
_ENSURE = text("INSERT INTO consumer_offset (topic, partition, next_offset) VALUES (:t, :p, 0) "
               "ON CONFLICT DO NOTHING")
_LOCK = text("SELECT next_offset FROM consumer_offset WHERE topic = :t AND partition = :p FOR UPDATE")
_ADVANCE = text("UPDATE consumer_offset SET next_offset = :n, updated_at = now() "
                "WHERE topic = :t AND partition = :p")
_CLUSTER_OF_OFFSETS = text("SELECT cluster_id FROM kafka_cluster WHERE id = 1")


def lock_offset(conn, topic: str, partition: int) -> int:
    """The partition's next offset to apply, locked until the transaction ends: the fence that
    keeps two members (or a member and its own retry) from applying the same records."""
    where = {"t": topic, "p": partition}
    conn.execute(_ENSURE, where)
    return conn.execute(_LOCK, where).scalar_one()


def advance_offset(conn, topic: str, partition: int, next_offset: int) -> None:
    conn.execute(_ADVANCE, {"t": topic, "p": partition, "n": next_offset})


def cluster_of_offsets(conn) -> str | None:
    """The Kafka cluster the stored offsets refer to (recovery.py keeps it)."""
    return conn.execute(_CLUSTER_OF_OFFSETS).scalar()


def stored_offsets(engine) -> dict[tuple[str, int], int]:
    with engine.connect() as conn:
        rows = conn.execute(select(consumer_offset.c.topic, consumer_offset.c.partition,
                                   consumer_offset.c.next_offset)).all()
    return {(r.topic, r.partition): r.next_offset for r in rows}


def reset_offsets(conn, partitions: list[tuple[str, int]] | None = None) -> None:
    """Forget stored offsets (all, or of the given partitions): they point into a log that is gone."""
    stmt = delete(consumer_offset)
    if partitions:
        stmt = stmt.where(tuple_(consumer_offset.c.topic, consumer_offset.c.partition).in_(partitions))
    conn.execute(stmt)
