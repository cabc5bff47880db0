"""The event backbone on a real Kafka broker and real PostgreSQL."""
from __future__ import annotations

import time
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from kafka import KafkaConsumer, TopicPartition
from sqlalchemy import func, select, text

from services import catalogue, referrals
from services.catalogue.publishing import service as catalogue_service
from services.catalogue.tables import directory_service
from tests.support.catalogue import catalogue_key, publish_service, published_data, service_doc
from services.kernel import broker
from services.kernel.auth import Actor, Role
from services.kernel.contracts import ContractError
from services.kernel.errors import Conflict
from services.kernel.events import KID, canonical_json, new_event, sign
from services.kernel.keys import load_private_key, signing_kid
from services.kernel.outbox import requeue_retained
from services.kernel.tables import consumer_offset, inbox, outbox
from services.referrals import service as referrals_service
from services.referrals.tables import referral as referral_table
from tests.support.people import consent_to, synthetic_client

pytestmark = pytest.mark.integration

ODL = Actor("caseworker@odl", "Demo", Role.MANAGER, "odl")
SOCIAL = Actor("caseworker@oulu-social", "Demo", Role.CASEWORKER, "oulu-social")


def scalar(inst, stmt):
    with inst.ctx.engine.connect() as c:
        return c.execute(stmt).scalar()


def in_directory(inst, service_id):
    return scalar(inst, select(func.count()).select_from(directory_service)
                  .where(directory_service.c.service_id == service_id,
                         directory_service.c.status != "withdrawn"))


def client_with_consent(inst, to_org):
    from marshmallow import EXCLUDE
    from services.referrals.schemas import ConsentIn
    client = referrals_service.register_client(inst.ctx.uow, ODL, synthetic_client())
    referrals_service.record_consent(inst.ctx.uow, ODL, client.id,
                                     ConsentIn(unknown=EXCLUDE).load(consent_to(to_org)))
    inst.publish()
    return client.id


def publish(inst, actor, name="Sovittava ohjaus", category="individual-guidance"):
    s = publish_service(inst.ctx.uow, actor, name, category)
    inst.publish()
    return s


def produce_raw(bootstrap, topic, key: bytes | None, value: bytes | None, headers):
    p = broker.producer(bootstrap)
    md = p.send(topic, key=key, value=value, headers=headers).get(timeout=10)
    p.close()
    return md


def dlt_records(bootstrap, topic, min_offset=0):
    c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=3000)
    tp = TopicPartition(topic + ".DLT", 0)
    c.assign([tp])
    c.seek_to_beginning(tp)
    out = [r for r in c if True]
    c.close()
    return [{**{k: v.decode(errors="replace") for k, v in r.headers}, "_value": r.value, "_key": r.key}
            for r in out]


def test_service_published_at_one_org_appears_in_another_orgs_directory(instance):
    odl = instance(catalogue.DEFINITION, "odl")
    social = instance(catalogue.DEFINITION, "oulu-social")
    s = publish(odl, ODL, "Yhdistämön kohtaamispaikka")
    social.consume_until(lambda: in_directory(social, s.id))
    with social.ctx.engine.connect() as c:
        row = c.execute(select(directory_service).where(directory_service.c.service_id == s.id)).one()
    assert row.organization_id == "odl"  # provenance comes from the signed source
    assert row.name_fi == "Yhdistämön kohtaamispaikka" and row.document["name"] == {"fi": "Yhdistämön kohtaamispaikka"}

    catalogue_service.change_status(odl.ctx.uow, ODL, s.id, "withdraw")
    odl.publish()
    social.consume_until(lambda: not in_directory(social, s.id))


def test_state_change_and_event_commit_together_or_not_at_all(instance):
    odl = instance(catalogue.DEFINITION, "odl")
    before = scalar(odl, select(func.count()).select_from(outbox))
    with pytest.raises(ContractError):
        # a name longer than the contract allows: the event is refused, so the service is not saved either
        catalogue_service.create_service(odl.ctx.uow, ODL, {**service_doc(), "name": {"fi": "x" * 501}})
    assert scalar(odl, select(func.count()).select_from(outbox)) == before
    assert catalogue_service.own_services(odl.ctx.uow) == []


def referral_sent(instance, *, published: bool = True):
    """ODL's referral to the city's published service, sent and (unless `published` is false) on the bus:
    (odl, city, target, referral)."""
    social_cat = instance(catalogue.DEFINITION, "oulu-social")
    odl_ref = instance(referrals.DEFINITION, "odl")
    social_ref = instance(referrals.DEFINITION, "oulu-social")
    target = publish(social_cat, SOCIAL, "Kuntouttava työtoiminta", "rehabilitative-work-activity")
    odl_ref.consume_until(lambda: any(t["service_id"] == target.id
                                      for t in referrals_service.list_targets(odl_ref.ctx.uow)))
    client_id = client_with_consent(odl_ref, "oulu-social")
    sent = referrals_service.send_referral(odl_ref.ctx.uow, ODL, client_id, target.id, None, "Toivoo työtoimintaa")
    if published:
        odl_ref.publish()
    return odl_ref, social_ref, target, sent


def test_referral_reaches_receiver_and_receipt_flows_back(instance):
    odl_ref, social_ref, target, sent = referral_sent(instance)
    got = social_ref.consume_until(lambda: [r for r in referrals_service.list_referrals(
        social_ref.ctx.uow, SOCIAL, box="incoming")[0] if r.id == sent.id])
    assert got[0].from_org == "odl" and got[0].status.value == "requested" and got[0].received_at
    # the receiver could open the sealed part: it holds exactly the consented data
    view = referrals_service.get_referral(social_ref.ctx.uow, SOCIAL, sent.id)
    assert view["referral"].personal["note"] == "Toivoo työtoimintaa"
    assert view["referral"].personal["identity_code"].endswith(tuple("0123456789ABCDEFHJKLMNPRSTUVWXY"))

    social_ref.publish()  # the receipt
    odl_ref.consume_until(lambda: referrals_service.get_referral(odl_ref.ctx.uow, ODL, sent.id)["referral"].received_at)


def test_redelivered_and_republished_events_are_applied_once(instance):
    social_cat = instance(catalogue.DEFINITION, "oulu-social")
    odl_ref = instance(referrals.DEFINITION, "odl")
    social_ref = instance(referrals.DEFINITION, "oulu-social")
    target = publish(social_cat, SOCIAL, "Palveluohjaus")
    odl_ref.consume_until(lambda: any(t["service_id"] == target.id
                                      for t in referrals_service.list_targets(odl_ref.ctx.uow)))
    sent = referrals_service.send_referral(odl_ref.ctx.uow, ODL, client_with_consent(odl_ref, "oulu-social"),
                                           target.id, None, None)
    odl_ref.publish()

    def incoming_count():
        return scalar(social_ref, select(func.count()).select_from(referral_table)
                      .where(referral_table.c.id == sent.id))
    social_ref.consume_until(incoming_count)

    # the broker lost nothing, but the sender re-publishes its whole retained outbox
    assert requeue_retained(odl_ref.ctx.engine) >= 1
    odl_ref.publish()
    event_ids = scalar(social_ref, select(func.count()).select_from(inbox))
    social_ref.consume_until(lambda: scalar(social_ref, select(func.count()).select_from(consumer_offset).where(
        consumer_offset.c.topic == social_ref.topic("yhd.referrals"))) and _caught_up(social_ref))
    assert incoming_count() == 1
    assert scalar(social_ref, select(func.count()).select_from(inbox)) == event_ids
    # only one receipt was produced for the one referral
    assert scalar(social_ref, select(func.count()).select_from(outbox)
                  .where(outbox.c.event_type == "fi.yhdistamo.referral.received.v1")
                  .where(outbox.c.key == str(sent.id))) == 1


def _caught_up(inst) -> bool:
    r = inst.runner
    consumer = r.consumer
    parts = consumer.assignment()
    if not parts:
        return False
    ends = consumer.end_offsets(list(parts))
    stored = r.stored_offsets()
    return all(stored.get((tp.topic, tp.partition), 0) >= end for tp, end in ends.items())


def test_stored_offsets_decide_where_a_new_consumer_starts(instance):
    odl = instance(catalogue.DEFINITION, "odl")
    social = instance(catalogue.DEFINITION, "oulu-social")
    s = publish(odl, ODL, "Ryhmätoiminta")
    social.consume_until(lambda: in_directory(social, s.id) and _caught_up(social))
    applied = scalar(social, select(func.count()).select_from(inbox))
    social.runner.close()
    social._runner = None
    # a new consumer process of the same instance resumes at the stored offsets: nothing is re-applied
    social.consume_until(lambda: _caught_up(social))
    assert scalar(social, select(func.count()).select_from(inbox)) == applied
    with social.ctx.engine.connect() as c:
        assert c.execute(select(func.count()).select_from(consumer_offset)).scalar() >= 1


def _headers(event, **override):
    h = dict((k, v.decode()) for k, v in event.headers())
    h.update(override)
    return [(k, v.encode()) for k, v in h.items() if v is not None]


BAD_CASES = {
    "not-json": lambda ev, key: (key, b"{not json", _headers(ev)),
    "unsigned": lambda ev, key: (key, ev.data_bytes, _headers(ev, ce_signature=None)),
    "tampered": lambda ev, key: (key, canonical_json({**ev.data, "version": 99}), _headers(ev)),
    "non-member": lambda ev, key: (key, ev.data_bytes, _headers(_resign(ev, Ed25519PrivateKey.generate()))),
    "unknown-version": lambda ev, key: (key, ev.data_bytes, _headers(
        _resign(ev, load_private_key(_demo_key("odl")), type="fi.yhdistamo.catalogue.service-published.v9"))),
    "wrong-key": lambda ev, key: (key, ev.data_bytes, _headers(_resign(ev, load_private_key(_demo_key("oulu-parish"))))),
    "claims-other-org": lambda ev, key: (key, ev.data_bytes, _headers(_resign(
        ev, load_private_key(_demo_key("oulu-parish")), source="/orgs/oulu-parish/catalogue"))),
    "key-mismatch": lambda ev, key: (b"other-key", ev.data_bytes, _headers(ev)),
    # a genuine event, re-published with a part of its envelope changed: the signature covers it all
    "re-keyed": lambda ev, key: (b"other-key", ev.data_bytes, _headers(ev, ce_partitionkey="other-key")),
    "from-another-topic": lambda ev, key: (key, ev.data_bytes, _headers(_resign(
        ev, load_private_key(_demo_key("odl")), topic=ev.topic.replace("yhd.catalogue", "yhd.attendance")))),
    "extension-added": lambda ev, key: (key, ev.data_bytes, _headers(ev, ce_recipient="oulu-social")),
    "subject-changed": lambda ev, key: (key, ev.data_bytes, _headers(ev, ce_subject="service/other")),
    "dataschema-removed": lambda ev, key: (key, ev.data_bytes, _headers(ev, ce_dataschema=None)),
    "unknown-kid": lambda ev, key: (key, ev.data_bytes, _headers(ev, ce_signaturekid="ed25519-0123456789abcdef")),
}


def _demo_key(org):
    from services.kernel.config import PROJECT_ROOT
    return PROJECT_ROOT / "deploy" / "demo-keys" / f"{org}.ed25519.pem"


def _resign(ev, key, **attrs):
    """`ev` with `attrs` changed, signed by `key` and naming it (`signaturekid`)."""
    base = {**ev.__dict__, **attrs}
    base["extensions"] = {**base["extensions"], KID: signing_kid(key)}
    return sign(type(ev)(**{**base, "signature": None}), key)


def test_malformed_forged_and_unknown_events_are_dead_lettered_and_consumption_goes_on(instance, kafka):
    social = instance(catalogue.DEFINITION, "oulu-social")
    sid = str(uuid.uuid4())
    data = published_data(sid, "odl", "Väärennetty")
    genuine = new_event(source="/orgs/odl/catalogue", type="fi.yhdistamo.catalogue.service-published.v2",
                        key=catalogue_key("odl", sid), data=data, signing_key=load_private_key(_demo_key("odl")),
                        topic=social.topic("yhd.catalogue"), subject=f"service/{sid}",
                        dataschema="https://yhdistamo.fi/contracts/events/catalogue.service-published/v2.json")
    offsets = {}
    for name, make in BAD_CASES.items():
        key, value, headers = make(genuine, genuine.partitionkey.encode())
        offsets[name] = produce_raw(kafka.bootstrap, social.topic("yhd.catalogue"), key, value, headers)
    # a valid event after all the bad ones is still applied
    good = publish(instance(catalogue.DEFINITION, "odl"), ODL, "Oikea palvelu")
    social.consume_until(lambda: in_directory(social, good.id))
    assert not in_directory(social, uuid.UUID(sid))
    # a member, correctly signed, claiming another organisation's service id under that organisation's key
    # (where compaction would keep it instead of the genuine record): rejected, not a takeover
    owners_key = catalogue_key("odl", good.id)
    takeover = new_event(source="/orgs/oulu-parish/catalogue", type="fi.yhdistamo.catalogue.service-published.v2",
                         key=owners_key, data=published_data(str(good.id), "oulu-parish", "Kaapattu", version=9),
                         signing_key=load_private_key(_demo_key("oulu-parish")), topic=social.topic("yhd.catalogue"))
    offsets["takeover"] = produce_raw(kafka.bootstrap, social.topic("yhd.catalogue"), owners_key.encode(),
                                      takeover.data_bytes, takeover.headers())
    after = publish(instance(catalogue.DEFINITION, "odl"), ODL, "Toinen oikea palvelu")
    social.consume_until(lambda: in_directory(social, after.id))
    with social.ctx.engine.connect() as c:
        owner = c.execute(select(directory_service.c.organization_id, directory_service.c.name_fi)
                          .where(directory_service.c.service_id == good.id)).one()
    assert tuple(owner) == ("odl", "Oikea palvelu")
    social.publish()  # the dead letters travel through the outbox too

    parked = {(int(r["dlt_partition"]), int(r["dlt_offset"])): r
              for r in dlt_records(kafka.bootstrap, social.topic("yhd.catalogue"))
              if r.get("dlt_consumer_group") == social.ctx.settings.consumer_group}
    for name, md in offsets.items():
        r = parked.get((md.partition, md.offset))
        assert r is not None, f"{name} was not dead-lettered"
        assert r["dlt_topic"] == social.topic("yhd.catalogue") and r["dlt_reason"] and r["dlt_error"]
    reasons = {name: parked[(md.partition, md.offset)]["dlt_error"] for name, md in offsets.items()}
    assert "not JSON" in reasons["not-json"]
    assert "signature" in reasons["unsigned"] or "missing" in reasons["unsigned"]
    assert "does not verify" in reasons["tampered"]
    assert "is not a key of organisation 'odl'" in reasons["non-member"]
    assert "unknown event type or version" in reasons["unknown-version"]
    assert "organization_id" in reasons["claims-other-org"]
    assert "partitionkey" in reasons["key-mismatch"]
    for name in ("re-keyed", "from-another-topic", "extension-added", "subject-changed", "dataschema-removed"):
        assert f"on topic '{social.topic('yhd.catalogue')}'" in reasons[name] and "does not verify" in reasons[name]
    assert "signing key 'ed25519-0123456789abcdef' is not a key of organisation 'odl'" in reasons["unknown-kid"]
    assert f"is not 'oulu-parish/{good.id}'" in reasons["takeover"] and parked[(offsets["takeover"].partition,
                                                               offsets["takeover"].offset)]["dlt_reason"] == "Rejected"


def test_topics_are_created_explicitly_and_never_auto_created(kafka, topic_prefix):
    from kafka import KafkaAdminClient
    admin = KafkaAdminClient(bootstrap_servers=kafka.bootstrap)
    topics = set(admin.list_topics())
    assert {topic_prefix + t for t in ("yhd.catalogue", "yhd.referrals", "yhd.attendance",
                                       "yhd.catalogue.DLT")} <= topics
    p = broker.producer(kafka.bootstrap, timeout_ms=3000)
    with pytest.raises(Exception):
        p.send(topic_prefix + "yhd.no-such-topic", value=b"x").get(timeout=5)
    p.close()
    assert topic_prefix + "yhd.no-such-topic" not in set(admin.list_topics())
    assert broker.ensure_topics(kafka.bootstrap, broker_topics_file(), prefix=topic_prefix) == []  # idempotent
    admin.close()


def broker_topics_file():
    from services.kernel.config import PROJECT_ROOT
    return PROJECT_ROOT / "deploy" / "topics.yaml"


def test_migrations_are_idempotent_and_concurrent_safe(new_database):
    """Web, relay and consumer processes all migrate at start-up; an advisory lock serialises them."""
    import subprocess
    import sys
    from services.kernel.config import sqlalchemy_url
    url = sqlalchemy_url(new_database("mig"))
    code = ("import sys; from services.kernel.db import migrate; from services import referrals; "
            "migrate(sys.argv[1], referrals.DEFINITION.migrations)")
    procs = [subprocess.Popen([sys.executable, "-c", code, url], stderr=subprocess.PIPE) for _ in range(3)]
    results = [(p.wait(60), p.stderr.read().decode()) for p in procs]
    assert all(rc == 0 for rc, _ in results), results
    from sqlalchemy import create_engine
    eng = create_engine(url)
    with eng.connect() as c:
        heads = {r[0] for r in c.execute(text("SELECT version_num FROM alembic_version"))}
        tables = {r[0] for r in c.execute(text("SELECT tablename FROM pg_tables WHERE schemaname='public'"))}
    eng.dispose()
    # the kernel branch's head and the service branch's head (which depends on the kernel branch)
    from alembic.script import ScriptDirectory
    from services.kernel.db import KERNEL_MIGRATIONS
    kernel_head = ScriptDirectory(str(KERNEL_MIGRATIONS),
                                  version_locations=[str(KERNEL_MIGRATIONS / "versions")]).get_current_head()
    referrals_versions = referrals.DEFINITION.migrations / "versions"
    referrals_head = ScriptDirectory(str(KERNEL_MIGRATIONS), version_locations=[
        str(KERNEL_MIGRATIONS / "versions"), str(referrals_versions)]).get_heads()
    assert heads == set(referrals_head) and kernel_head in heads
    assert {"outbox", "inbox", "consumer_offset", "api_user", "access_log", "kafka_cluster", "referral", "service_target"} <= tables


def test_a_failing_handler_is_retried_then_dead_lettered_and_the_rest_of_the_batch_applied(instance, kafka):
    from datetime import datetime, timedelta, timezone

    from services import attendance, reporting
    from services.attendance import service as attendance_service
    from services.kernel.consumer import ConsumerRunner, Handlers

    odl = instance(attendance.DEFINITION, "odl")
    region = instance(reporting.DEFINITION, "region")
    when = datetime.now(timezone.utc) - timedelta(hours=1)
    encounters = [attendance_service.record_encounter(odl.ctx.uow, ODL, {"kind": "drop-in", "count": 2,
                                                      "occurred_at": when})[0] for _ in range(10)]
    odl.publish()
    poison = str(encounters[4].id)
    handlers = Handlers()

    @handlers.on("fi.yhdistamo.attendance.encounter-recorded.v2")
    def apply(uow, event):
        if event.data["encounter_id"] == poison:
            raise ValueError("this one cannot be applied")
        uow.counts.increment(event.org, event.type, event.time)

    runner = ConsumerRunner(group=f"test-{uuid.uuid4().hex[:8]}", bootstrap=kafka.bootstrap,
                            engine=region.ctx.engine, uow_factory=region.ctx.uow, handlers=handlers,
                            federation=region.ctx.federation, contracts=region.ctx.contracts, max_retries=2,
                            timeout_ms=5000)
    region._runner = runner
    runner.start()
    region.consume_until(lambda: _caught_up(region))
    with region.ctx.engine.connect() as c:
        applied = set(c.execute(text("SELECT event_id FROM inbox")).scalars())
        dlt = c.execute(select(outbox.c.headers).where(outbox.c.topic == region.topic("yhd.attendance.DLT"))
                        ).scalars().all()
    assert len(applied) == 9  # all but the poisoned one, each once
    reasons = [dict(h) for h in dlt]
    assert any(r["dlt_reason"] == "HandlerError" and "cannot be applied" in r["dlt_error"] for r in reasons)
    assert region.publish() >= 1  # the dead letter reaches the DLT topic


def test_a_member_without_partitions_rejoins_when_the_group_left_partitions_unowned(instance, monkeypatch):
    from services.kernel.consumer import Orphaned
    social = instance(catalogue.DEFINITION, "oulu-social")
    runner = social.runner
    social.consume_until(lambda: runner.consumer.assignment())
    topic = social.topic("yhd.catalogue")
    catalogue_partitions = {(topic, p) for p in runner.consumer.partitions_for_topic(topic)}
    assert len(catalogue_partitions) >= 1 and runner.unowned_partitions() == set()  # the one member owns them all
    # as if the group's leader had assigned nothing (a kafka-python race seen in CI): the member asks the
    # group after a while without partitions, and a partition with no owner makes it rejoin
    group = runner.group
    monkeypatch.setattr(runner, "group", f"nobody-{uuid.uuid4().hex[:8]}")
    assert runner.unowned_partitions() == catalogue_partitions
    monkeypatch.setattr(runner.consumer, "assignment", lambda: set())
    runner.orphan_check_after = 0.0
    runner._watch_assignment()
    time.sleep(0.01)
    with pytest.raises(Orphaned, match="yhd.catalogue"):
        runner._watch_assignment()
    monkeypatch.setattr(runner, "group", group)
    runner._idle_since = None
    runner._watch_assignment()  # idle again, but nothing is unowned in the real group: no rejoin
    time.sleep(0.01)
    runner._watch_assignment()


def test_a_member_claiming_another_members_referral_target_makes_it_disputed_not_its_own(instance, kafka, caplog):
    """Under its own key the claim is a valid record, kept beside the genuine one by compaction: a member that
    already refers to the service stops, rather than ever sending the client's sealed data to the claimant."""
    social_cat = instance(catalogue.DEFINITION, "oulu-social")
    odl_ref = instance(referrals.DEFINITION, "odl")
    target = publish(social_cat, SOCIAL, "Kuntouttava työtoiminta", "rehabilitative-work-activity")
    odl_ref.consume_until(lambda: any(t["service_id"] == target.id
                                      for t in referrals_service.list_targets(odl_ref.ctx.uow)))
    client_id = client_with_consent(odl_ref, "oulu-social")
    # the parish, a member, signs a newer version of the city's service as its own
    forged = new_event(source="/orgs/oulu-parish/catalogue", type="fi.yhdistamo.catalogue.service-published.v2",
                       key=catalogue_key("oulu-parish", target.id),
                       data=published_data(str(target.id), "oulu-parish", "Kaapattu", version=9),
                       signing_key=load_private_key(_demo_key("oulu-parish")), topic=odl_ref.topic("yhd.catalogue"))
    produce_raw(kafka.bootstrap, odl_ref.topic("yhd.catalogue"), forged.partitionkey.encode(), forged.data_bytes,
                forged.headers())
    with caplog.at_level("ERROR", logger="services.kernel.db"):
        odl_ref.consume_until(lambda: _caught_up(odl_ref))
    assert all(t["service_id"] != target.id for t in referrals_service.list_targets(odl_ref.ctx.uow))
    with pytest.raises(Conflict) as refused:
        referrals_service.send_referral(odl_ref.ctx.uow, ODL, client_id, target.id, None, "Toivoo työtoimintaa")
    assert refused.value.code == "disputed-service"
    assert scalar(odl_ref, select(func.count()).select_from(referral_table)) == 0
    assert scalar(odl_ref, select(func.count()).select_from(outbox)
                  .where(outbox.c.event_type == "fi.yhdistamo.referral.requested.v2")) == 0
    assert any(r.levelname == "ERROR" and f"{target.id} is claimed by both oulu-social and oulu-parish" in r.getMessage()
               for r in caplog.records)


def test_a_third_member_cannot_change_or_restrict_a_referral_it_is_not_a_party_to(instance, kafka):
    """Signed with its own valid key, a member that is neither sender nor receiver names itself a party:
    refused (Rejected, parked with the reason), never applied — whatever the event's data claims."""
    odl_ref, social_ref, target, sent = referral_sent(instance)
    social_ref.consume_until(lambda: referrals_service.list_referrals(social_ref.ctx.uow, SOCIAL, box="incoming")[0])
    consent_id = referrals_service.get_referral(social_ref.ctx.uow, SOCIAL, sent.id)["referral"].consent_id
    parish = load_private_key(_demo_key("oulu-parish"))
    facts = {"referral_id": str(sent.id), "service_id": str(target.id), "age_band": "18-24", "gender": "unknown"}
    forged = {  # each names the parish as a party, and each is correctly signed by it
        "accept-as-receiver": ("referral.accepted.v2", {**facts, "from_org": "odl", "to_org": "oulu-parish",
                                                         "by_org": "oulu-parish", "state": "accepted",
                                                         "at": "2026-12-02T10:00:00Z"}),
        "cancel-as-sender": ("referral.cancelled.v2", {**facts, "from_org": "oulu-parish", "to_org": "oulu-social",
                                                        "by_org": "oulu-parish", "state": "cancelled",
                                                        "reason_code": "sent-in-error", "at": "2026-12-02T10:00:00Z"}),
        "withdraw-consent": ("consent.withdrawn.v2", {
            "consent_id": str(consent_id), "by_org": "oulu-parish", "recipient_org": "oulu-social",
            "categories": ["identity"], "purpose": "referral",
            "valid_from": "2026-12-01T00:00:00Z", "valid_until": "2027-06-01T00:00:00Z", "at": "2026-12-02T10:00:00Z",
            "withdrawn_at": "2026-12-02T10:00:00Z"}),
    }
    offsets = {}
    for name, (event, data) in forged.items():
        ev = new_event(source="/orgs/oulu-parish/referrals", type="fi.yhdistamo." + event,
                       key=data.get("referral_id", data.get("consent_id")), data=data, signing_key=parish,
                       topic=odl_ref.topic("yhd.referrals"))
        topic = odl_ref.topic("yhd.referrals")
        offsets[name] = produce_raw(kafka.bootstrap, topic, ev.partitionkey.encode(), ev.data_bytes, ev.headers())
    # a genuine change after the forgeries still arrives: the receiver accepts
    referrals_service.act_on_referral(social_ref.ctx.uow, SOCIAL, sent.id, "accept", None, None)
    social_ref.publish()
    odl_ref.consume_until(lambda: referrals_service.get_referral(odl_ref.ctx.uow, ODL, sent.id)[
        "referral"].status.value == "accepted")
    social_ref.consume_until(lambda: _caught_up(social_ref))
    city = referrals_service.get_referral(social_ref.ctx.uow, SOCIAL, sent.id)["referral"]
    assert city.status.value == "accepted" and city.personal is not None and city.restricted_at is None
    odl_ref.publish(), social_ref.publish()
    for inst in (odl_ref, social_ref):
        parked = {(int(r["dlt_partition"]), int(r["dlt_offset"])): r
                  for r in dlt_records(kafka.bootstrap, inst.topic("yhd.referrals"))
                  if r.get("dlt_consumer_group") == inst.ctx.settings.consumer_group}
        for name, md in offsets.items():
            if (md.partition, md.offset) in parked:
                assert parked[(md.partition, md.offset)]["dlt_reason"] == "Rejected", name
    refused = {name for name, md in offsets.items() for inst in (odl_ref, social_ref)
               for r in dlt_records(kafka.bootstrap, inst.topic("yhd.referrals"))
               if (int(r["dlt_partition"]), int(r["dlt_offset"])) == (md.partition, md.offset)
               and r.get("dlt_consumer_group") == inst.ctx.settings.consumer_group}
    assert refused == set(forged), refused


def _sent_and_cancelled_unpublished(instance):
    """ODL's referral to the city, sent and then cancelled by ODL, both events still in ODL's outbox:
    (odl, city, referral, the cancellation's outbox row)."""
    odl_ref, social_ref, _, sent = referral_sent(instance, published=False)
    referrals_service.act_on_referral(odl_ref.ctx.uow, ODL, sent.id, "cancel", "need-resolved", None)
    with odl_ref.ctx.engine.connect() as c:
        row = c.execute(select(outbox).where(outbox.c.key == str(sent.id), outbox.c.published_at.is_(None),
                                             outbox.c.event_type.like("%cancelled%"))).one()
    return odl_ref, social_ref, sent, row


def _copy(bootstrap, row, partition=None):
    """A byte-for-byte copy of an outbox row's record, to `partition` (None: the default partitioner's)."""
    from services.kernel.parking import decode_headers
    p = broker.producer(bootstrap)
    md = p.send(row.topic, key=row.key.encode(), value=bytes(row.value), headers=decode_headers(row.headers),
                partition=partition).get(timeout=10)
    p.close()
    return md


def _parked(kafka, inst, md):
    return [r for r in dlt_records(kafka.bootstrap, inst.topic("yhd.referrals"))
            if r.get("dlt_consumer_group") == inst.ctx.settings.consumer_group
            and (int(r["dlt_partition"]), int(r["dlt_offset"])) == (md.partition, md.offset)]


def _status(inst, actor, referral_id):
    return referrals_service.get_referral(inst.ctx.uow, actor, referral_id)["referral"].status.value


def test_a_genuine_event_copied_to_another_partition_is_parked_and_the_original_still_applies(instance, kafka):
    """The partition is not signed: a copy of ODL's cancellation on another partition than its key's would
    be applied ahead of the request (and the original then skipped as a duplicate). It is parked."""
    from kafka.partitioner.default import murmur2
    odl_ref, social_ref, sent, row = _sent_and_cancelled_unpublished(instance)
    n = len(broker.producer(kafka.bootstrap).partitions_for(row.topic))
    right = (murmur2(row.key.encode()) & 0x7FFFFFFF) % n
    md = _copy(kafka.bootstrap, row, partition=(right + 1) % n)
    assert md.partition != right
    odl_ref.publish()
    social_ref.consume_until(lambda: [r for r in referrals_service.list_referrals(
        social_ref.ctx.uow, SOCIAL, box="incoming")[0] if r.id == sent.id and r.status.value == "cancelled"])
    social_ref.consume_until(lambda: _caught_up(social_ref))
    social_ref.publish()
    parked = _parked(kafka, social_ref, md)
    assert parked and parked[0]["dlt_reason"] == "WrongPartition", parked
    assert (f"belongs on partition {right} of {n} of {row.topic}, read from partition {md.partition}"
            in parked[0]["dlt_error"])


def test_an_event_about_a_referral_not_held_naming_us_is_parked_and_the_genuine_one_applies_later(instance, kafka):
    """A copy of ODL's cancellation on its right partition, ahead of the request: the city holds no such
    referral, so it is refused (parked, not recorded as consumed), and ODL's own cancellation still applies."""
    odl_ref, social_ref, sent, row = _sent_and_cancelled_unpublished(instance)
    md = _copy(kafka.bootstrap, row)
    odl_ref.publish()
    social_ref.consume_until(lambda: [r for r in referrals_service.list_referrals(
        social_ref.ctx.uow, SOCIAL, box="incoming")[0] if r.id == sent.id and r.status.value == "cancelled"])
    social_ref.consume_until(lambda: _caught_up(social_ref))
    social_ref.publish()
    parked = _parked(kafka, social_ref, md)
    assert parked and parked[0]["dlt_reason"] == "Rejected", parked
    assert f"about referral {sent.id}" in parked[0]["dlt_error"] and "holds no such referral" in parked[0]["dlt_error"]


def test_the_senders_cancel_crossing_the_acceptance_does_not_cancel_the_receivers_copy(instance, kafka):
    """ODL cancels while the city's acceptance is in flight: the answer wins on both copies. A cancellation
    ODL signs from a later state than requested is refused."""
    odl_ref, social_ref, target, sent = referral_sent(instance)
    social_ref.consume_until(lambda: [r for r in referrals_service.list_referrals(
        social_ref.ctx.uow, SOCIAL, box="incoming")[0] if r.id == sent.id])
    referrals_service.act_on_referral(social_ref.ctx.uow, SOCIAL, sent.id, "accept", None, None)
    referrals_service.act_on_referral(social_ref.ctx.uow, SOCIAL, sent.id, "start", None, None)
    referrals_service.act_on_referral(odl_ref.ctx.uow, ODL, sent.id, "cancel", "need-resolved", None)
    assert _status(odl_ref, ODL, sent.id) == "cancelled"
    odl_ref.publish()
    late = new_event(source="/orgs/odl/referrals", type="fi.yhdistamo.referral.cancelled.v2", key=str(sent.id),
                     data={"referral_id": str(sent.id), "from_org": "odl", "to_org": "oulu-social",
                           "service_id": str(target.id), "age_band": sent.age_band, "gender": sent.gender,
                           "by_org": "odl", "state": "cancelled", "previous_state": "in-progress",
                           "reason_code": "need-resolved", "at": "2026-12-02T10:00:00Z"},
                     signing_key=load_private_key(_demo_key("odl")), topic=social_ref.topic("yhd.referrals"))
    md = produce_raw(kafka.bootstrap, social_ref.topic("yhd.referrals"), late.partitionkey.encode(),
                     late.data_bytes, late.headers())
    social_ref.consume_until(lambda: _caught_up(social_ref))
    assert _status(social_ref, SOCIAL, sent.id) == "in-progress"
    social_ref.publish()  # the acceptance, the start and the dead letter
    odl_ref.consume_until(lambda: _status(odl_ref, ODL, sent.id) == "in-progress")
    parked = _parked(kafka, social_ref, md)
    assert parked and parked[0]["dlt_reason"] == "Rejected" and "cancels only until acceptance" in parked[0]["dlt_error"]


def test_an_outcome_of_a_referral_not_yet_accepted_is_refused(instance, kafka):
    """The receiver's outcome is taken only on an accepted (or later) copy: one while requested is parked."""
    odl_ref, social_ref, target, sent = referral_sent(instance)
    city = load_private_key(_demo_key("oulu-social"))
    facts = {"referral_id": str(sent.id), "from_org": "odl", "to_org": "oulu-social", "service_id": str(target.id),
             "age_band": sent.age_band, "gender": sent.gender, "by_org": "oulu-social",
             "recorded_at": "2026-12-02T10:00:00Z"}
    ev = new_event(source="/orgs/oulu-social/referrals", type="fi.yhdistamo.referral.outcome-recorded.v2",
                   key=str(sent.id), data={**facts, "point": "completion", "outcome": "studies",
                                           "outcome_id": str(uuid.uuid4())},
                   signing_key=city, topic=odl_ref.topic("yhd.referrals"))
    md = produce_raw(kafka.bootstrap, odl_ref.topic("yhd.referrals"), ev.partitionkey.encode(), ev.data_bytes,
                     ev.headers())
    odl_ref.consume_until(lambda: _caught_up(odl_ref))
    assert referrals_service.get_referral(odl_ref.ctx.uow, ODL, sent.id)["outcomes"] == []
    odl_ref.publish()
    parked = _parked(kafka, odl_ref, md)
    assert parked and parked[0]["dlt_reason"] == "Rejected" and "which is requested here" in parked[0]["dlt_error"]
