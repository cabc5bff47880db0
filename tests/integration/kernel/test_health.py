"""/healthz tells when the consumer stops advancing: seen from outside, as an operator's probe sees it."""
from __future__ import annotations

import pytest

from devstack.client import eventually
from services import catalogue
from services.catalogue.app import create_app
from services.kernel.auth import Actor, Role
from services.kernel.config import Settings
from tests.support.catalogue import publish_service
from tests.support.instances import make_instance

pytestmark = pytest.mark.integration

ODL = Actor("caseworker@odl", "Demo", Role.MANAGER, "odl")


def test_healthz_turns_503_naming_the_partition_while_the_consumer_stays_behind(instance, new_database, kafka,
                                                                                topic_prefix, monkeypatch):
    monkeypatch.setenv("METRICS_TOKEN", "health-test-metrics-token")
    url = new_database("social_catalogue").replace("postgresql://", "postgresql+psycopg://")
    app = create_app(Settings(org_id="oulu-social", service="catalogue", database_url=url,
                              kafka_bootstrap_servers=kafka.bootstrap, topic_prefix=topic_prefix,
                              consumer_stall_seconds=1))
    web = app.test_client()
    assert web.get("/healthz").status_code == 200  # nothing waits: healthy
    odl = instance(catalogue.DEFINITION, "odl")
    publish_service(odl.ctx.uow, ODL, "Palvelu", "individual-guidance")
    odl.publish()  # the city's consumer is not running: the record waits

    def stalled():
        r = web.get("/healthz")
        return r if r.status_code == 503 else None
    r = eventually(stalled, 60)
    assert r.headers["Content-Type"].startswith("application/problem+json")
    assert "stalled" in r.get_json()["checks"]["consumer"] and f"{topic_prefix}yhd.catalogue/" in r.get_json()[
        "checks"]["consumer"]
    metrics = web.get("/metrics", headers={"Authorization": "Bearer health-test-metrics-token"})
    assert 'yhd_consumer_stalled_seconds{' in metrics.get_data(as_text=True)

    social = make_instance(catalogue.DEFINITION, "oulu-social", url, kafka.bootstrap, topic_prefix)
    try:
        social.consume_until(lambda: web.get("/healthz").status_code == 200, timeout=90)  # advancing: healthy
    finally:
        social.close()
