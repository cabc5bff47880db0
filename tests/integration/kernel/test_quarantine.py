"""The bus never stops: what the broker cannot take is refused when it is staged, or quarantined by the relay
while the rest goes on (real Kafka, real PostgreSQL)."""
from __future__ import annotations

import dataclasses
import time
import uuid

import pytest
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
from sqlalchemy import func, select

from services import catalogue
from services.catalogue.app import create_app
from services.catalogue.publishing import service as catalogue_service
from services.kernel import admin
from services.kernel.auth import Actor, Role, new_token, upsert_user
from services.kernel.outbox import Outbox
from services.kernel.tables import outbox
from tests.support.catalogue import publish_service, service_doc

pytestmark = pytest.mark.integration

ODL = Actor("manager@odl", "Demo", Role.MANAGER, "odl")
EMOJI = "\N{SMILING FACE WITH SMILING EYES}"  # one character for the contract's maxLength, four bytes


def rows(inst) -> dict[int, dict]:
    with inst.ctx.engine.connect() as c:
        return {r.seq: dict(r._mapping) for r in c.execute(
            select(outbox.c.seq, outbox.c.key, outbox.c.topic, outbox.c.published_at, outbox.c.quarantined_at,
                   outbox.c.quarantine_error).order_by(outbox.c.seq))}


def last_seq(inst) -> int:
    with inst.ctx.engine.connect() as c:
        return c.execute(select(func.max(outbox.c.seq))).scalar()


def stage_raw(inst, topic: str, key: str, value: bytes) -> int:
    """An outbox row as any producer could leave it, bypassing Outbox.add's checks."""
    with inst.ctx.engine.begin() as conn:
        Outbox(conn, None).add_record(event_id=str(uuid.uuid4()), event_type="fi.yhdistamo.test.raw.v1",
                                      topic=topic, key=key, headers=[("ce_id", b"raw")], value=value)
    return last_seq(inst)


def drain(inst, failures_allowed: int = 3) -> int:
    """Call the relay until it has nothing more to do; a pass that fails (and says so) is called again."""
    settled = 0
    while True:
        try:
            n = inst.relay.publish_pending()
        except RuntimeError:
            failures_allowed -= 1
            assert failures_allowed >= 0, "the relay kept failing"
            continue
        if not n:
            return settled
        settled += n


def run_admin(monkeypatch, capsys, inst, *argv) -> tuple[int, str, str]:
    monkeypatch.setenv("DATABASE_URL", inst.ctx.settings.database_url)
    code = admin.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def web(inst, **settings):
    app = create_app(dataclasses.replace(inst.ctx.settings, **settings))
    token = new_token()
    with inst.ctx.engine.begin() as conn:
        upsert_user(conn, "manager@odl", "manager", token)
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def text(chars: str) -> dict:
    return {"fi": chars, "sv": chars, "en": chars}


def test_a_service_too_large_to_publish_is_answered_422_naming_the_field_and_nothing_is_saved(instance):
    odl = instance(catalogue.DEFINITION, "odl")
    client = web(odl)
    holidays = [{"starts_on": f"2027-{m:02d}-{d:02d}", "ends_on": f"2027-{m:02d}-{d:02d}", "closed": True,
                 "reason": text(EMOJI * 500)} for m in range(1, 11) for d in range(1, 11)]
    body = {"name": {"fi": "Kohtaamispaikka"}, "categories": ["drop-in"], "areas": ["oulu"],
            "description": text("Ääni " * 100), "exceptions": holidays}
    r = client.post("/api/v1/services", json=body)
    assert r.status_code == 422, r.get_json()
    assert r.headers["Content-Type"].startswith("application/problem+json")
    p = r.get_json()
    assert p["type"].endswith("/event-too-large") and p["field"] == "service.exceptions.0.reason.fi"
    assert p["event"] == "fi.yhdistamo.catalogue.service-published.v2" and p["bytes"] > p["limit"]
    assert "service.exceptions.0.reason.fi" in p["detail"]

    r = client.post("/api/v1/services", json={**body, "exceptions": [], "email": "a" * 3000 + "@example.fi"})
    assert r.status_code == 422 and r.get_json()["field"] == "service.email", r.get_json()

    assert client.get("/api/v1/services").get_json() == []  # the service was not saved either
    assert rows(odl) == {}
    assert client.post("/api/v1/services", json={**body, "exceptions": holidays[:10]}).status_code == 201


def test_an_unpublishable_row_is_quarantined_the_rest_goes_on_and_its_aggregate_waits_until_dropped(
        instance, monkeypatch, capsys):
    odl = instance(catalogue.DEFINITION, "odl")
    topic = odl.topic("yhd.catalogue")
    a = publish_service(odl.ctx.uow, ODL, "Palvelu A")
    poison = stage_raw(odl, topic, a.key, b"x" * (2 << 20))  # 2 MiB: more than the producer sends
    catalogue_service.update_service(odl.ctx.uow, ODL, a.id, service_doc("Palvelu A, uusi nimi"))
    a_later = last_seq(odl)
    b = publish_service(odl.ctx.uow, ODL, "Palvelu B")
    b_seq = last_seq(odl)

    assert drain(odl) == 3  # A, B published; the poison quarantined
    state = rows(odl)
    assert state[poison]["quarantined_at"] and "MessageSizeTooLargeError" in state[poison]["quarantine_error"]
    assert state[poison]["published_at"] is None
    assert state[a_later]["published_at"] is None and state[a_later]["quarantined_at"] is None  # waits
    assert state[b_seq]["published_at"] and state[poison - 1]["published_at"]

    client = web(odl)
    h = client.get("/healthz")
    assert h.status_code == 503 and h.headers["Content-Type"].startswith("application/problem+json")
    reason = h.get_json()["checks"]["outbox"]
    assert "quarantined" in reason and f"row {poison}" in reason and "MessageSizeTooLargeError" in reason

    code, out, _ = run_admin(monkeypatch, capsys, odl, "outbox-quarantined")
    assert code == 0
    (listed,) = [line.split("\t") for line in out.splitlines()[1:]]
    assert listed[0] == str(poison) and listed[2] == topic and listed[3] == a.key
    assert int(listed[5]) > 2 << 20 and listed[6] == "1" and "MessageSizeTooLargeError" in listed[7]

    code, _, err = run_admin(monkeypatch, capsys, odl, "outbox-drop", str(b_seq))
    assert code == 1 and "not quarantined" in err  # only quarantined rows can be dropped
    code, out, _ = run_admin(monkeypatch, capsys, odl, "outbox-drop", str(poison))
    assert code == 0 and f"dropped row {poison}" in out and "1 row(s) of its aggregate go on" in out
    assert poison not in rows(odl)

    assert drain(odl) == 1
    assert rows(odl)[a_later]["published_at"]
    assert client.get("/healthz").status_code == 200


def test_a_refusal_the_broker_sends_back_is_pinned_on_its_row_and_republished_once_the_topic_takes_it(
        instance, kafka, monkeypatch, capsys):
    odl = instance(catalogue.DEFINITION, "odl")
    small = odl.topic("test.small-records")
    topics = KafkaAdminClient(bootstrap_servers=kafka.bootstrap)
    topics.create_topics([NewTopic(small, 1, 1, topic_configs={"max.message.bytes": "2048"})])
    try:
        good = [publish_service(odl.ctx.uow, ODL, f"Palvelu {i}") for i in range(3)]
        poison = stage_raw(odl, small, "p", b"y" * 5000)  # within the producer's limit, beyond the topic's
        p_later = stage_raw(odl, small, "p", b"later")
        q = stage_raw(odl, small, "q", b"other aggregate")
        more = publish_service(odl.ctx.uow, ODL, "Palvelu 4")

        drain(odl)  # the broker's refusal fails the producer and the batch: the failed rows go one by one
        state = rows(odl)
        assert state[poison]["quarantined_at"] and "MessageSizeTooLarge" in state[poison]["quarantine_error"]
        assert state[p_later]["published_at"] is None and state[p_later]["quarantined_at"] is None
        assert state[q]["published_at"]
        theirs = [r for r in state.values() if r["key"] in {s.key for s in good + [more]}]
        assert len(theirs) >= len(good) + 1 and all(r["published_at"] for r in theirs)

        topics.alter_configs([ConfigResource(ConfigResourceType.TOPIC, small,
                                             configs={"max.message.bytes": str(1 << 20)})])
        code, out, _ = run_admin(monkeypatch, capsys, odl, "outbox-republish", str(poison))
        assert code == 0 and f"1 row(s): {poison}" in out
        deadline = time.monotonic() + 60  # until the broker applies the new topic config, the row is refused
        while not rows(odl)[p_later]["published_at"]:
            assert time.monotonic() < deadline, rows(odl)
            drain(odl)
            if rows(odl)[poison]["quarantined_at"]:
                run_admin(monkeypatch, capsys, odl, "outbox-republish", "--all")
        assert rows(odl)[poison]["published_at"] and rows(odl)[poison]["quarantined_at"] is None
    finally:
        topics.delete_topics([small])
        topics.close()


def test_healthz_reports_a_relay_that_has_not_published_for_longer_than_the_stall_threshold(instance):
    odl = instance(catalogue.DEFINITION, "odl")
    client = web(odl, outbox_stall_seconds=0.5)
    assert client.get("/healthz").status_code == 200
    publish_service(odl.ctx.uow, ODL, "Odottava palvelu")
    waiting = last_seq(odl)
    deadline = time.monotonic() + 30
    while (h := client.get("/healthz")).status_code == 200:
        assert time.monotonic() < deadline, "the stalled outbox was never reported"
        time.sleep(0.2)
    assert h.status_code == 503
    assert h.get_json()["checks"]["outbox"].startswith(f"stalled: row {waiting} has waited")
    odl.publish()
    assert client.get("/healthz").status_code == 200
