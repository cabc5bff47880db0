"""No record stops the bus: every kind of poison on every shared topic, then valid events that must arrive.

Real processes (the fault harness): each consumer group that reads a topic
parks each poison record on `<topic>.DLT` and goes on; the referrals sent
afterwards are applied exactly once at every receiving database, a service
published afterwards reaches the sender's targets, an encounter recorded
afterwards is counted by reporting; nothing is left in `parking_failure`.
"""
from __future__ import annotations

import uuid

import pytest
from kafka import KafkaConsumer, TopicPartition

from devstack.client import eventually
from services.kernel.events import new_event
from tests.faults.harness import RECEIVER, SENDER
from tests.support import poison
from tests.support.catalogue import catalogue_key, published_data

pytestmark = pytest.mark.faults
DRAIN = 90.0


def genuine_events(service_id: str) -> dict:
    """A genuine event of a member on each shared topic, and a string field of its data."""
    rid, sid, eid = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    return {
        "yhd.catalogue": (new_event(source=f"/orgs/{SENDER}/catalogue",
                                    type="fi.yhdistamo.catalogue.service-published.v2",
                                    key=catalogue_key(SENDER, sid),
                                    data=published_data(sid, SENDER, "Myrkkypalvelu"),
                                    signing_key=poison.demo_key(SENDER), topic="yhd.catalogue"),
                          SENDER, "service.name.fi"),
        "yhd.referrals": (new_event(source=f"/orgs/{SENDER}/referrals", type="fi.yhdistamo.referral.requested.v2",
                                    key=rid, data={"referral_id": rid, "from_org": SENDER, "to_org": RECEIVER,
                                                   "service_id": service_id, "age_band": "18-24",
                                                   "gender": "unknown", "requested_at": "2026-12-01T10:00:00Z",
                                                   "consent_id": str(uuid.uuid4()), "categories": ["identity"],
                                                   "person": "c2VhbGVkIGZvciByZXBvcnRpbmc="},
                                    signing_key=poison.demo_key(SENDER), topic="yhd.referrals"), SENDER, "age_band"),
        "yhd.attendance": (encounter(eid), RECEIVER, "kind"),
    }


def encounter(eid: str):
    return new_event(source=f"/orgs/{RECEIVER}/attendance", type="fi.yhdistamo.attendance.encounter-recorded.v1",
                     key=eid, data={"encounter_id": eid, "organization_id": RECEIVER, "kind": "drop-in",
                                    "anonymous": True, "participants": 3, "occurred_at": "2026-12-01T10:00:00Z"},
                     signing_key=poison.demo_key(RECEIVER), topic="yhd.attendance")


READERS = {  # the consumer groups of the harness that read each topic
    "yhd.catalogue": (f"{SENDER}.referrals", f"{RECEIVER}.referrals", f"{RECEIVER}.catalogue", "region.reporting"),
    "yhd.referrals": (f"{SENDER}.referrals", f"{RECEIVER}.referrals", "region.reporting"),
    "yhd.attendance": (f"{SENDER}.referrals", f"{RECEIVER}.referrals", "region.reporting"),
}


def parked(bootstrap, topic) -> set[tuple[str, int, int]]:
    """(consumer group, partition, offset) of every record parked from `topic`."""
    c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=3000)
    tp = TopicPartition(topic + ".DLT", 0)
    c.assign([tp])
    c.seek_to_beginning(tp)
    out = set()
    for r in c:
        h = dict(r.headers)
        out.add((h["dlt_consumer_group"].decode(), int(h["dlt_partition"]), int(h["dlt_offset"])))
    c.close()
    return out


def test_every_kind_of_poison_on_every_shared_topic_is_parked_and_valid_events_still_arrive(federation):
    fed = federation()
    fed.publish_target()
    bootstrap = fed.stack.kafka.bootstrap
    landed: dict[str, dict] = {}
    for topic, (ev, org, text_field) in genuine_events(fed.service_id).items():
        landed[topic] = {}
        for name, (key, value, headers) in poison.poison_cases(ev, org, text_field).items():
            md, refused = poison.send(bootstrap, topic, key=key, value=value, headers=headers)
            if refused:  # the compacted catalogue topic refuses a keyless record: it never reaches the log
                assert name == "key-null" and topic == "yhd.catalogue", (topic, name, refused)
            else:
                landed[topic][name] = md
    # valid events after the poison, on every topic
    fed.send(10)
    later = fed.publish_service(RECEIVER, {"name": {"fi": "Myöhemmin julkaistu"},
                                           "categories": ["individual-guidance"], "areas": ["oulu"]})["id"]
    visit = encounter(str(uuid.uuid4()))
    poison.send(bootstrap, "yhd.attendance", key=visit.partitionkey.encode(), value=visit.data_bytes,
                headers=visit.headers())

    drain = fed.wait_exactly_once(DRAIN)
    fed.target(SENDER, RECEIVER, service_id=later, timeout=DRAIN)
    region = fed.stack.federation.reporting_org
    eventually(lambda: fed.q(region, "reporting", "SELECT coalesce(sum(count), 0) FROM event_count WHERE "
                             "org_id = :o AND event_type LIKE '%encounter-recorded%'", o=RECEIVER) == 1, DRAIN,
               what="the encounter recorded after the poison, counted by reporting")
    for topic, cases in landed.items():
        want = {(group, md.partition, md.offset) for group in READERS[topic] for md in cases.values()}
        eventually(lambda: not want - parked(bootstrap, topic), DRAIN,
                   what=f"every poison record of {topic} parked by each of its readers")
    for org, svc in ((SENDER, "referrals"), (RECEIVER, "referrals"), (RECEIVER, "catalogue"),
                     (region, "reporting")):
        assert fed.q(org, svc, "SELECT count(*) FROM parking_failure") == 0, (org, svc)
    n = sum(len(c) for c in landed.values())
    print(f"\n[fault] {n} poison records on {len(landed)} topics parked by every reader; "
          f"referrals drained {drain:.1f}s after")
