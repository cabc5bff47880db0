"""A service instance of one organisation, in-process, on the real database and broker (with the
`instance` and `topic_prefix` fixtures: a pytest plugin).

Each test module has its own topics on the session's broker (`t<hash of the module>.yhd.referrals`, …),
so a new consumer group reads only its own module's events, however many tests ran before it.
"""
from __future__ import annotations

import hashlib
import time
import warnings
from dataclasses import dataclass

import pytest

from services.kernel import broker
from services.kernel.config import Settings
from services.kernel.consumer import ConsumerRunner, Orphaned
from services.kernel.context import ServiceContext
from services.kernel.relay import Relay
from services.kernel.worker import ServiceDefinition, consumer_for, context_for, relay_for


@dataclass
class Instance:
    defn: ServiceDefinition
    ctx: ServiceContext

    def __post_init__(self):
        self.relay: Relay = relay_for(self.ctx)
        self._runner: ConsumerRunner | None = None

    @property
    def runner(self) -> ConsumerRunner:
        if self._runner is None:
            self._runner = consumer_for(self.defn, self.ctx)
            self._runner.start()
        return self._runner

    def topic(self, name: str) -> str:
        """The name of topic `name` (as in deploy/topics.yaml) in this instance's namespace."""
        return self.ctx.settings.topic_prefix + name

    def publish(self) -> int:
        n = 0
        while True:
            k = self.relay.publish_pending()
            if not k:
                return n
            n += k

    def consume_until(self, predicate, timeout: float = 60.0):
        """Poll this instance's consumer until `predicate()` is true; a generous bound (a group joins, then reads)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.runner.poll_once(timeout_ms=200)
            except Orphaned as e:  # left without partitions, or stalled (Stalled): the worker would rejoin too
                warnings.warn(f"{e}; rejoining", RuntimeWarning)
                self.restart()
            result = predicate()
            if result:
                return result
        raise AssertionError(f"condition not met within {timeout}s")

    def restart(self):
        self.runner.close()
        self.runner.start()

    def close(self):
        if self._runner is not None:
            self._runner.close()
        self.relay._reset_producer()
        self.ctx.dispose()


def make_instance(defn: ServiceDefinition, org_id: str, database_url: str, bootstrap: str,
                  topic_prefix: str = "") -> Instance:
    settings = Settings(org_id=org_id, service=defn.name, database_url=database_url.replace(
        "postgresql://", "postgresql+psycopg://"), kafka_bootstrap_servers=bootstrap, topic_prefix=topic_prefix,
        consumer_max_retries=2, kafka_client_timeout_ms=5000)
    return Instance(defn, context_for(defn, settings))


def module_prefix(module_name: str) -> str:
    return "t" + hashlib.sha1(module_name.encode()).hexdigest()[:10] + "."


@pytest.fixture(scope="module")
def topic_prefix(request, kafka) -> str:
    """This module's topic namespace on the session's broker, its topics (and their DLTs) created once."""
    prefix = module_prefix(request.module.__name__)
    broker.ensure_topics(kafka.bootstrap, Settings.topics_file, prefix=prefix)
    return prefix


@pytest.fixture
def instance(new_database, kafka, topic_prefix):
    """Factory: make_instance(DEFINITION, org_id) on a fresh database, in this module's topic namespace."""
    made = []

    def make(defn, org_id):
        inst = make_instance(defn, org_id, new_database(f"{org_id}_{defn.name}"), kafka.bootstrap, topic_prefix)
        made.append(inst)
        return inst
    yield make
    for inst in made:
        inst.close()
