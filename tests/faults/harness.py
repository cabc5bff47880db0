"""A small federation as real processes, for breaking things and counting.

Two organisations and regional reporting, each service a gunicorn process
with its relay and consumer processes (the stack launcher's own code), on a
PostgreSQL and a Kafka broker of the test's own, so that they can be killed.
The workload: ODL's caseworker sends referrals to the city's service; every
receiving database is then checked for nothing lost and nothing applied twice.
"""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from devstack.client import StackClient
from devstack.stack import Stack
from services.kernel.config import PROJECT_ROOT, sqlalchemy_url
from services.kernel.federation import Federation
from tests.support.people import synthetic_client

SENDER, RECEIVER = "odl", "oulu-social"


class Fed(StackClient):
    """The federation's stack (its processes, broker and database) and a client for its services."""

    def __init__(self, stack: Stack, desc: dict, urls: dict):
        super().__init__(desc)
        self.stack, self.urls = stack, urls
        self.service_id: str | None = None
        self.client_id: str | None = None
        self.sent: list[str] = []
        self._engines: dict = {}
        self._supervisor: threading.Thread | None = None

    # -- HTTP ------------------------------------------------------------------
    def publish_target(self) -> str:
        """The city publishes a service; once ODL can refer to it, ODL registers a client who consents."""
        self.service_id = self.publish_service(RECEIVER, {
            "name": {"fi": "Kuntouttava työtoiminta"}, "categories": ["rehabilitative-work-activity"],
            "areas": ["oulu"]})["id"]
        self.target(SENDER, RECEIVER, service_id=self.service_id, timeout=60)
        self.client_id = self.client_with_consent(SENDER, RECEIVER, synthetic_client(7))
        return self.service_id

    def send(self, n: int) -> list[str]:
        ids = []
        for _ in range(n):
            r = self.call(SENDER, "referrals", "POST", "/api/v1/referrals",
                          json={"client_id": self.client_id, "service_id": self.service_id})
            assert r.status_code == 201, r.text  # writes succeed whatever the broker does
            ids.append(r.json()["id"])
        self.sent.extend(ids)
        return ids

    # -- databases ---------------------------------------------------------------
    def q(self, org, svc, sql, **params):
        key = (org, svc)
        if key not in self._engines:
            self._engines[key] = create_engine(sqlalchemy_url(self.urls[key]), pool_pre_ping=True)
        with self._engines[key].connect() as c:
            return c.execute(text(sql), params).scalar()

    def state(self) -> dict:
        ids = list(self.sent)
        reporting = self.stack.federation.reporting_org
        return {
            "incoming": self.q(RECEIVER, "referrals",
                               "SELECT count(*) FROM referral WHERE direction='incoming' AND id::text = ANY(:ids)",
                               ids=ids),
            "receipts_staged": self.q(RECEIVER, "referrals",
                                      "SELECT count(*) FROM outbox WHERE event_type LIKE '%referral.received%' "
                                      "AND key = ANY(:ids)", ids=ids),
            "acknowledged": self.q(SENDER, "referrals",
                                   "SELECT count(*) FROM referral WHERE received_at IS NOT NULL "
                                   "AND id::text = ANY(:ids)", ids=ids),
            "counted_requested": self.q(reporting, "reporting",
                                        "SELECT coalesce(sum(count), 0) FROM event_count WHERE org_id=:o "
                                        "AND event_type LIKE '%referral.requested%'", o=SENDER),
            "counted_received": self.q(reporting, "reporting",
                                       "SELECT coalesce(sum(count), 0) FROM event_count WHERE org_id=:o "
                                       "AND event_type LIKE '%referral.received%'", o=RECEIVER),
        }

    def wait_exactly_once(self, within: float) -> float:
        """Every referral sent is applied exactly once at every receiving database; returns drain time."""
        n = len(self.sent)
        want = {"incoming": n, "receipts_staged": n, "acknowledged": n, "counted_requested": n,
                "counted_received": n}
        t0 = time.monotonic()
        last = None
        while time.monotonic() - t0 < within:
            last = self.state()
            assert all(last[k] <= want[k] for k in want), f"applied twice: {last} (want {want})"
            if last == want:
                return time.monotonic() - t0
            time.sleep(0.5)
        raise AssertionError(f"not drained within {within}s: {last} (want {want})\n{self.story()}")

    def story(self, lines: int = 40) -> str:
        """The services' own log lines (not the Kafka client's chatter), to tell what went wrong."""
        out = []
        for log in sorted(Path(self.stack.var, "logs").glob("*/*.log")):
            mine = [ln for ln in log.read_text(errors="replace").splitlines()
                    if " kafka." not in ln and " alembic." not in ln]
            out.append(f"--- {log.parent.name}/{log.name}\n" + "\n".join(ln[:300] for ln in mine[-lines:]))
        return "\n".join(out)

    # -- processes ---------------------------------------------------------------
    def child(self, name):
        return self.stack.child(name)

    def close(self):
        for e in self._engines.values():
            e.dispose()
        self.stack.shutdown()
        if self._supervisor:
            self._supervisor.join(10)


def start_federation(var: Path, base_port: int, *, consumers: int = 1, env: dict | None = None) -> Fed:
    os.environ["YHD_QUIET"] = "1"
    stack = Stack(var, base_port, base_port + 55, Federation.load(PROJECT_ROOT / "deploy" / "federation.yaml"),
                  only={SENDER: ("referrals",), RECEIVER: ("referrals", "catalogue")},
                  consumers_per_instance=consumers, separate_workers=True,  # relay and consumer killed apart
                  extra_env={"KAFKA_CLIENT_TIMEOUT_MS": "4000", "YHD_FAULT_MARKER_DIR": str(var),
                             "LOG_LEVEL": "INFO", **(env or {})})
    try:
        stack.start_engines()
        users = stack.users()
        urls = stack.prepare_databases(users)
        stack.start_services(urls)
        stack.wait_healthy(120)
    except Exception:
        stack.shutdown()
        raise
    fed = Fed(stack, stack.describe(users), urls)
    # restarts a child or an engine that dies; an engine a test stops (stop(), kill()) stays down until it starts it
    fed._supervisor = threading.Thread(target=stack.supervise, daemon=True)
    fed._supervisor.start()
    return fed
