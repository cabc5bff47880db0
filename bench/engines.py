"""The engines the benchmark measures on: its own PostgreSQL and Kafka (sections 1, 2, 3, 6, 7) or a launcher
stack of the federation (sections 4, 5), and the few Kafka calls its raw baselines need."""
from __future__ import annotations

import os
import random
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import psutil
from kafka import KafkaAdminClient, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError
from sqlalchemy import create_engine

from devstack import services as service_list
from devstack.client import eventually
from devstack.kafka import EmbeddedKafka
from devstack.postgres import EmbeddedPostgres
from devstack.stack import Stack
from services.kernel import broker
from services.kernel.config import Settings, sqlalchemy_url
from services.kernel.federation import Federation
from services.kernel.worker import context_for

from .common import KAFKA_LIBS, ROOT, free_ports, say


def federation() -> Federation:
    return Federation.load(ROOT / "deploy" / "federation.yaml")


def database(url: str):
    """A SQLAlchemy engine on a database URL of the embedded PostgreSQL."""
    return create_engine(sqlalchemy_url(url))


class Engines:
    """PostgreSQL and Kafka of the benchmark's own, started as tests/support/parts.py does."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.pg = None
        self.kafka = None

    def start(self, kafka: bool = True) -> "Engines":
        t = time.monotonic()
        self.pg = EmbeddedPostgres(self.tmp / "pg" / "data", max_connections=300).start()
        if not kafka:   # section 7 alone needs only PostgreSQL
            say(f"engine up in {time.monotonic() - t:.1f}s: PostgreSQL {self.pg.url()}")
            return self
        self.kafka = EmbeddedKafka(self.tmp / "kafka", *free_ports(2), libs=KAFKA_LIBS).start()
        broker.ensure_topics(self.kafka.bootstrap, ROOT / "deploy" / "topics.yaml")
        say(f"engines up in {time.monotonic() - t:.1f}s: PostgreSQL {self.pg.url()}, Kafka {self.kafka.bootstrap}")
        return self

    def stop(self):
        for name, engine in (("Kafka", self.kafka), ("PostgreSQL", self.pg)):
            if engine is not None:
                try:
                    engine.stop()
                except Exception as e:
                    say(f"stopping {name}: {e!r}")

    @property
    def bootstrap(self) -> str:
        return self.kafka.bootstrap

    def new_database(self, prefix: str) -> str:
        return self.pg.create_database(f"{prefix}_{uuid.uuid4().hex[:10]}")

    def context(self, defn, org_id: str, url: str):
        """A service instance's context on the database at `url`, migrated (tests/support/instances.py
        make_instance)."""
        bootstrap = self.kafka.bootstrap if self.kafka else ""   # without Kafka: a context that never publishes
        settings = Settings(org_id=org_id, service=defn.name, database_url=sqlalchemy_url(url),
                            kafka_bootstrap_servers=bootstrap)
        return context_for(defn, settings)


# -- raw Kafka, for the baselines ---------------------------------------------------------------------------------
def groupless_consumer(bootstrap: str):
    """The product's consumer settings, without a group (assign and seek by hand)."""
    return broker.consumer(bootstrap, None)


def producer(bootstrap: str):
    """The product's producer settings (acks=all, idempotent)."""
    return broker.producer(bootstrap)


def create_topic(bootstrap: str, name: str, partitions: int) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15_000)
    try:
        admin.create_topics([NewTopic(name, partitions, 1)], timeout_ms=15_000)
    except TopicAlreadyExistsError:
        pass
    finally:
        admin.close()
    probe = groupless_consumer(bootstrap)
    try:  # until the topic's metadata is visible to clients
        eventually(lambda: len(probe.partitions_for_topic(name) or ()) == partitions, 30,
                   what=f"topic {name} with {partitions} partitions")
    finally:
        probe.close()


def end_offsets(bootstrap: str, topics: list[str]) -> dict:
    """{(topic, partition): end offset} for every partition of the topics."""
    probe = groupless_consumer(bootstrap)
    try:
        tps = [TopicPartition(t, p) for t in topics
               for p in sorted(eventually(lambda: probe.partitions_for_topic(t), 15, what=f"topic {t}"))]
        return {(tp.topic, tp.partition): off for tp, off in probe.end_offsets(tps).items()}
    finally:
        probe.close()


# -- the launcher's stack (sections 4 and 5) ----------------------------------------------------------------------
def free_stack(var: Path, fed: Federation, **layout) -> Stack:
    """A launcher Stack whose ports are all free: its services' (deploy/services.yaml) from a random base port,
    Kafka's two above the highest of them."""
    specs = service_list.load()
    top = max([specs[svc].port(0, i) for i, org in enumerate(fed.organisations.values()) for svc in org.services] +
              [specs[svc].port(0, None) for svc in service_list.regional_services()])
    for _ in range(200):
        base = random.randrange(20000, 40000 - top - 3)
        stack = Stack(var, base, base + top + 1, fed, **layout)
        try:
            stack.check_ports_free()
            return stack
        except RuntimeError:
            continue
    raise RuntimeError("no free port range for a stack")


@contextmanager
def running_stack(var: Path, healthy_within: float, **layout):
    """A launcher Stack on `var` and free ports, every service healthy: (stack, its description, database URLs)."""
    os.environ["YHD_QUIET"] = "1"
    os.environ.setdefault("YHD_DEMO_MODE", "1")  # bench runs on the public demo keys
    os.environ.setdefault("YHD_KAFKA_LIBS", str(KAFKA_LIBS))
    var.mkdir(parents=True, exist_ok=True)
    stack = free_stack(var, federation(), **layout)
    try:
        stack.start_engines()
        users = stack.users()
        urls = stack.prepare_databases(users)
        stack.start_services(urls)
        stack.wait_healthy(healthy_within)
        yield stack, stack.describe(users), urls
    finally:
        stack.shutdown()


def reap(tmp: Path) -> None:
    """Last line of cleanup (after an interrupt mid-start): PostgreSQL servers under our temp directory
    and any process we started that is still running."""
    for pidfile in tmp.glob("**/postmaster.pid"):
        try:
            EmbeddedPostgres(pidfile.parent).stop()
        except Exception as e:
            say(f"stopping PostgreSQL in {pidfile.parent}: {e!r}")
    left = [p for p in psutil.Process().children(recursive=True) if p.is_running()]
    if not left:
        return
    say(f"stopping {len(left)} leftover processes: {[p.pid for p in left]}")
    for p in left:
        try:
            p.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(left, timeout=10)
    for p in alive:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
