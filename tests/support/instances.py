"""A service instance of one organisation, in-process, on the real database and broker."""
from __future__ import annotations

import time
from dataclasses import dataclass

from services.kernel.config import Settings
from services.kernel.consumer import ConsumerRunner
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

    def publish(self) -> int:
        n = 0
        while True:
            k = self.relay.publish_pending()
            if not k:
                return n
            n += k

    def consume_until(self, predicate, timeout: float = 60.0):  # a new group reads the shared topics from the start
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.runner.poll_once(timeout_ms=200)
            result = predicate()
            if result:
                return result
        raise AssertionError(f"condition not met within {timeout}s")

    def close(self):
        if self._runner is not None:
            self._runner.close()
        self.relay._reset_producer()
        self.ctx.dispose()


def make_instance(defn: ServiceDefinition, org_id: str, database_url: str, bootstrap: str) -> Instance:
    settings = Settings(org_id=org_id, service=defn.name, database_url=database_url.replace(
        "postgresql://", "postgresql+psycopg://"), kafka_bootstrap_servers=bootstrap,
        consumer_max_retries=2, kafka_client_timeout_ms=5000)
    return Instance(defn, context_for(defn, settings))
