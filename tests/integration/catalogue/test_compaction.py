"""A member that joins after the catalogue topic has been compacted still learns the whole directory, and a
member's claim on another organisation's service id makes it disputed there, whichever record it reads first.

The plan compacts `yhd.catalogue` by `<organization id>/<service id>` (deploy/topics.yaml): only the latest
description or withdrawal of each organisation's service stays, so a claim never compacts the genuine record away. This module's catalogue topic has one partition and is compacted as
soon as the broker's cleaner looks (every 15 s by default), instead of after a day.
"""
from __future__ import annotations

import time
import uuid

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
from marshmallow import EXCLUDE
from sqlalchemy import func, select

from services import catalogue, referrals
from services.catalogue.app import create_app
from services.catalogue.publishing import service as catalogue_service
from services.catalogue.tables import directory_service
from services.kernel import broker
from services.kernel.auth import Actor, Role
from services.kernel.config import Settings
from services.kernel.errors import Conflict
from services.kernel.events import new_event
from services.kernel.tables import outbox
from services.referrals import service as referrals_service
from services.referrals.schemas import ConsentIn
from services.referrals.tables import referral as referral_table, service_target
from tests.support import poison
from tests.support.catalogue import catalogue_key, publish_service, published_data, service_doc
from tests.support.instances import module_prefix
from tests.support.people import consent_to, synthetic_client

pytestmark = pytest.mark.integration
ODL = Actor("editor@odl", "Demo", Role.MANAGER, "odl")
SOCIAL = Actor("editor@oulu-social", "Demo", Role.MANAGER, "oulu-social")
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

    others = {catalogue_key("odl", s.id) for s in (*live.values(), *gone.values())}

    def compacted():
        records = [r for r in raw_records(kafka.bootstrap, topic) if r[0] in others]
        return records if len(records) == len(others) else None
    records = until(compacted, meanwhile=roll)
    assert len(records) < produced  # the earlier versions are gone from the log
    assert {key for key, ce_type in records if ce_type.endswith("service-withdrawn.v1")} == \
        {catalogue_key("odl", s.id) for s in gone.values()}  # a withdrawal stays as a record, not a tombstone

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


# -- a member's claim on another organisation's service id ------------------------------------------------------
def claim_on(topic: str, service_id, version: int = 9):
    """The parish, a member, announces the city's service id as its own: correctly signed and, under the parish's
    own key, a valid record, which compaction keeps beside the city's."""
    return new_event(source="/orgs/oulu-parish/catalogue", type="fi.yhdistamo.catalogue.service-published.v2",
                     key=catalogue_key("oulu-parish", service_id),
                     data=published_data(str(service_id), "oulu-parish", "Kaapattu", version=version),
                     signing_key=poison.demo_key("oulu-parish"), topic=topic)


def produce(bootstrap: str, ev) -> None:
    p = broker.producer(bootstrap)
    try:
        p.send(ev.topic, key=ev.partitionkey.encode(), value=ev.data_bytes, headers=ev.headers()).get(timeout=30)
    finally:
        p.close()


def count(inst, stmt) -> int:
    with inst.ctx.engine.connect() as c:
        return c.execute(stmt).scalar_one()


def refused_referral(inst, org: str, service_id) -> Conflict:
    """What sending a referral to the service answers, for a client who consented to the claimant even."""
    actor = Actor(f"caseworker@{org}", "Demo", Role.CASEWORKER, org)
    client = referrals_service.register_client(inst.ctx.uow, actor, synthetic_client())
    referrals_service.record_consent(inst.ctx.uow, actor, client.id,
                                     ConsentIn(unknown=EXCLUDE).load(consent_to("oulu-parish")))
    with pytest.raises(Conflict) as refused:
        referrals_service.send_referral(inst.ctx.uow, actor, client.id, service_id, None, "Toivoo työtoimintaa")
    assert count(inst, select(func.count()).select_from(referral_table)) == 0
    assert count(inst, select(func.count()).select_from(outbox)
                 .where(outbox.c.event_type == "fi.yhdistamo.referral.requested.v2")) == 0  # nothing sealed, sent
    return refused.value


def hsds_and_page(inst, *paths) -> list:
    """The public catalogue's answers to GET `paths` (HSDS API, public page) at the instance."""
    app = create_app(inst.ctx.settings)
    try:
        client = app.test_client()
        return [client.get(path) for path in paths]
    finally:
        app.extensions["yhd"].dispose()


@pytest.mark.parametrize("claim_first, late", [(True, "nuorten-polku"), (False, "odl")],
                         ids=["claim-read-first", "genuine-read-first"])
def test_a_member_joining_later_never_refers_to_the_claimant_and_shows_no_disputed_service(instance, kafka, caplog,
                                                                                         claim_first, late):
    city = instance(catalogue.DEFINITION, "oulu-social")
    topic = city.topic("yhd.catalogue")
    s = catalogue_service.create_service(city.ctx.uow, SOCIAL, service_doc("Kuntouttava työtoiminta"), status="draft")
    if not claim_first:
        catalogue_service.change_status(city.ctx.uow, SOCIAL, s.id, "publish")
        city.publish()
    produce(kafka.bootstrap, claim_on(topic, s.id))
    if claim_first:
        catalogue_service.change_status(city.ctx.uow, SOCIAL, s.id, "publish")
        city.publish()
    marker = publish_service(city.ctx.uow, SOCIAL, f"Merkki {late}")
    city.publish()
    keys = [key for key, _ in raw_records(kafka.bootstrap, topic)]  # one partition: the order every reader sees
    genuine, claim = keys.index(catalogue_key("oulu-social", s.id)), keys.index(catalogue_key("oulu-parish", s.id))
    assert (claim < genuine) == claim_first and max(genuine, claim) < keys.index(catalogue_key("oulu-social",
                                                                                               marker.id))

    late_catalogue, late_referrals = instance(catalogue.DEFINITION, late), instance(referrals.DEFINITION, late)
    with caplog.at_level("ERROR", logger="services.kernel.db"):
        late_referrals.consume_until(lambda: str(marker.id) in targets_of(late_referrals))
        late_catalogue.consume_until(lambda: str(marker.id) in directory(late_catalogue))

    assert targets_of(late_referrals)[str(s.id)][1] == "disputed"
    listed = {t["service_id"] for t in referrals_service.list_targets(late_referrals.ctx.uow)}
    assert marker.id in listed and s.id not in listed
    assert refused_referral(late_referrals, late, s.id).code == "disputed-service"

    assert directory(late_catalogue)[str(s.id)][1] == "disputed"
    one, page, listing = hsds_and_page(late_catalogue, f"/hsds/services/{s.id}", f"/palvelut/{s.id}",
                                       "/hsds/services?per_page=100")
    assert (one.status_code, page.status_code, listing.status_code) == (404, 404, 200)
    shown = {x["id"] for x in listing.get_json()["contents"]}
    assert str(marker.id) in shown and str(s.id) not in shown

    first, second = ("oulu-parish", "oulu-social") if claim_first else ("oulu-social", "oulu-parish")
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert {m.split()[0] for m in errors if f"{s.id} is claimed by both {first} and {second}" in m} == \
        {"directory_service", "service_target"}


def test_compaction_keeps_the_genuine_record_and_the_claim_each_under_its_own_key(instance, kafka):
    city = instance(catalogue.DEFINITION, "oulu-social")
    topic = city.topic("yhd.catalogue")
    s = publish_service(city.ctx.uow, SOCIAL, "Työpaja")
    for version in (2, 3):
        catalogue_service.update_service(city.ctx.uow, SOCIAL, s.id, service_doc(f"Työpaja v{version}"))
    city.publish()
    for version in (9, 10, 11):  # the claimant announces "its" service again and again
        produce(kafka.bootstrap, claim_on(topic, s.id, version))
    filler = publish_service(city.ctx.uow, SOCIAL, "Täyte")
    versions = iter(range(2, 10_000))

    def roll():
        catalogue_service.update_service(city.ctx.uow, SOCIAL, filler.id, service_doc(f"Täyte v{next(versions)}"))
        city.publish()

    keys = {catalogue_key("oulu-social", s.id), catalogue_key("oulu-parish", s.id)}

    def compacted():
        records = [key for key, _ in raw_records(kafka.bootstrap, topic) if key in keys]
        return records if len(records) == len(keys) else None
    assert set(until(compacted, meanwhile=roll)) == keys  # each key's earlier versions gone, neither key gone

    late_catalogue, late_referrals = instance(catalogue.DEFINITION, "nuorten-polku"), \
        instance(referrals.DEFINITION, "nuorten-polku")
    last = (catalogue_service.get_service(city.ctx.uow, filler.id).document["name"]["fi"], "active")
    late_referrals.consume_until(lambda: _once(targets_of(late_referrals), str(filler.id), last))
    late_catalogue.consume_until(lambda: _once(directory(late_catalogue), str(filler.id), last))
    assert targets_of(late_referrals)[str(s.id)][1] == directory(late_catalogue)[str(s.id)][1] == "disputed"
    assert s.id not in {t["service_id"] for t in referrals_service.list_targets(late_referrals.ctx.uow)}
    with late_catalogue.ctx.uow() as uow:
        assert uow.directory.public_service(s.id) is None
