"""Replays on a real broker and database: a genuine event older than what the inbox remembers (or stamped far
ahead) is parked, not applied again; on the compacted catalogue topic an older version, a tombstone, a record
under another service's key or another organisation's claim under the owner's key changes nothing."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from kafka import KafkaConsumer, TopicPartition
from sqlalchemy import delete, select

from services import catalogue, referrals, reporting
from services.catalogue.publishing import service as catalogue_service
from services.catalogue.tables import directory_service
from services.kernel import broker
from services.kernel.auth import Actor, Role
from services.kernel.events import new_event
from services.kernel.tables import inbox
from services.referrals.tables import service_target
from tests.support import poison
from tests.support.catalogue import catalogue_key, publish_service, published_data, service_doc
from tests.support.instances import module_prefix

pytestmark = pytest.mark.integration
ODL = Actor("editor@odl", "Demo", Role.MANAGER, "odl")
PREFIX = module_prefix(__name__)


def produce(bootstrap, topic, records: dict) -> dict:
    """name -> (key, value, headers); returns name -> the record's metadata."""
    p = broker.producer(bootstrap)
    try:
        return {name: p.send(topic, key=k, value=v, headers=h).get(timeout=30) for name, (k, v, h) in records.items()}
    finally:
        p.close()


def of(ev) -> tuple:
    return ev.partitionkey.encode(), ev.data_bytes, ev.headers()


def parked(bootstrap, topic, group) -> dict:
    """(partition, offset) -> headers of each record `group` parked from `topic`."""
    c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=3000)
    tp = TopicPartition(topic + broker.DLT_SUFFIX, 0)
    c.assign([tp])
    c.seek_to_beginning(tp)
    out = {}
    for r in c:
        h = {k: v.decode(errors="replace") for k, v in r.headers}
        if h.get("dlt_consumer_group") == group:
            out[(int(h["dlt_partition"]), int(h["dlt_offset"]))] = h
    c.close()
    return out


def reasons(inst, topic, landed: dict) -> dict:
    """name -> (dlt_reason, dlt_error) of each landed record the instance parked (after publishing its outbox)."""
    inst.publish()
    found = parked(inst.runner.bootstrap, topic, inst.ctx.settings.consumer_group)
    return {name: (found[(md.partition, md.offset)]["dlt_reason"], found[(md.partition, md.offset)]["dlt_error"])
            for name, md in landed.items() if (md.partition, md.offset) in found}


def encounter(at: datetime | None = None):
    eid = str(uuid.uuid4())
    ev = new_event(source="/orgs/odl/attendance", type="fi.yhdistamo.attendance.encounter-recorded.v1", key=eid,
                   data={"encounter_id": eid, "organization_id": "odl", "kind": "drop-in", "anonymous": True,
                         "participants": 2, "occurred_at": "2026-12-01T10:00:00Z"},
                   signing_key=poison.demo_key("odl"), topic=PREFIX + "yhd.attendance")
    if at is None:
        return ev
    return poison.resign(ev, "odl", time=at.isoformat().replace("+00:00", "Z"))  # genuine, signed by odl


def in_inbox(inst, event_id) -> bool:
    with inst.ctx.engine.connect() as c:
        return c.execute(select(inbox.c.event_id).where(inbox.c.event_id == event_id)).first() is not None


def test_a_genuine_event_older_than_the_replay_window_or_from_the_future_is_parked_not_applied(instance, kafka):
    region = instance(reporting.DEFINITION, "region")
    topic = region.topic("yhd.attendance")
    window = region.runner.applier.replay
    now = datetime.now(timezone.utc)
    events = {"older-than-the-window": encounter(now - timedelta(hours=window.hours + 1)),
              "in-the-future": encounter(now + timedelta(hours=1)),
              "a-re-publish-within-the-window": encounter(now - timedelta(hours=window.hours - 1)),
              "fresh": encounter()}
    landed = produce(kafka.bootstrap, topic, {name: of(ev) for name, ev in events.items()})
    region.consume_until(lambda: in_inbox(region, events["fresh"].id)
                         and in_inbox(region, events["a-re-publish-within-the-window"].id))
    why = region.consume_until(lambda: (r := reasons(region, topic, landed)) and len(r) == 2 and r)
    assert not in_inbox(region, events["older-than-the-window"].id) and not in_inbox(region, events["in-the-future"].id)
    assert why["older-than-the-window"][0] == "OutsideReplayWindow"
    assert "older than the replay window" in why["older-than-the-window"][1]
    assert why["in-the-future"][0] == "OutsideReplayWindow" and "in the future" in why["in-the-future"][1]


def directory_row(inst, service_id):
    with inst.ctx.engine.connect() as c:
        return c.execute(select(directory_service.c.organization_id, directory_service.c.name_fi,
                                directory_service.c.version)
                         .where(directory_service.c.service_id == service_id)).first()


def target_row(inst, service_id):
    with inst.ctx.engine.connect() as c:
        return c.execute(select(service_target.c.organization_id, service_target.c.name_fi, service_target.c.version)
                         .where(service_target.c.service_id == service_id)).first()


def raw_records_of(bootstrap, topic, key: str) -> list:
    """Every record of `key` now on the topic, as (key, value, headers), in log order."""
    c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=3000)
    tps = [TopicPartition(topic, p) for p in c.partitions_for_topic(topic)]
    c.assign(tps)
    c.seek_to_beginning(*tps)
    out = [(r.key, r.value, r.headers) for r in c if r.key == key.encode()]
    c.close()
    return out


def test_on_the_compacted_catalogue_an_old_version_a_tombstone_or_a_misplaced_claim_changes_nothing(instance, kafka):
    odl = instance(catalogue.DEFINITION, "odl")
    social_catalogue, social_referrals = instance(catalogue.DEFINITION, "oulu-social"), \
        instance(referrals.DEFINITION, "oulu-social")
    readers = (social_catalogue, social_referrals)
    topic = odl.topic("yhd.catalogue")
    s = publish_service(odl.ctx.uow, ODL, "Velkaneuvonta")
    catalogue_service.update_service(odl.ctx.uow, ODL, s.id, service_doc("Velkaneuvonta v2"))
    odl.publish()
    social_catalogue.consume_until(lambda: directory_row(social_catalogue, s.id) == ("odl", "Velkaneuvonta v2", 2))
    social_referrals.consume_until(lambda: target_row(social_referrals, s.id) == ("odl", "Velkaneuvonta v2", 2))
    key = catalogue_key("odl", s.id)
    [first, second] = raw_records_of(kafka.bootstrap, topic, key)

    for inst in readers:  # as if the inbox rows had been pruned: only the versions guard against the replay now
        with inst.ctx.engine.begin() as c:
            c.execute(delete(inbox))
    parish = poison.demo_key("oulu-parish")
    own = str(uuid.uuid4())
    misplaced = new_event(source="/orgs/oulu-parish/catalogue", type="fi.yhdistamo.catalogue.service-published.v2",
                          key=key, data=published_data(own, "oulu-parish", "Kaapattu", version=9),
                          signing_key=parish, topic=topic)  # its own service, under the key of odl's
    claim = new_event(source="/orgs/oulu-parish/catalogue", type="fi.yhdistamo.catalogue.service-published.v2",
                      key=key, data=published_data(str(s.id), "oulu-parish", "Kaapattu", version=9),
                      signing_key=parish, topic=topic)  # odl's service, under odl's key: would compact it away
    landed = produce(kafka.bootstrap, topic, {
        "older-version-replayed": first, "same-version-replayed": second,
        "tombstone": (key.encode(), None, []),
        "tombstone-with-genuine-headers": (key.encode(), None, second[2]),
        "under-another-services-key": of(misplaced), "another-orgs-claim-under-its-key": of(claim)})
    after = publish_service(odl.ctx.uow, ODL, "Ruoka-apu")
    odl.publish()
    for inst in readers:
        inst.consume_until(lambda: (directory_row if inst is social_catalogue else target_row)(inst, after.id))
        row = (directory_row if inst is social_catalogue else target_row)
        assert tuple(row(inst, s.id)) == ("odl", "Velkaneuvonta v2", 2), inst.defn.name
        assert row(inst, own) is None, inst.defn.name
        why = inst.consume_until(lambda: (r := reasons(inst, topic, landed)) and len(r) == 4 and r)
        assert set(why) == {"tombstone", "tombstone-with-genuine-headers", "under-another-services-key",
                            "another-orgs-claim-under-its-key"}, (inst.defn.name, why)
        assert why["tombstone-with-genuine-headers"] == ("EnvelopeError", why["tombstone-with-genuine-headers"][1])
        assert "a tombstone, is never an event" in why["tombstone-with-genuine-headers"][1]
        assert why["under-another-services-key"][0] == "Rejected"
        assert f"is not 'oulu-parish/{own}'" in why["under-another-services-key"][1]
        claim_why = why["another-orgs-claim-under-its-key"]
        assert claim_why[0] == "Rejected" and f"is not 'oulu-parish/{s.id}'" in claim_why[1]
