"""Referrals on real PostgreSQL and Kafka: consent, restriction, escalation, logs."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from marshmallow import EXCLUDE
from sqlalchemy import func, select, update

from services import referrals
from services.kernel.auth import Actor, Role
from services.kernel.errors import Conflict, Forbidden, NotFound
from services.kernel.tables import access_log, outbox
from services.referrals import service as rs
from services.referrals.schemas import ConsentIn
from services.referrals.tables import referral as referral_t
from tests.support.people import consent_to, synthetic_client

pytestmark = pytest.mark.integration
ODL = Actor("caseworker@odl", "Demo", Role.CASEWORKER, "odl")
ODL_REGISTRAR = Actor("registrar@odl", "Demo", Role.REGISTRAR, "odl")
CITY = Actor("caseworker@oulu-social", "Demo", Role.CASEWORKER, "oulu-social")




def new_client(inst, **consent):
    c = rs.register_client(inst.ctx.uow, ODL, synthetic_client())
    if consent is not None:
        fields = ConsentIn(unknown=EXCLUDE).load({**consent_to("oulu-social"), **consent})
        rs.record_consent(inst.ctx.uow, ODL, c.id, fields)
    return c.id


def log_rows(inst, subject):
    with inst.ctx.engine.connect() as c:
        return c.execute(select(access_log).where(access_log.c.subject == subject)).all()


@pytest.mark.parametrize("consent,code", [
    (None, "consent-missing"),
    ({"valid_from": "2020-01-01T00:00:00+00:00", "valid_until": "2020-06-01T00:00:00+00:00"}, "consent-expired"),
    ({"decision": "denied"}, "consent-denied"),
    ({"categories": ["identity"]}, "consent-category-missing"),
    ({"recipient_org": "oulu-parish"}, "consent-missing"),
])
def test_referral_is_refused_without_valid_consent_and_nothing_leaves(pair, consent, code):
    odl, _, target = pair
    client = rs.register_client(odl.ctx.uow, ODL, synthetic_client())
    if consent is not None:
        rs.record_consent(odl.ctx.uow, ODL, client.id,
                          ConsentIn(unknown=EXCLUDE).load({**consent_to("oulu-social"), **consent}))
    with odl.ctx.engine.connect() as c:
        before = c.execute(select(func.count()).select_from(outbox)).scalar()
    with pytest.raises(Conflict) as e:
        rs.send_referral(odl.ctx.uow, ODL, client.id, target, ["identity", "contact"], None)
    assert e.value.code == code
    with odl.ctx.engine.connect() as c:
        assert c.execute(select(func.count()).select_from(outbox)).scalar() == before
        assert c.execute(select(func.count()).select_from(referral_t)).scalar() == 0
    refused = [r for r in log_rows(odl, f"client:{client.id}") if r.action == "referral.send"]
    assert [r.result for r in refused] == [code]


def test_withdrawn_consent_refuses_new_referrals_and_receiver_restricts_what_it_holds(pair):
    odl, city, target = pair
    client_id = new_client(odl)
    sent = rs.send_referral(odl.ctx.uow, ODL, client_id, target, None, "tarvitsee tukea")
    odl.publish()
    city.consume_until(lambda: _personal(city, sent.id))
    consent = rs.get_client(odl.ctx.uow, ODL, client_id)[1][0]
    rs.withdraw_consent(odl.ctx.uow, ODL, client_id, consent.id)
    odl.publish()
    city.consume_until(lambda: _personal(city, sent.id) is None)
    restricted = [r for r in log_rows(city, f"referral:{sent.id}") if r.action == "referral.restrict"]
    assert len(restricted) == 1 and restricted[0].username == "system@oulu-social"
    with pytest.raises(Conflict) as e:
        rs.send_referral(odl.ctx.uow, ODL, client_id, target, None, None)
    assert e.value.code == "consent-withdrawn"


def _personal(inst, referral_id):
    with inst.ctx.engine.connect() as c:
        row = c.execute(select(referral_t.c.personal, referral_t.c.received_at)
                        .where(referral_t.c.id == referral_id)).first()
    if row is None:
        return False
    return row.personal


def test_the_sealed_part_is_unreadable_on_the_broker_and_carries_only_consented_fields(pair):
    odl, city, target = pair
    client_id = new_client(odl, categories=["contact", "referral-details"])
    client = rs.get_client(odl.ctx.uow, ODL, client_id)[0]
    sent = rs.send_referral(odl.ctx.uow, ODL, client_id, target, None, "muistiinpano")
    with odl.ctx.engine.connect() as c:
        value = c.execute(select(outbox.c.value).where(outbox.c.key == str(sent.id),
                                                       outbox.c.event_type.like("%requested%"))).scalar()
    raw = bytes(value).decode()
    assert client.identity_code not in raw and client.name not in raw and "muistiinpano" not in raw
    odl.publish()
    personal = city.consume_until(lambda: _personal(city, sent.id))
    assert set(personal) == {"phone", "municipality", "note"}


def test_unanswered_referral_is_escalated_after_working_days(pair):
    odl, city, target = pair
    sent = rs.send_referral(odl.ctx.uow, ODL, new_client(odl), target, None, None)
    odl.publish()
    city.consume_until(lambda: _personal(city, sent.id) is not False)
    assert rs.escalate_unanswered(city.ctx.uow, "oulu-social", 3) == 0  # just arrived
    with city.ctx.engine.begin() as c:
        c.execute(update(referral_t).where(referral_t.c.id == sent.id)
                  .values(received_at=datetime.now(timezone.utc) - timedelta(days=10)))
    assert rs.escalate_unanswered(city.ctx.uow, "oulu-social", 3) == 1
    assert rs.escalate_unanswered(city.ctx.uow, "oulu-social", 3) == 0  # once
    manager = Actor("manager@oulu-social", "M", Role.MANAGER, "oulu-social")
    assert [n["kind"] for n in rs.inbox(city.ctx.uow, manager)["notifications"]] == ["escalated"]
    city.publish()
    odl.consume_until(lambda: rs.get_referral(odl.ctx.uow, ODL, sent.id)["referral"].escalated_at)


def test_every_client_data_request_leaves_exactly_one_access_log_row(pair):
    odl, _, target = pair
    client_id = new_client(odl)
    subject = f"client:{client_id}"
    base = len(log_rows(odl, subject))
    calls = [
        lambda: rs.get_client(odl.ctx.uow, ODL, client_id, purpose="check"),
        lambda: rs.send_referral(odl.ctx.uow, ODL, client_id, target, None, None),
        lambda: rs.get_client(odl.ctx.uow, ODL, client_id),
        lambda: rs.data_report(odl.ctx.uow, ODL_REGISTRAR, client_id),
        lambda: rs.data_report(odl.ctx.uow, ODL, client_id),             # refused: not the registrar
        lambda: rs.send_referral(odl.ctx.uow, ODL, client_id, target, ["health"], None),  # refused
    ]
    for i, call in enumerate(calls, 1):
        try:
            call()
        except (Forbidden, Conflict):
            pass
        assert len(log_rows(odl, subject)) == base + i, f"call {i}"
    rows = log_rows(odl, subject)[base:]
    assert [r.result for r in rows] == ["ok", "ok", "ok", "ok", "forbidden", "consent-category-missing"]
    assert rows[0].purpose == "check" and all(r.org_id == "odl" for r in rows)


def test_registrar_report_shows_who_used_and_who_received_the_data(pair):
    odl, _, target = pair
    client_id = new_client(odl)
    rs.send_referral(odl.ctx.uow, ODL, client_id, target, None, None)
    report = rs.data_report(odl.ctx.uow, ODL_REGISTRAR, client_id)
    assert [d["recipient_org"] for d in report["disclosures"]] == ["oulu-social"]
    assert {a["action"] for a in report["accesses"]} >= {"client.create", "consent.record", "referral.send"}


def test_one_organisation_cannot_see_anothers_referral(pair):
    odl, city, target = pair
    sent = rs.send_referral(odl.ctx.uow, ODL, new_client(odl), target, None, None)
    parish = Actor("caseworker@oulu-parish", "P", Role.CASEWORKER, "oulu-parish")
    # the parish's database never holds it; the city's would only after delivery
    with pytest.raises(NotFound):
        rs.get_referral(city.ctx.uow, parish, uuid.uuid4())
    with pytest.raises(NotFound):
        rs.get_referral(city.ctx.uow, CITY, sent.id)


def test_consent_expiry_is_announced_once_and_the_receiver_is_told(pair):
    from services.referrals.tables import consent as consent_t, notification
    odl, city, target = pair
    client_id = new_client(odl)
    sent = rs.send_referral(odl.ctx.uow, ODL, client_id, target, None, None)
    odl.publish()
    city.consume_until(lambda: _personal(city, sent.id))
    assert rs.announce_expired_consents(odl.ctx.uow, "odl") == 0  # still valid
    with odl.ctx.engine.begin() as c:
        c.execute(update(consent_t).where(consent_t.c.client_id == client_id)
                  .values(valid_until=datetime.now(timezone.utc) - timedelta(minutes=1)))
    assert rs.announce_expired_consents(odl.ctx.uow, "odl") == 1
    assert rs.announce_expired_consents(odl.ctx.uow, "odl") == 0  # once
    odl.publish()

    def told():
        with city.ctx.engine.connect() as c:
            return c.execute(select(notification.c.kind).where(notification.c.referral_id == sent.id,
                                                               notification.c.kind == "consent-expired")).all()
    assert len(city.consume_until(told)) == 1
    with pytest.raises(Conflict) as e:
        rs.send_referral(odl.ctx.uow, ODL, client_id, target, None, None)
    assert e.value.code == "consent-expired"
