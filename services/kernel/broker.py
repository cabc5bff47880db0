"""Kafka clients with the settings this product relies on, and explicit topic creation."""
from __future__ import annotations

import logging
from pathlib import Path

import yaml
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

log = logging.getLogger(__name__)
DLT_SUFFIX = ".DLT"


def producer(bootstrap: str, timeout_ms: int = 10_000, **overrides) -> KafkaProducer:
    """Idempotent producer, acks=all: a record is either in the log once or the send fails."""
    cfg = dict(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True,
               max_in_flight_requests_per_connection=5, linger_ms=2, retries=2**31 - 1,
               request_timeout_ms=timeout_ms, delivery_timeout_ms=3 * timeout_ms, max_block_ms=timeout_ms,
               allow_auto_create_topics=False, reconnect_backoff_max_ms=2000)
    cfg.update(overrides)
    return KafkaProducer(**cfg)


def consumer(bootstrap: str, group_id: str | None, timeout_ms: int = 10_000, **overrides) -> KafkaConsumer:
    """Offsets are owned by the service database, so auto-commit is off."""
    # auto_offset_reset="none": a position outside the log raises instead of silently jumping,
    # so the runner can tell a lost broker log from a normal start (see recovery.py)
    cfg = dict(bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False,
               auto_offset_reset="none", allow_auto_create_topics=False, max_poll_records=200,
               session_timeout_ms=max(6000, timeout_ms), heartbeat_interval_ms=1000,
               request_timeout_ms=max(timeout_ms + 5000, 30_500), reconnect_backoff_max_ms=2000)
    cfg.update(overrides)
    return KafkaConsumer(**cfg)


def topic_plan(topics_file: Path, prefix: str = "") -> list[NewTopic]:
    """The topics of `topics_file` and their dead-letter twins, each name after `prefix`."""
    spec = yaml.safe_load(Path(topics_file).read_text(encoding="utf-8"))
    rf = spec["defaults"]["replication_factor"]
    isr = str(spec["defaults"]["min_insync_replicas"])
    plan = []
    for name, t in spec["topics"].items():
        name = prefix + name
        plan.append(NewTopic(name, t["partitions"], rf, topic_configs={"min.insync.replicas": isr}))
        dlt = spec["dead_letter"]
        plan.append(NewTopic(name + DLT_SUFFIX, dlt["partitions"], rf,
                             topic_configs={"min.insync.replicas": isr, "retention.ms": str(dlt["retention_ms"])}))
    return plan


def ensure_topics(bootstrap: str, topics_file: Path, timeout_ms: int = 15_000, prefix: str = "") -> list[str]:
    """Create every topic in the plan that does not exist yet; return the names created."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=timeout_ms)
    try:
        existing = set(admin.list_topics())
        missing = [t for t in topic_plan(topics_file, prefix) if t.name not in existing]
        if missing:
            try:
                admin.create_topics(missing, timeout_ms=timeout_ms)
            except TopicAlreadyExistsError:
                pass  # another process created it between list and create
        return [t.name for t in missing]
    finally:
        admin.close()


def broker_reachable(bootstrap: str, timeout_ms: int = 3000) -> bool:
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=timeout_ms)
    except Exception:
        return False
    try:
        admin.describe_cluster()
        return True
    except Exception:
        return False
    finally:
        admin.close()
