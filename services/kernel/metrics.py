"""Prometheus metrics shared by web, relay and consumer processes.

With PROMETHEUS_MULTIPROC_DIR set (gunicorn with several workers, or a
relay/consumer process beside the web process of the same instance), every
process writes its samples there and `/metrics` aggregates them. Reading
`/metrics` takes the bearer token METRICS_TOKEN (see `refusal`).
"""
from __future__ import annotations

import hmac
import json
import os
import threading

from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram,
                               generate_latest, multiprocess, REGISTRY)

from .errors import problem

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
READ_MODEL_DISPUTES = Counter("yhd_read_model_disputes_total",
                               "Events claiming an id another organisation holds in a read model (the id is disputed)",
                               ["table"])
EVENTS_QUARANTINED = Counter("yhd_events_quarantined_total", "Outbox rows the relay quarantined", ["type", "topic"])


def render() -> tuple[bytes, str]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry), CONTENT_TYPE_LATEST


# -- who may read /metrics ---------------------------------------------------------------------------
# Every /metrics (the web process's and a worker's METRICS_PORT) answers only a bearer token equal to
# METRICS_TOKEN (or the contents of METRICS_TOKEN_FILE); without one configured it answers 403.

def metrics_token(env=None) -> str | None:
    env = os.environ if env is None else env
    if env.get("METRICS_TOKEN"):
        return env["METRICS_TOKEN"].strip()
    if env.get("METRICS_TOKEN_FILE"):
        with open(env["METRICS_TOKEN_FILE"], encoding="utf-8") as f:
            return f.read().strip() or None
    return None


def refusal(authorization: str, token: str | None) -> tuple[int, str, str] | None:
    """None when the Authorization header may read the metrics; else (status, code, detail)."""
    if not token:
        return 403, "metrics-token-unset", "Set METRICS_TOKEN (or METRICS_TOKEN_FILE) to read the metrics."
    sent = authorization[7:].strip() if authorization.startswith("Bearer ") else ""
    if not hmac.compare_digest(sent.encode(), token.encode()):
        return 401, "metrics-token", "Send the metrics token as 'Authorization: Bearer <METRICS_TOKEN>'."
    return None


def serve(port: int, addr: str = "0.0.0.0") -> None:
    """A worker's own /metrics on `port` (containers), behind the same token, in a daemon thread."""
    from prometheus_client import make_wsgi_app
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
    from socketserver import ThreadingMixIn

    token, metrics_app = metrics_token(), make_wsgi_app()

    def guarded(environ, start_response):
        refused = refusal(environ.get("HTTP_AUTHORIZATION", ""), token)
        if refused is None:
            return metrics_app(environ, start_response)
        status, code, detail = refused
        body = json.dumps(problem(status, "Forbidden" if status == 403 else "Authentication required", detail,
                                  code, instance="/metrics")).encode()
        start_response(f"{status} {'Forbidden' if status == 403 else 'Unauthorized'}",
                       [("Content-Type", "application/problem+json"), ("Content-Length", str(len(body))),
                        ("WWW-Authenticate", "Bearer")])
        return [body]

    class Server(ThreadingMixIn, WSGIServer):
        daemon_threads = True

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    httpd = make_server(addr, port, guarded, Server, handler_class=Quiet)
    threading.Thread(target=httpd.serve_forever, name="metrics", daemon=True).start()
