"""Prometheus metrics shared by web, relay and consumer processes.

With PROMETHEUS_MULTIPROC_DIR set (gunicorn with several workers, or a
relay/consumer process beside the web process of the same instance), every
process writes its samples there and `/metrics` aggregates them.
"""
from __future__ import annotations

import os

from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram,
                               generate_latest, multiprocess, REGISTRY)

REQUEST_LATENCY = Histogram(
    "yhd_http_request_duration_seconds", "HTTP request latency", ["method", "endpoint", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
EVENTS_PUBLISHED = Counter("yhd_events_published_total", "Events published by the outbox relay",
                           ["type", "topic"])
EVENTS_CONSUMED = Counter("yhd_events_consumed_total", "Events consumed, by outcome",
                          ["type", "topic", "outcome"])
EVENTS_DEAD_LETTERED = Counter("yhd_events_dead_lettered_total", "Records parked on a dead-letter topic",
                               ["topic", "reason"])
PARKING_FAILURES = Counter("yhd_parking_failures_total",
                           "Records that could not even be parked on their dead-letter topic (passed over)",
                           ["topic"])
OUTBOX_BACKLOG = Gauge("yhd_outbox_backlog", "Outbox rows waiting to be published (not quarantined)",
                       multiprocess_mode="livemax")
OUTBOX_QUARANTINED = Gauge("yhd_outbox_quarantined", "Outbox rows the broker refused, set aside by the relay",
                           multiprocess_mode="livemax")
OUTBOX_WAITING_SECONDS = Gauge("yhd_outbox_waiting_seconds",
                               "How long the first outbox row in line has waited to be published",
                               multiprocess_mode="livemax")
CONSUMER_LAG = Gauge("yhd_consumer_lag", "Records between the stored offset and the log end",
                     ["topic", "partition"], multiprocess_mode="livemax")
CONSUMER_STALLED = Gauge("yhd_consumer_stalled_seconds",
                         "Seconds a partition has stayed at one stored offset with records waiting (0: advancing)",
                         ["topic", "partition"], multiprocess_mode="livemax")
RELAY_ERRORS = Counter("yhd_relay_errors_total", "Failed publish attempts of the outbox relay")
EVENTS_QUARANTINED = Counter("yhd_events_quarantined_total", "Outbox rows the relay quarantined", ["type", "topic"])


def render() -> tuple[bytes, str]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry), CONTENT_TYPE_LATEST
