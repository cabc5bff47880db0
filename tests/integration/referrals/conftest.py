import uuid

import pytest
from sqlalchemy import create_engine, insert, select

from services import catalogue, referrals
from services.kernel.auth import Actor, Role, new_token, upsert_user
from services.kernel.config import Settings, sqlalchemy_url
from services.kernel.tables import outbox
from services.referrals import service as rs
from services.referrals.tables import service_target
from tests.support.catalogue import publish_service
from tests.support.people import consent_to, synthetic_client

CITY_PUBLISHER = Actor("caseworker@oulu-social", "Demo", Role.CASEWORKER, "oulu-social")


@pytest.fixture
def pair(instance):
    """ODL (sender) and the city (receiver) with a published target service: (odl, city, service id)."""
    city_cat = instance(catalogue.DEFINITION, "oulu-social")
    odl, city = instance(referrals.DEFINITION, "odl"), instance(referrals.DEFINITION, "oulu-social")
    target = publish_service(city_cat.ctx.uow, CITY_PUBLISHER, "Kuntouttava työtoiminta",
                             "rehabilitative-work-activity")
    city_cat.publish()
    odl.consume_until(lambda: any(t["service_id"] == target.id for t in rs.list_targets(odl.ctx.uow)))
    return odl, city, target.id


def two_organisations(pg, kafka, prefix: str, roles, password: str | None = None):
    """The referrals apps of ODL and the parish on fresh databases, a user of each role at each (with an API
    token, and a password when given), and at ODL one client with a consent and a referral to the city:
    (apps by org, tokens by (org, role), the ids a route's URL takes)."""
    from services.referrals.app import create_app
    apps, urls, tokens = {}, {}, {}
    for org in ("odl", "oulu-parish"):
        urls[org] = sqlalchemy_url(pg.create_database(f"{prefix}_{org.replace('-', '_')}_{uuid.uuid4().hex[:6]}"))
        apps[org] = create_app(Settings(org_id=org, service="referrals", database_url=urls[org],
                                        kafka_bootstrap_servers=kafka.bootstrap))
    for org, url in urls.items():
        eng = create_engine(url)
        with eng.begin() as conn:
            for role in roles:
                tokens[(org, role)] = new_token()
                upsert_user(conn, f"{role}@{org}", role, tokens[(org, role)], password=password)
            if org == "odl":
                conn.execute(insert(service_target).values(service_id=uuid.uuid4(), organization_id="oulu-social",
                                                           name_fi="Kohde", status="active", version=1))
        eng.dispose()
    client = apps["odl"].test_client()
    cw = {"Authorization": f"Bearer {tokens[('odl', 'caseworker')]}"}
    c = client.post("/api/v1/clients", json=synthetic_client(), headers=cw).get_json()
    consent = client.post(f"/api/v1/clients/{c['id']}/consents", json=consent_to("oulu-social"), headers=cw).get_json()
    target = client.get("/api/v1/targets", headers=cw).get_json()[0]["service_id"]
    referral = client.post("/api/v1/referrals", json={"client_id": c["id"], "service_id": target}, headers=cw)
    assert referral.status_code == 201, referral.get_json()
    ids = {"client_id": c["id"], "consent_id": consent["id"], "referral_id": referral.get_json()["id"],
           "action": "accept"}
    return apps, tokens, ids


def parked(inst, topic, partition, offset):
    """The dead letter `inst` staged for the record at (partition, offset) of `topic`, or None."""
    with inst.ctx.engine.connect() as c:
        for headers in c.execute(select(outbox.c.headers).where(outbox.c.topic == topic + ".DLT")).scalars():
            h = dict(headers)
            if (int(h["dlt_partition"]), int(h["dlt_offset"])) == (partition, offset):
                return h
    return None
