"""A member that joins after the catalogue topic has been compacted still learns the whole directory.

The plan compacts `yhd.catalogue` by service id (deploy/topics.yaml): only the latest description or
withdrawal of each service stays. This module's catalogue topic has one partition and is compacted as
soon as the broker's cleaner looks (every 15 s by default), instead of after a day.
"""
from __future__ import annotations

import time
import uuid

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
from sqlalchemy import select

from services import catalogue, referrals
from services.catalogue.publishing import service as catalogue_service
from services.catalogue.tables import directory_service
from services.kernel import broker
from services.kernel.auth import Actor, Role
from services.kernel.config import Settings
from services.referrals import service as referrals_service
from services.referrals.tables import service_target
from tests.support.catalogue import publish_service, service_doc
from tests.support.instances import module_prefix

pytestmark = pytest.mark.integration
ODL = Actor("editor@odl", "Demo", Role.MANAGER, "odl")
SOON = {"min.compaction.lag.ms": "0", "min.cleanable.dirty.ratio": "0.01", "segment.ms": "200"}


def until(predicate, timeout: float = 180.0, every: float = 0.5, meanwhile=lambda: None):
    """`predicate()` once true, polled with a generous bound; `meanwhile()` between two polls."""
    deadline = time.monotonic() + timeout
    while not (result := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        meanwhile()
        time.sleep(every)
    return result


@pytest.fixture(scope="module")
def topic_prefix(request, kafka) -> str:
    """This module's topics: the plan's, but a catalogue topic of one partition that is compacted soon."""
    prefix = module_prefix(request.module.__name__)
    name = prefix + "yhd.catalogue"
    admin = KafkaAdminClient(bootstrap_servers=kafka.bootstrap)
    try:
        admin.create_topics([NewTopic(name, 1, 1)], wait_for_metadata=True)
        broker.ensure_topics(kafka.bootstrap, Settings.topics_file, prefix=prefix)  # sets the plan: compact
        until(lambda: configs(admin, name, ["cleanup.policy"]) == {"cleanup.policy": "compact"}, timeout=30)
        admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, name, dict(SOON))])
        until(lambda: configs(admin, name, list(SOON)) == SOON, timeout=30)
    finally:
        admin.close()
    return prefix


def configs(admin, name: str, keys: list[str]) -> dict:
    described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name, keys)], config_filter="all")
    return {k: c["value"] for k, c in described["topic"][name].items()}


def raw_records(bootstrap: str, topic: str) -> list[tuple[str, str]]:
    """(key, ce_type) of every record now in the topic's one partition, read from the log start."""
    tp = TopicPartition(topic, 0)
    c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        c.assign([tp])
        c.seek_to_beginning(tp)
        end = c.end_offsets([tp])[tp]
        out = []
        deadline = time.monotonic() + 30
        while c.position(tp) < end and time.monotonic() < deadline:
            for batch in c.poll(timeout_ms=500).values():
                out += [(r.key.decode(), dict(r.headers)["ce_type"].decode()) for r in batch]
        return out
    finally:
        c.close()


def test_a_new_organisation_after_compaction_sees_every_live_service_and_none_of_the_withdrawn(instance, kafka):
    odl = instance(catalogue.DEFINITION, "odl")
    topic = odl.topic("yhd.catalogue")
    live = {name: publish_service(odl.ctx.uow, ODL, name) for name in ("Kohtaamispaikka", "Velkaneuvonta",
                                                                       "Ruoka-apu")}
    gone = {name: publish_service(odl.ctx.uow, ODL, name) for name in ("Kesäleiri", "Vertaisryhmä")}
    for round_ in (2, 3, 4):  # some updated several times: only the last description stays
        for name in ("Kohtaamispaikka", "Velkaneuvonta"):
            catalogue_service.update_service(odl.ctx.uow, ODL, live[name].id, service_doc(f"{name} v{round_}"))
    catalogue_service.update_service(odl.ctx.uow, ODL, gone["Vertaisryhmä"].id, service_doc("Vertaisryhmä v2"))
    for s in gone.values():
        catalogue_service.change_status(odl.ctx.uow, ODL, s.id, "withdraw")
    catalogue_service.change_status(odl.ctx.uow, ODL, live["Ruoka-apu"].id, "close",
                                    {"fi": "Tauolla joulun yli"})
    produced = odl.publish()
    assert produced == 5 + 2 * 3 + 1 + 2 + 1

    # The active segment is never compacted: a newer version of one more service rolls it, until the cleaner
    # has left one record of every other service.
    filler = publish_service(odl.ctx.uow, ODL, "Täyte")
    versions = iter(range(2, 10_000))

    def roll():
        catalogue_service.update_service(odl.ctx.uow, ODL, filler.id, service_doc(f"Täyte v{next(versions)}"))
        odl.publish()

    others = {str(s.id) for s in (*live.values(), *gone.values())}

    def compacted():
        records = [r for r in raw_records(kafka.bootstrap, topic) if r[0] in others]
        return records if len(records) == len(others) else None
    records = until(compacted, meanwhile=roll)
    assert len(records) < produced  # the earlier versions are gone from the log
    assert {key for key, ce_type in records if ce_type.endswith("service-withdrawn.v1")} == \
        {str(s.id) for s in gone.values()}  # a withdrawal stays as a record, not a tombstone

    # A new organisation, later: fresh databases, new consumer groups, the log from its start. The filler's
    # last version is the log's last record: once it is applied, so is everything before it.
    late_catalogue = instance(catalogue.DEFINITION, "oulu-parish")
    late_referrals = instance(referrals.DEFINITION, "oulu-parish")
    last = (catalogue_service.get_service(odl.ctx.uow, filler.id).document["name"]["fi"], "active")
    expected = {str(live["Kohtaamispaikka"].id): ("Kohtaamispaikka v4", "active"),
                str(live["Velkaneuvonta"].id): ("Velkaneuvonta v4", "active"),
                str(live["Ruoka-apu"].id): ("Ruoka-apu", "temporarily-closed"), str(filler.id): last}
    rows = late_catalogue.consume_until(lambda: _once(directory(late_catalogue), str(filler.id), last))
    assert rows == {**expected, **{str(s.id): (None, "withdrawn") for s in gone.values()}}  # kept as withdrawn
    assert {str(r["service_id"]) for r in public_services(late_catalogue)} == set(expected)
    targets = late_referrals.consume_until(lambda: _once(targets_of(late_referrals), str(filler.id), last))
    assert {k: v for k, v in targets.items() if v[1] != "withdrawn"} == expected
    assert {k for k, v in targets.items() if v[1] == "withdrawn"} == {str(s.id) for s in gone.values()}
    assert {str(t["service_id"]) for t in referrals_service.list_targets(late_referrals.ctx.uow)} == set(expected)


def _once(rows: dict, key: str, value) -> dict | None:
    return rows if rows.get(key) == value else None


def directory(inst) -> dict:
    """service id -> (Finnish name, status) of every row of the instance's directory."""
    with inst.ctx.engine.connect() as c:
        return {str(r.service_id): (r.name_fi, r.status) for r in c.execute(
            select(directory_service.c.service_id, directory_service.c.name_fi, directory_service.c.status))}


def targets_of(inst) -> dict:
    """service id -> (Finnish name, status) of every service the referrals instance knows."""
    with inst.ctx.engine.connect() as c:
        return {str(r.service_id): (r.name_fi, r.status) for r in c.execute(
            select(service_target.c.service_id, service_target.c.name_fi, service_target.c.status))}


def public_services(inst) -> list[dict]:
    with inst.ctx.uow() as uow:
        return uow.directory.public_of(["odl"])
