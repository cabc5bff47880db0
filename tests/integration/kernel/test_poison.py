"""No record stops the bus: every kind of poison is parked on the dead-letter topic and consumption goes on."""
from __future__ import annotations

import hashlib
import uuid

import pytest
from kafka import KafkaConsumer, TopicPartition
from sqlalchemy import func, select

from services import catalogue, reporting
from services.catalogue.tables import directory_service
from services.reporting.tables import event_count
from services.kernel import broker
from services.kernel.auth import Actor, Role
from services.kernel.events import new_event
from services.kernel.tables import inbox, parking_failure
from tests.support import poison
from tests.support.catalogue import catalogue_key, publish_service, published_data
from tests.support.instances import module_prefix

pytestmark = pytest.mark.integration

ODL = Actor("caseworker@odl", "Demo", Role.MANAGER, "odl")


def in_directory(inst, service_id) -> int:
    with inst.ctx.engine.connect() as c:
        return c.execute(select(func.count()).select_from(directory_service)
                         .where(directory_service.c.service_id == service_id)).scalar()


def genuine(org="odl", name="Oikea palvelu"):
    sid = str(uuid.uuid4())
    return new_event(source=f"/orgs/{org}/catalogue", type="fi.yhdistamo.catalogue.service-published.v2",
                     key=catalogue_key(org, sid), data=published_data(sid, org, name), signing_key=poison.demo_key(org),
                     topic=module_prefix(__name__) + "yhd.catalogue")


def send_all(bootstrap, topic, cases: dict) -> tuple[dict, dict]:
    """Produce each case; returns (where each landed, the cases the broker itself refused and why)."""
    landed, refused = {}, {}
    for name, (key, value, headers) in cases.items():
        landed[name], why = poison.send(bootstrap, topic, key=key, value=value, headers=headers)
        if why is not None:  # e.g. a null key on a compacted topic: never on the log, so nothing to park
            refused[name] = why
            del landed[name]
    return landed, refused


def past(inst, landed: dict) -> bool:
    """The instance's stored offsets lie beyond every landed record."""
    stored = inst.runner.stored_offsets()
    return all(stored.get((md.topic, md.partition), 0) > md.offset for md in landed.values())


def parked_by(bootstrap, topic, group) -> dict:
    c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=3000)
    tp = TopicPartition(topic + ".DLT", 0)
    c.assign([tp])
    c.seek_to_beginning(tp)
    recs = list(c)
    c.close()
    out = {}
    for r in recs:
        h = {k: v for k, v in r.headers}
        if h.get("dlt_consumer_group") == group.encode():
            out[(int(h["dlt_partition"]), int(h["dlt_offset"]))] = (r, h)
    return out


def test_every_kind_of_poison_is_parked_and_the_next_event_still_arrives(instance, kafka):
    social, odl = instance(catalogue.DEFINITION, "oulu-social"), instance(catalogue.DEFINITION, "odl")
    topic = social.topic("yhd.catalogue")
    cases = poison.poison_cases(genuine(), "odl", "service.name.fi")
    landed, refused = send_all(kafka.bootstrap, topic, cases)
    assert set(refused) <= {"key-null"}, refused  # only a compacted topic refuses a record, and only a keyless one
    good = publish_service(odl.ctx.uow, ODL, "Oikea palvelu", "individual-guidance")
    odl.publish()
    social.consume_until(lambda: in_directory(social, good.id) and past(social, landed), timeout=90)

    social.publish()  # the dead letters travel through the outbox
    parked = parked_by(kafka.bootstrap, topic, social.ctx.settings.consumer_group)
    for name, md in landed.items():
        assert (md.partition, md.offset) in parked, f"{name} was not parked"
        rec, h = parked[(md.partition, md.offset)]
        assert h["dlt_reason"] and h["dlt_error"] and h["dlt_topic"] == topic.encode(), name
        assert len(rec.key.decode()) <= 200, name
    for name in ("key-300-chars", "key-binary-5k"):
        rec, h = parked[(landed[name].partition, landed[name].offset)]
        original = cases[name][0]
        assert rec.key == b"sha256:" + hashlib.sha256(original).hexdigest().encode()
        assert h["dlt_key"] == original[:8192] and h["dlt_key_length"] == str(len(original)).encode()
    rec, h = parked[(landed["header-nul"].partition, landed["header-nul"].offset)]
    assert h["x-nul"] == b"a\x00b"  # raw bytes kept as they were
    rec, h = parked[(landed["header-binary"].partition, landed["header-binary"].offset)]
    assert h["x-binary"] == b"\xff\xfe\x00\x01\x80"
    rec, h = parked[(landed["header-null"].partition, landed["header-null"].offset)]
    assert h["x-null"] == b"" and h["ce_id"] == b"" and h["dlt_header_null"] in (b"ce_id", b"x-null")
    rec, h = parked[(landed["value-near-limit"].partition, landed["value-near-limit"].offset)]
    original = cases["value-near-limit"][1]
    assert h["dlt_value_cut"] == str(len(original)).encode()
    assert h["dlt_value_sha256"] == hashlib.sha256(original).hexdigest().encode()
    assert original.startswith(rec.value) and 0 < len(rec.value) < len(original)
    rec, h = parked[(landed["value-not-utf8"].partition, landed["value-not-utf8"].offset)]
    assert rec.value == cases["value-not-utf8"][1]
    for name in ("member-id-300-chars", "member-nul-in-data", "nested-json", "value-null", "no-headers"):
        assert parked[(landed[name].partition, landed[name].offset)][1]["dlt_reason"] == b"EnvelopeError", name


def test_a_record_that_cannot_even_be_parked_is_noted_and_passed_over(instance, kafka, monkeypatch):
    social, odl = instance(catalogue.DEFINITION, "oulu-social"), instance(catalogue.DEFINITION, "odl")
    topic = social.topic("yhd.catalogue")
    landed, _ = send_all(kafka.bootstrap, topic, {"not-json": (b"k", b"{oops", genuine().headers())})

    def cannot_park(*a, **kw):
        raise ValueError("the dead-letter copy cannot be built")
    monkeypatch.setattr("services.kernel.consumer.apply.dead_letter", cannot_park)
    good = publish_service(odl.ctx.uow, ODL, "Seuraava palvelu", "individual-guidance")
    odl.publish()
    social.consume_until(lambda: in_directory(social, good.id) and past(social, landed), timeout=90)
    with social.ctx.engine.connect() as c:
        noted = c.execute(select(parking_failure)).all()
    md = landed["not-json"]  # (the topic also holds the poison of the test before: every record is noted)
    mine = [n for n in noted if (n.topic, n.partition, n.offset) == (topic, md.partition, md.offset)]
    assert len(mine) == 1 and mine[0].reason == "EnvelopeError" and "cannot be built" in mine[0].error


def test_another_member_reusing_an_event_id_cannot_make_a_genuine_event_be_skipped(instance, kafka):
    social = instance(catalogue.DEFINITION, "oulu-social")
    first = genuine("oulu-parish", "Seurakunnan palvelu")
    second = poison.resign(genuine("odl", "Oikea palvelu"), "odl", id=first.id)  # the same id, another source
    send_all(kafka.bootstrap, social.topic("yhd.catalogue"), {
        "parish": (first.partitionkey.encode(), first.data_bytes, first.headers()),
        "odl": (second.partitionkey.encode(), second.data_bytes, second.headers()),
        "odl-again": (second.partitionkey.encode(), second.data_bytes, second.headers())})
    social.consume_until(lambda: in_directory(social, first.data["service_id"])
                         and in_directory(social, second.data["service_id"]), timeout=90)
    with social.ctx.engine.connect() as c:
        seen = c.execute(select(inbox.c.source).where(inbox.c.event_id == first.id)).scalars().all()
    assert sorted(seen) == ["/orgs/odl/catalogue", "/orgs/oulu-parish/catalogue"]  # the replay: once


def on_partition(partition: int, partitions: int):
    """A genuine service event of odl whose key the default partitioner puts on `partition`."""
    from kafka.partitioner.default import murmur2
    while True:
        ev = genuine()
        if (murmur2(ev.partitionkey.encode()) & 0x7FFFFFFF) % partitions == partition:
            return ev


def encounter_on(partition: int, partitions: int):
    """A genuine encounter event of odl whose key the default partitioner puts on `partition`."""
    from kafka.partitioner.default import murmur2
    while True:
        eid = str(uuid.uuid4())
        if (murmur2(eid.encode()) & 0x7FFFFFFF) % partitions == partition:
            return new_event(source="/orgs/odl/attendance", type="fi.yhdistamo.attendance.encounter-recorded.v1",
                             key=eid, data={"encounter_id": eid, "organization_id": "odl", "kind": "drop-in",
                                            "anonymous": True, "participants": 2,
                                            "occurred_at": "2026-12-01T10:00:00Z"},
                             signing_key=poison.demo_key("odl"), topic=module_prefix(__name__) + "yhd.attendance")


def test_a_member_behind_what_retention_removed_reads_on_from_the_log_start(instance, kafka, caplog):
    from kafka import KafkaAdminClient
    region = instance(reporting.DEFINITION, "region")
    topic = region.topic("yhd.attendance")  # kept for a window, not compacted: retention deletes from it
    probe = KafkaConsumer(bootstrap_servers=kafka.bootstrap)
    tps = [TopicPartition(topic, p) for p in sorted(probe.partitions_for_topic(topic))]

    def send(events):
        send_all(kafka.bootstrap, topic, {e.id: (e.partitionkey.encode(), e.data_bytes, e.headers()) for e in events})

    def counted() -> int:
        with region.ctx.engine.connect() as c:
            return c.execute(select(func.coalesce(func.sum(event_count.c.count), 0))
                             .where(event_count.c.event_type.like("%encounter-recorded%"))).scalar()
    send([encounter_on(tp.partition, len(tps)) for tp in tps])  # a stored offset on every partition
    region.consume_until(lambda: counted() == len(tps), timeout=90)
    region.runner.close()  # the member is away ...
    region._runner = None
    send([encounter_on(tp.partition, len(tps)) for tp in tps])
    admin = KafkaAdminClient(bootstrap_servers=kafka.bootstrap)
    admin.delete_records(probe.end_offsets(tps))  # ... while retention removes what it never read
    admin.close()
    probe.close()
    send([encounter_on(tp.partition, len(tps)) for tp in tps])
    region.consume_until(lambda: counted() == 2 * len(tps), timeout=90)  # the removed ones never
    assert "removed by retention before they were read" in caplog.text


def test_a_record_the_client_cannot_decode_is_noted_and_passed_over(instance, kafka, monkeypatch):
    """E.g. a header name that is not UTF-8 (kafka-python decodes names strictly and fails the whole fetch;
    its producer cannot send one, so the client's parser is made to fail on a marked record instead)."""
    from kafka.record import default_records
    read = default_records.DefaultRecordBatch._read_msg

    def strict(self, *a, **kw):
        msg = read(self, *a, **kw)
        if msg.value == b"undecodable":
            raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")
        return msg
    monkeypatch.setattr(default_records.DefaultRecordBatch, "_read_msg", strict)
    social = instance(catalogue.DEFINITION, "oulu-social")
    topic = social.topic("yhd.catalogue")
    before, after = on_partition(0, 3), on_partition(0, 3)
    send_all(kafka.bootstrap, topic, {"before": (before.partitionkey.encode(), before.data_bytes, before.headers())})
    landed, _ = send_all(kafka.bootstrap, topic, {"bad": (before.partitionkey.encode(), b"undecodable", [])})
    send_all(kafka.bootstrap, topic, {"after": (after.partitionkey.encode(), after.data_bytes, after.headers())})
    social.consume_until(lambda: in_directory(social, after.data["service_id"]), timeout=90)
    assert in_directory(social, before.data["service_id"])
    with social.ctx.engine.connect() as c:
        noted = c.execute(select(parking_failure).where(parking_failure.c.topic == topic)).all()
    bad = landed["bad"]
    assert [(n.partition, n.offset, n.reason) for n in noted if n.offset == bad.offset
            and n.partition == bad.partition] == [(0, bad.offset, "Undecodable")]


def test_batches_compressed_with_every_kafka_codec_are_read(instance, kafka):
    social = instance(catalogue.DEFINITION, "oulu-social")
    topic = social.topic("yhd.catalogue")
    events = {}
    for codec in ("gzip", "snappy", "lz4", "zstd"):
        p = broker.producer(kafka.bootstrap, compression_type=codec)
        ev = genuine()
        p.send(topic, key=ev.partitionkey.encode(), value=ev.data_bytes, headers=ev.headers()).get(timeout=30)
        p.close()
        events[codec] = ev
    social.consume_until(lambda: all(in_directory(social, e.data["service_id"]) for e in events.values()),
                         timeout=90)
