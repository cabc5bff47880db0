"""Kafka clients with the settings this product relies on, and the topics of deploy/topics.yaml (created
explicitly, their configs kept to the plan)."""
from __future__ import annotations

import logging
from pathlib import Path

import yaml
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, errors
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic

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
    """The topics of `topics_file` and their dead-letter twins, each name after `prefix`, with their configs."""
    spec = yaml.safe_load(Path(topics_file).read_text(encoding="utf-8"))
    rf = spec["defaults"]["replication_factor"]
    isr = {"min.insync.replicas": str(spec["defaults"]["min_insync_replicas"])}
    dlt = spec["dead_letter"]
    plan = []
    for name, t in spec["topics"].items():
        name = prefix + name
        plan.append(NewTopic(name, t["partitions"], rf, topic_configs={**isr, **_strings(t.get("configs"))}))
        plan.append(NewTopic(name + DLT_SUFFIX, dlt["partitions"], rf,
                             topic_configs={**isr, **_strings(dlt.get("configs"))}))
    return plan


def compacted_topics(topics_file: Path, prefix: str = "") -> set[str]:
    """The names (after `prefix`) of the plan's topics that are compacted rather than expired."""
    return {t.name for t in topic_plan(topics_file, prefix)
            if "compact" in t.topic_configs.get("cleanup.policy", "delete").split(",")}


def _strings(configs: dict | None) -> dict[str, str]:
    return {k: str(v) for k, v in (configs or {}).items()}


def ensure_topics(bootstrap: str, topics_file: Path, timeout_ms: int = 15_000, prefix: str = "") -> list[str]:
    """Create every topic in the plan that does not exist yet, and give those that do the plan's configs
    where theirs differ (an upgrade brings an existing cluster to the plan); return the names created."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=timeout_ms)
    try:
        existing = set(admin.list_topics())
        plan = topic_plan(topics_file, prefix)
        created = _create(admin, [t for t in plan if t.name not in existing], timeout_ms)
        align_configs(admin, [t for t in plan if t.name not in created])
        return created
    finally:
        admin.close()


def _create(admin: KafkaAdminClient, topics: list[NewTopic], timeout_ms: int) -> list[str]:
    """Create `topics` and wait until they can be used; return the names created (a topic another process
    created meanwhile is not among them)."""
    if not topics:
        return []
    response = admin.create_topics(topics, timeout_ms=timeout_ms, raise_errors=False)
    outcome = {t["name"]: errors.for_code(t["error_code"]) for t in response["topics"]}
    failed = {n: e.__name__ for n, e in outcome.items() if e not in (errors.NoError, errors.TopicAlreadyExistsError)}
    if failed:
        raise RuntimeError(f"could not create topics: {failed}")
    created = [t.name for t in topics if outcome.get(t.name) is errors.NoError]
    admin.wait_for_topics(created, timeout_ms=timeout_ms)
    return created


def config_drift(admin: KafkaAdminClient, topics: list[NewTopic]) -> dict[str, dict[str, str]]:
    """{topic: {config: planned value}} for each planned config whose value on the broker differs."""
    if not topics:
        return {}
    described = admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, t.name, list(t.topic_configs)) for t in topics],
        config_filter="all")["topic"]
    drift = {}
    for t in topics:
        now = {k: c["value"] for k, c in described[t.name].items()}
        changed = {k: v for k, v in t.topic_configs.items() if now.get(k) != v}
        if changed:
            drift[t.name] = changed
    return drift


def align_configs(admin: KafkaAdminClient, topics: list[NewTopic]) -> dict[str, dict[str, str]]:
    """Set the planned configs that differ (incrementally: a config the plan does not name is left as it is);
    return what was set."""
    drift = config_drift(admin, topics)
    if drift:
        result = admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, name, dict(configs))
                                      for name, configs in drift.items()], incremental=True)["topic"]
        failed = {name: r for name, r in result.items() if r != "OK"}
        if failed:
            raise RuntimeError(f"could not set the planned topic configs: {failed}")
        for name, configs in drift.items():
            log.info("topic %s: configs set to the plan: %s", name, configs)
    return drift


def broker_reachable(bootstrap: str, timeout_ms: int = 3000) -> bool:
    """A metadata request answers, within about `timeout_ms` even if the broker dies meanwhile (the admin
    client's defaults would retry a closed port for 30 s)."""
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=timeout_ms,
                                 bootstrap_timeout_ms=timeout_ms, reconnect_backoff_max_ms=timeout_ms // 4)
    except Exception:
        return False
    try:
        admin.describe_cluster()
        return True
    except Exception:
        return False
    finally:
        admin.close()
