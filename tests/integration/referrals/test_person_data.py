"""The person on the bus, on real PostgreSQL and Kafka: no name, identity code or pathway key in plain text on
any record, sealed data bound to its referral, and reporting counting a young person once across organisations
under its own pseudonym."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from marshmallow import EXCLUDE
from sqlalchemy import func, select, update

from kafka import KafkaConsumer, TopicPartition

from services import referrals, reporting
from services.kernel.auth import Actor, Role
from services.kernel.tables import outbox
from services.referrals import service as rs
from services.referrals.domain.identity import pathway_key
from services.referrals.schemas import ConsentIn
from services.referrals.tables import notification, referral as referral_t
from services.reporting import service as reporting_service
from services.reporting.domain import pseudonym
from services.reporting.tables import event_count, person_seen
from tests.integration.referrals.conftest import parked
from tests.support.adversary import Adversary
from tests.support.people import consent_to, synthetic_client

pytestmark = pytest.mark.integration
ODL = Actor("caseworker@odl", "Demo", Role.CASEWORKER, "odl")
CITY = Actor("caseworker@oulu-social", "Demo", Role.CASEWORKER, "oulu-social")
PARISH = Actor("caseworker@oulu-parish", "Demo", Role.CASEWORKER, "oulu-parish")
REQUESTED = "fi.yhdistamo.referral.requested.v2"


def sent_referral(inst, target, note=None, person=None, actor=ODL):
    client = rs.register_client(inst.ctx.uow, actor, person or synthetic_client())
    rs.record_consent(inst.ctx.uow, actor, client.id, ConsentIn(unknown=EXCLUDE).load(consent_to("oulu-social")))
    return rs.send_referral(inst.ctx.uow, actor, client.id, target, None, note)


def staged(inst, referral_id, event_type=REQUESTED) -> dict:
    with inst.ctx.engine.connect() as c:
        value = c.execute(select(outbox.c.value).where(outbox.c.key == str(referral_id),
                                                       outbox.c.event_type == event_type)).scalar()
    return json.loads(bytes(value))


def count(inst, table, *where):
    with inst.ctx.engine.connect() as c:
        return c.execute(select(func.count()).select_from(table).where(*where)).scalar()


def test_sealed_data_pasted_from_another_referral_is_refused_and_nothing_changes(pair, kafka, instance):
    """The parish, a member with its own valid key, copies the boxes of ODL's referral (the one sealed for the
    city, the one sealed for reporting) into a referral of its own to the city: the city and reporting open
    them, see them bound to ODL's referral, and refuse the event."""
    odl, city, target = pair
    region = instance(reporting.DEFINITION, "region")
    genuine = sent_referral(odl, target, "Toivoo työtoimintaa")
    odl.publish()
    city.consume_until(lambda: count(city, referral_t, referral_t.c.id == genuine.id))
    before = {t.name: count(city, t) for t in (referral_t, notification, outbox)}

    pasted_id = str(uuid.uuid4())
    data = {**staged(odl, genuine.id), "referral_id": pasted_id, "from_org": "oulu-parish",
            "consent_id": str(uuid.uuid4())}
    topic = city.topic("yhd.referrals")
    at = Adversary("oulu-parish", kafka.bootstrap).send(topic, REQUESTED, pasted_id, data)

    dead = city.consume_until(lambda: parked(city, topic, *at))
    assert dead["dlt_reason"] == "Rejected"
    assert f"bound to {{'referral_id': '{genuine.id}', 'from_org': 'odl'" in dead["dlt_error"]
    assert count(city, referral_t, referral_t.c.id == uuid.UUID(pasted_id)) == 0
    after = {t.name: count(city, t) for t in (referral_t, notification, outbox)}
    assert after == {**before, "outbox": before["outbox"] + 1}  # the dead letter, and nothing else
    # the genuine referral keeps exactly what ODL disclosed
    with city.ctx.engine.connect() as c:
        personal = c.execute(select(referral_t.c.personal).where(referral_t.c.id == genuine.id)).scalar()
    assert personal["note"] == "Toivoo työtoimintaa" and "bound" not in personal
    # reporting refuses it too: the parish cannot make a person count as its own
    dead = region.consume_until(lambda: parked(region, topic, *at))
    assert dead["dlt_reason"] == "Rejected" and "person sealed for reporting" in dead["dlt_error"]
    with region.ctx.engine.connect() as c:
        assert c.execute(select(person_seen.c.org_id)).scalars().all() == ["odl"]


def every_record(bootstrap, topic) -> list:
    """Every record of `topic` from the beginning, each partition read to its end offset."""
    c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        parts = [TopicPartition(topic, p) for p in c.partitions_for_topic(topic) or ()]
        c.assign(parts)
        c.seek_to_beginning(*parts)
        ends, out = c.end_offsets(parts), []
        while any(c.position(tp) < end for tp, end in ends.items()):
            for batch in c.poll(timeout_ms=1000).values():
                out += batch
        return out
    finally:
        c.close()


def test_no_identity_code_name_or_pathway_key_in_plain_text_on_any_referral_or_consent_record(pair, kafka):
    """Every event type that carried the pathway key in plain text (v1) goes over the broker: the request,
    the receipt, each status change, an outcome, an escalation, the consent's grant and withdrawal."""
    odl, city, target = pair
    client = rs.register_client(odl.ctx.uow, ODL, synthetic_client(seed=13))
    rs.record_consent(odl.ctx.uow, ODL, client.id, ConsentIn(unknown=EXCLUDE).load(consent_to("oulu-social")))
    first, second = (rs.send_referral(odl.ctx.uow, ODL, client.id, target, None, "Toivoo työtoimintaa")
                     for _ in range(2))
    odl.publish()
    city.consume_until(lambda: count(city, referral_t, referral_t.c.id.in_([first.id, second.id])) == 2)
    for action in ("accept", "start", "complete"):
        rs.act_on_referral(city.ctx.uow, CITY, first.id, action, None, None)
    rs.record_outcome(city.ctx.uow, CITY, first.id, "completion", "studies", None)
    with city.ctx.engine.begin() as c:  # the second stays unanswered for two weeks
        c.execute(update(referral_t).where(referral_t.c.id == second.id)
                  .values(received_at=datetime.now(timezone.utc) - timedelta(days=14)))
    assert rs.escalate_unanswered(city.ctx.uow, "oulu-social", 3) == 1
    city.publish()
    consent = rs.get_client(odl.ctx.uow, ODL, client.id)[1][0]
    rs.withdraw_consent(odl.ctx.uow, ODL, client.id, consent.id)
    odl.publish()

    records = every_record(kafka.bootstrap, odl.topic("yhd.referrals"))
    types = {dict(r.headers)["ce_type"].decode() for r in records}
    assert types >= {f"fi.yhdistamo.{n}.v2" for n in (
        "referral.requested", "referral.accepted", "referral.status-changed", "referral.outcome-recorded",
        "referral.escalated", "consent.granted", "consent.withdrawn")} | {"fi.yhdistamo.referral.received.v1"}
    secrets = {client.identity_code, client.identity_code.lower(), client.name, client.pathway_key,
               client.pathway_key.removeprefix("pk1-"), "Toivoo työtoimintaa"}
    for r in records:
        plain = (r.key or b"") + (r.value or b"") + b"".join(k.encode() + (v or b"") for k, v in r.headers)
        text = plain.decode("utf-8", errors="replace")
        assert not [x for x in secrets if x in text], (dict(r.headers)["ce_type"], r.offset)
    # the same person's two referrals: nothing equal on the bus that would link them (boxes are fresh)
    requested = [json.loads(r.value) for r in records if dict(r.headers)["ce_type"] == REQUESTED.encode()]
    mine = {d["referral_id"]: d for d in requested if d["referral_id"] in (str(first.id), str(second.id))}
    assert mine[str(first.id)]["person"] != mine[str(second.id)]["person"]
    assert mine[str(first.id)]["sealed"] != mine[str(second.id)]["sealed"]
    # the receiver computed the pathway key itself from the disclosed identity code, and keeps it locally
    with city.ctx.engine.connect() as c:
        keys = set(c.execute(select(referral_t.c.pathway_key).where(referral_t.c.id == second.id)).scalars())
    assert keys == {client.pathway_key}


def test_a_person_box_reporting_cannot_open_is_refused_at_once(pair, kafka, instance):
    """The parish seals the person of its own referral for some other key: reporting parks the event with the
    reason (no retries, nothing counted); the referral itself still reaches the city."""
    import base64

    from nacl.public import PrivateKey

    from services.kernel import sealed

    _, city, target = pair
    region = instance(reporting.DEFINITION, "region")
    rid = str(uuid.uuid4())
    bound = {"referral_id": rid, "from_org": "oulu-parish", "to_org": "oulu-social"}
    other = base64.b64encode(bytes(PrivateKey.generate().public_key)).decode()
    data = {**bound, "service_id": str(target), "age_band": "18-24", "gender": "unknown",
            "requested_at": "2026-12-02T10:00:00Z", "consent_id": str(uuid.uuid4()), "categories": [],
            "person": sealed.seal({"bound": bound, "pathway_key": "pk1-" + "0" * 40}, other)}
    topic = city.topic("yhd.referrals")
    at = Adversary("oulu-parish", kafka.bootstrap).send(topic, REQUESTED, rid, data)
    dead = region.consume_until(lambda: parked(region, topic, *at))
    assert dead["dlt_reason"] == "Rejected" and "the person box" in dead["dlt_error"]
    assert count(region, person_seen, person_seen.c.org_id == "oulu-parish") == 0  # (earlier tests' are ODL's)
    city.consume_until(lambda: count(city, referral_t, referral_t.c.id == uuid.UUID(rid)))


def test_a_v1_event_with_a_plain_text_pathway_key_is_parked_by_every_consumer(pair, kafka, instance):
    """v1 is withdrawn: a member not yet upgraded (here ODL, with its own valid key) is not applied anywhere,
    and reporting does not count it."""
    odl, city, target = pair
    region = instance(reporting.DEFINITION, "region")
    rid = str(uuid.uuid4())
    data = {"referral_id": rid, "from_org": "odl", "to_org": "oulu-social", "service_id": str(target),
            "age_band": "18-24", "gender": "unknown", "pathway_key": "pk1-" + "0" * 40,
            "requested_at": "2026-12-02T10:00:00Z", "consent_id": str(uuid.uuid4()), "categories": []}
    topic = city.topic("yhd.referrals")
    at = Adversary("odl", kafka.bootstrap).send(topic, "fi.yhdistamo.referral.requested.v1", rid, data)
    for inst in (city, region, odl):
        dead = inst.consume_until(lambda: parked(inst, topic, *at))
        assert dead["dlt_reason"] == "ContractError", inst.ctx.settings.org_id
        assert "unknown event type or version: fi.yhdistamo.referral.requested.v1" in dead["dlt_error"]
    assert count(city, referral_t, referral_t.c.id == uuid.UUID(rid)) == 0
    with region.ctx.engine.connect() as c:
        counted = c.execute(select(func.count()).select_from(event_count).where(
            event_count.c.event_type.like("%referral.requested.v1"))).scalar()
    assert counted == 0
