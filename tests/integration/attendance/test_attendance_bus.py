"""Attendance on the bus, with real Kafka and PostgreSQL: it learns its own catalogue's services and places and
the referrals sent to its organisation, refuses what a party may not say, and what it publishes is read by
regional reporting without a dead letter."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from marshmallow import EXCLUDE
from sqlalchemy import func, select

from services import attendance, catalogue, referrals, reporting
from services.attendance import service as att
from services.attendance.tables import incoming_referral, own_service
from services.catalogue.publishing import service as cat
from services.catalogue.publishing.schemas import LocationIn
from services.kernel.auth import Actor, Role
from services.kernel.parking import decode_headers
from services.kernel.tables import inbox, outbox
from services.referrals import service as rs
from services.referrals.schemas import ConsentIn
from services.reporting.tables import event_count
from tests.support.adversary import Adversary
from tests.support.catalogue import publish_service
from tests.support.directory import KnownClients
from tests.support.people import consent_to, synthetic_client

pytestmark = pytest.mark.integration
ODL = Actor("caseworker@odl", "Demo", Role.CASEWORKER, "odl")
CITY = Actor("caseworker@oulu-social", "Demo", Role.CASEWORKER, "oulu-social")
HOUR_AGO = datetime.now(timezone.utc) - timedelta(hours=1)


def helmi(uow_factory):
    return cat.create_location(uow_factory, ODL, LocationIn().load({
        "name": {"fi": "HELMI-kahvila"}, "address": {"street": "Isokatu 47", "postal_code": "90100", "city": "Oulu"},
        "area": "oulu"}))


def held(inst, table, where=None):
    with inst.ctx.engine.connect() as c:
        q = select(table) if where is None else select(table).where(where)
        return [dict(r._mapping) for r in c.execute(q)]


def parked(inst) -> list[str]:
    """The reasons of the dead letters `inst` staged (its outbox, bound for the .DLT topics)."""
    with inst.ctx.engine.connect() as c:
        rows = c.execute(select(outbox.c.headers).where(outbox.c.topic.like("%.DLT"))).scalars()
        return [dict(decode_headers(h))["dlt_error"].decode() for h in rows]


@pytest.fixture
def odl_place(instance):
    """ODL's catalogue with the HELMI drop-in at the HELMI café, and ODL's attendance that has read it."""
    odl_cat, odl_att = instance(catalogue.DEFINITION, "odl"), instance(attendance.DEFINITION, "odl")
    place = helmi(odl_cat.ctx.uow)
    service = publish_service(odl_cat.ctx.uow, ODL, "Kohtaamispaikka HELMI", "individual-guidance",
                              location_ids=[place.id])
    odl_cat.publish()
    odl_att.consume_until(lambda: held(odl_att, own_service))
    return odl_cat, odl_att, service, place


def test_attendance_learns_its_own_services_and_their_places_and_no_one_elses(instance, odl_place):
    _, odl_att, service, place = odl_place
    city_cat = instance(catalogue.DEFINITION, "oulu-social")
    publish_service(city_cat.ctx.uow, CITY, "Kuntouttava työtoiminta", "rehabilitative-work-activity")
    city_cat.publish()
    odl_att.consume_until(lambda: _caught_up(odl_att))
    rows = {r["service_id"]: r for r in held(odl_att, own_service)}   # (other tests' ODL services may be here too)
    assert rows[service.id]["locations"] == [{"id": str(place.id), "name": {"fi": "HELMI-kahvila"}}]
    assert {r["organization_id"] for r in rows.values()} == {"odl"}
    e, _ = att.record_encounter(odl_att.ctx.uow, ODL, {"kind": "drop-in", "occurred_at": HOUR_AGO,
                                                       "service_id": service.id, "location_id": place.id})
    assert e.location_id == place.id


def _caught_up(inst) -> bool:
    """Every record of the instance's topics up to now has been consumed (the inbox stopped growing)."""
    before = _inbox_size(inst)
    inst.runner.poll_once(timeout_ms=500)
    return _inbox_size(inst) == before


def _inbox_size(inst) -> int:
    with inst.ctx.engine.connect() as c:
        return c.execute(select(func.count()).select_from(inbox)).scalar_one()


def test_a_referral_sent_here_is_known_with_its_state_and_the_loop_event_reaches_reporting(instance, odl_place):
    odl_cat, odl_att, service, _ = odl_place
    city, odl_ref = instance(referrals.DEFINITION, "oulu-social"), instance(referrals.DEFINITION, "odl")
    region = instance(reporting.DEFINITION, "region")
    city.consume_until(lambda: any(t["service_id"] == service.id for t in rs.list_targets(city.ctx.uow)))
    client = rs.register_client(city.ctx.uow, CITY, synthetic_client())
    rs.record_consent(city.ctx.uow, CITY, client.id, ConsentIn(unknown=EXCLUDE).load(consent_to("odl")))
    sent = rs.send_referral(city.ctx.uow, CITY, client.id, service.id, None, None)
    city.publish()
    mine = incoming_referral.c.referral_id == sent.id
    odl_att.consume_until(lambda: held(odl_att, incoming_referral, mine))
    odl_ref.consume_until(lambda: any(r.id == sent.id for r in rs.list_referrals(odl_ref.ctx.uow, ODL, box="incoming")[0]))
    rs.act_on_referral(odl_ref.ctx.uow, ODL, sent.id, "accept", None, None)
    odl_ref.publish()
    odl_att.consume_until(lambda: held(odl_att, incoming_referral, mine)[0]["status"] == "accepted")
    row = held(odl_att, incoming_referral, mine)[0]
    assert (row["referral_id"], row["from_org"], row["service_id"]) == (sent.id, "oulu-social", service.id)

    # the young person, registered at ODL too, comes to guidance: the loop's event leaves for the sender
    here = KnownClients()
    odl_client = here.add()
    att.link_referral(odl_att.ctx.uow, ODL, odl_client, sent.id, directory=here)
    att.record_encounter(odl_att.ctx.uow, ODL, {"kind": "guidance", "channel": "in-person",  # after the referral
                                                "occurred_at": datetime.now(timezone.utc), "client_id": odl_client},
                         directory=here)
    assert odl_att.publish() >= 2
    types = {"fi.yhdistamo.attendance.referral-arrival.v1", "fi.yhdistamo.attendance.encounter-recorded.v2"}

    def counted():
        with region.ctx.engine.connect() as c:
            return types <= set(c.execute(select(event_count.c.event_type)).scalars())
    region.consume_until(counted)
    assert not [r for r in parked(region) if "attendance" in r]


def test_a_member_that_is_not_a_party_cannot_move_a_referral_sent_here(instance, odl_place, kafka):
    _, odl_att, service, _ = odl_place
    rid = str(uuid.uuid4())
    city = Adversary("oulu-social", kafka.bootstrap)
    city.send(odl_att.topic("yhd.referrals"), "fi.yhdistamo.referral.requested.v2", rid, _requested(rid, service.id))
    mine = incoming_referral.c.referral_id == uuid.UUID(rid)
    odl_att.consume_until(lambda: held(odl_att, incoming_referral, mine))
    parish = Adversary("oulu-parish", kafka.bootstrap)
    parish.send(odl_att.topic("yhd.referrals"), "fi.yhdistamo.referral.cancelled.v2", rid,
                _moved(rid, service.id, "cancelled", by="oulu-parish"))
    city.send(odl_att.topic("yhd.referrals"), "fi.yhdistamo.referral.accepted.v2", rid,
              _moved(rid, service.id, "accepted", by="oulu-social"))
    odl_att.consume_until(lambda: sum(rid in r for r in parked(odl_att)) >= 2)
    assert held(odl_att, incoming_referral, mine)[0]["status"] == "requested"
    reasons = " ".join(parked(odl_att))
    assert "oulu-parish is not a party" in reasons and "the sender oulu-social cannot move" in reasons


def _requested(rid: str, service_id) -> dict:
    return {"referral_id": rid, "from_org": "oulu-social", "to_org": "odl", "service_id": str(service_id),
            "age_band": "18-24", "gender": "unknown", "requested_at": "2026-11-30T10:00:00Z", "categories": [],
            "consent_id": str(uuid.uuid4()),
            "person": "AAAA"}


def _moved(rid: str, service_id, state: str, by: str) -> dict:
    d = {"referral_id": rid, "from_org": "oulu-social", "to_org": "odl", "service_id": str(service_id),
         "age_band": "18-24", "gender": "unknown", "by_org": by, "state": state, "previous_state": "requested",
         "at": "2026-12-01T10:00:00Z"}
    if state == "cancelled":
        d["reason_code"] = "sent-in-error"
    return d
