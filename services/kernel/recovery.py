"""Noticing that the broker lost its data, and recovering from it.

After a disk loss the broker comes back empty: a new cluster id, no topics,
logs starting again at offset 0. A service notices it (the cluster id it
stored differs, or a stored offset lies beyond the log end), recreates its
topics, re-publishes its retained outbox in order, and re-reads the new log
from the beginning; the inbox keeps re-read events from being applied twice.
"""
from __future__ import annotations

import logging
from pathlib import Path

from kafka import KafkaAdminClient
from sqlalchemy import delete, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from . import broker
from .outbox import requeue
from .tables import consumer_offset, kafka_cluster

log = logging.getLogger(__name__)


def cluster_id(bootstrap: str, timeout_ms: int = 5000) -> str:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=timeout_ms)
    try:
        return admin.describe_cluster()["cluster_id"]
    finally:
        admin.close()


def reconcile_cluster(engine, bootstrap: str, topics_file: Path, topic_prefix: str = "") -> bool:
    """Compare the broker's cluster id with the stored one; recover if it changed. True if it did."""
    current = cluster_id(bootstrap)
    with engine.begin() as conn:
        conn.execute(pg_insert(kafka_cluster).values(id=1, cluster_id=current).on_conflict_do_nothing())
        stored = conn.execute(select(kafka_cluster.c.cluster_id).where(kafka_cluster.c.id == 1)
                              .with_for_update()).scalar_one()
        if stored == current:
            return False
        log.warning("Kafka cluster changed (%s -> %s): the broker lost its data; recovering", stored, current)
        broker.ensure_topics(bootstrap, topics_file, prefix=topic_prefix)
        reset_offsets(conn)
        n = requeue(conn)
        conn.execute(update(kafka_cluster).where(kafka_cluster.c.id == 1)
                     .values(cluster_id=current, seen_at=text("now()")))
        log.warning("re-queued %d retained outbox rows; consumer offsets reset", n)
        return True


def reset_offsets(conn, partitions: list[tuple[str, int]] | None = None) -> None:
    """Forget stored offsets (all, or of the given partitions): they point into a log that is gone."""
    stmt = delete(consumer_offset)
    if partitions:
        from sqlalchemy import tuple_
        stmt = stmt.where(tuple_(consumer_offset.c.topic, consumer_offset.c.partition).in_(partitions))
    conn.execute(stmt)
