"""The person on the bus, on real PostgreSQL and Kafka: sealed data bound to its referral."""
from __future__ import annotations

import uuid

import pytest
from marshmallow import EXCLUDE
from sqlalchemy import func, select

from services.kernel import broker
from services.kernel.auth import Actor, Role
from services.kernel.config import PROJECT_ROOT
from services.kernel.events import new_event
from services.kernel.keys import load_private_key
from services.kernel.tables import outbox
from services.referrals import service as rs
from services.referrals.schemas import ConsentIn
from services.referrals.tables import notification, referral as referral_t
from tests.support.people import consent_to, synthetic_client

pytestmark = pytest.mark.integration
ODL = Actor("caseworker@odl", "Demo", Role.CASEWORKER, "odl")
REQUESTED = "fi.yhdistamo.referral.requested.v1"


def sent_referral(odl, target, note=None):
    client = rs.register_client(odl.ctx.uow, ODL, synthetic_client())
    rs.record_consent(odl.ctx.uow, ODL, client.id, ConsentIn(unknown=EXCLUDE).load(consent_to("oulu-social")))
    return rs.send_referral(odl.ctx.uow, ODL, client.id, target, None, note)


def staged(inst, referral_id, event_type=REQUESTED) -> dict:
    import json
    with inst.ctx.engine.connect() as c:
        value = c.execute(select(outbox.c.value).where(outbox.c.key == str(referral_id),
                                                       outbox.c.event_type == event_type)).scalar()
    return json.loads(bytes(value))


def count(inst, table, *where):
    with inst.ctx.engine.connect() as c:
        return c.execute(select(func.count()).select_from(table).where(*where)).scalar()


def parked(inst, topic, partition, offset):
    """The dead letter `inst` staged for the record at (partition, offset) of `topic`, or None."""
    with inst.ctx.engine.connect() as c:
        for headers in c.execute(select(outbox.c.headers).where(outbox.c.topic == topic + ".DLT")).scalars():
            h = dict(headers)
            if (int(h["dlt_partition"]), int(h["dlt_offset"])) == (partition, offset):
                return h
    return None


def test_sealed_data_pasted_from_another_referral_is_refused_and_nothing_changes(pair, kafka):
    """The parish, a member with its own valid key, copies the box sealed for the city from ODL's referral
    into a referral of its own to the city: the city opens it, sees it bound to ODL's referral, refuses it."""
    odl, city, target = pair
    genuine = sent_referral(odl, target, "Toivoo työtoimintaa")
    odl.publish()
    city.consume_until(lambda: count(city, referral_t, referral_t.c.id == genuine.id))
    before = {t.name: count(city, t) for t in (referral_t, notification, outbox)}

    pasted_id = str(uuid.uuid4())
    data = {**staged(odl, genuine.id), "referral_id": pasted_id, "from_org": "oulu-parish",
            "consent_id": str(uuid.uuid4())}
    ev = new_event(source="/orgs/oulu-parish/referrals", type=REQUESTED, key=pasted_id, data=data,
                   signing_key=load_private_key(PROJECT_ROOT / "deploy" / "demo-keys" / "oulu-parish.ed25519.pem"))
    topic = city.topic("yhd.referrals")
    p = broker.producer(kafka.bootstrap)
    md = p.send(topic, key=pasted_id.encode(), value=ev.data_bytes, headers=ev.headers()).get(timeout=10)
    p.close()

    dead = city.consume_until(lambda: parked(city, topic, md.partition, md.offset))
    assert dead["dlt_reason"] == "Rejected"
    assert f"bound to {{'referral_id': '{genuine.id}', 'from_org': 'odl'" in dead["dlt_error"]
    assert count(city, referral_t, referral_t.c.id == uuid.UUID(pasted_id)) == 0
    after = {t.name: count(city, t) for t in (referral_t, notification, outbox)}
    assert after == {**before, "outbox": before["outbox"] + 1}  # the dead letter, and nothing else
    # the genuine referral keeps exactly what ODL disclosed
    with city.ctx.engine.connect() as c:
        personal = c.execute(select(referral_t.c.personal).where(referral_t.c.id == genuine.id)).scalar()
    assert personal["note"] == "Toivoo työtoimintaa" and "bound" not in personal
