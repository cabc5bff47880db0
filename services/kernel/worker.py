"""Relay and consumer processes of a service instance.

    python -m services.<service>.worker relay      # publish the outbox
    python -m services.<service>.worker consumer   # apply events (run several to share partitions)
                                                   # and run the service's periodic jobs
    python -m services.<service>.worker all        # both, as threads of one process

With METRICS_PORT set, the process serves its own Prometheus /metrics there
(containers); in the embedded stack it writes to the instance's
PROMETHEUS_MULTIPROC_DIR instead and the web process serves the sum.
"""
from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
import time
from dataclasses import dataclass
from typing import Callable
from pathlib import Path

from .config import Settings
from .consumer import ConsumerRunner, Handlers, ReplayWindow
from .context import ServiceContext, build_context
from .db import UnitOfWork
from .demo import refuse_demo_keys
from .recovery import ClusterWatch
from .relay import Relay


@dataclass(frozen=True)
class Job:
    """A periodic task of a service (idempotent: several consumer processes may run it)."""
    name: str
    every_seconds: float
    run: Callable[[ServiceContext], object]


@dataclass(frozen=True)
class ServiceDefinition:
    name: str
    uow_class: type[UnitOfWork]
    migrations: Path
    handlers: Handlers
    jobs: tuple[Job, ...] = ()


def run_jobs(jobs, ctx: ServiceContext, stop: threading.Event) -> None:
    log = logging.getLogger(__name__)
    due = {j.name: 0.0 for j in jobs}
    while not stop.wait(1.0):
        for j in jobs:
            if time.monotonic() < due[j.name]:
                continue
            try:
                j.run(ctx)
            except Exception as e:  # a failed run is retried at its next turn
                log.warning("job %s failed: %r", j.name, e)
            due[j.name] = time.monotonic() + j.every_seconds


def setup_logging():
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s [%(process)d %(name)s] %(message)s")
    logging.getLogger("kafka").setLevel(logging.WARNING)


def context_for(defn: ServiceDefinition, settings: Settings | None = None, **kw) -> ServiceContext:
    settings = settings or Settings.from_env(defn.name)
    refuse_demo_keys(settings)   # the one check of the keys and secrets, for web and worker processes alike
    return build_context(settings, uow_class=defn.uow_class, migrations=defn.migrations, **kw)


def cluster_watch_for(ctx: ServiceContext) -> ClusterWatch | None:
    """What notices that the broker lost its data and recovers the instance (relay and consumer share it)."""
    s = ctx.settings
    if s.topics_file is None:
        return None
    return ClusterWatch(ctx.engine, s.kafka_bootstrap_servers, s.topics_file, s.topic_prefix)


def consumer_for(defn: ServiceDefinition, ctx: ServiceContext) -> ConsumerRunner:
    s = ctx.settings
    return ConsumerRunner(group=s.consumer_group, bootstrap=s.kafka_bootstrap_servers, engine=ctx.engine,
                          uow_factory=ctx.uow, handlers=defn.handlers, federation=ctx.federation,
                          contracts=ctx.contracts, max_retries=s.consumer_max_retries,
                          timeout_ms=s.kafka_client_timeout_ms, watch=cluster_watch_for(ctx),
                          replay=ReplayWindow.for_settings(s))


def relay_for(ctx: ServiceContext) -> Relay:
    s = ctx.settings
    return Relay(ctx.engine, s.kafka_bootstrap_servers, retention_hours=s.outbox_retention_hours,
                 timeout_ms=s.kafka_client_timeout_ms, watch=cluster_watch_for(ctx))


def main(defn: ServiceDefinition, argv=None) -> None:
    parser = argparse.ArgumentParser(prog=f"python -m services.{defn.name}.worker")
    parser.add_argument("role", choices=["relay", "consumer", "all"])
    args = parser.parse_args(argv)
    setup_logging()
    ctx = context_for(defn)
    if os.environ.get("METRICS_PORT"):  # containers: the worker serves its own /metrics (METRICS_TOKEN)
        from .metrics import serve
        serve(int(os.environ["METRICS_PORT"]))
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    runners = []
    if args.role in ("relay", "all"):
        runners.append(relay_for(ctx).run)
    if args.role in ("consumer", "all") and defn.handlers.types():
        runners.append(consumer_for(defn, ctx).run)
    if args.role in ("consumer", "all") and defn.jobs:
        runners.append(lambda stop: run_jobs(defn.jobs, ctx, stop))
    threads = [threading.Thread(target=r, args=(stop,), daemon=True) for r in runners]
    for t in threads:
        t.start()
    while not stop.wait(0.5):
        if not all(t.is_alive() for t in threads):
            logging.getLogger(__name__).error("a worker thread died; exiting so the supervisor restarts us")
            stop.set()
            os._exit(1)
    for t in threads:
        t.join(timeout=10)
    ctx.dispose()
