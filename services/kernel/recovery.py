"""Noticing that the broker lost its data, and recovering from it.

After a disk loss the broker comes back empty: a new cluster id, no topics,
logs starting again at offset 0. A service notices it (the cluster id it
stored differs, or a stored offset lies beyond the log end), recreates its
topics, re-publishes its retained outbox in order, and re-reads the new log
from the beginning; the inbox keeps re-read events from being applied twice.

The worker builds one `ClusterWatch` per instance and gives it to the relay
and the consumer runner, which call it and do not import this module.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from kafka import KafkaAdminClient
from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Engine

from . import broker
from .consumer.offsets import reset_offsets
from .outbox import requeue
from .tables import kafka_cluster

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClusterWatch:
    """The Kafka cluster an instance's stored offsets and published outbox refer to."""
    engine: Engine
    bootstrap: str
    topics_file: Path
    topic_prefix: str = ""
    timeout_ms: int = 5000

    def cluster_id(self) -> str:
        """The id of the cluster the broker is now."""
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=self.timeout_ms)
        try:
            return admin.describe_cluster()["cluster_id"]
        finally:
            admin.close()

    def reconcile(self) -> bool:
        """Compare the broker's cluster id with the stored one; recover if it changed. True if it did."""
        current = self.cluster_id()
        with self.engine.begin() as conn:
            conn.execute(pg_insert(kafka_cluster).values(id=1, cluster_id=current).on_conflict_do_nothing())
            stored = conn.execute(select(kafka_cluster.c.cluster_id).where(kafka_cluster.c.id == 1)
                                  .with_for_update()).scalar_one()
            if stored == current:
                return False
            log.warning("Kafka cluster changed (%s -> %s): the broker lost its data; recovering", stored, current)
            broker.ensure_topics(self.bootstrap, self.topics_file, prefix=self.topic_prefix)
            reset_offsets(conn)
            n = requeue(conn)
            conn.execute(update(kafka_cluster).where(kafka_cluster.c.id == 1)
                         .values(cluster_id=current, seen_at=text("now()")))
            log.warning("re-queued %d retained outbox rows; consumer offsets reset", n)
            return True
