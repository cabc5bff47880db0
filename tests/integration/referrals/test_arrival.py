"""The loop closes, on real PostgreSQL and Kafka: the receiver's attendance tells whether the referred client
arrived (attendance.referral-arrival.v1, signed by the receiver). ODL refers to the city; the city's attendance
is played by a member signing as the city's attendance service, straight to the broker."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from marshmallow import EXCLUDE
from sqlalchemy import func, select

from services.kernel.auth import Actor, Role, new_token, upsert_user
from services.kernel.events import new_event
from services.kernel.tables import consumer_offset, outbox
from services.referrals import service as rs
from services.referrals.schemas import ConsentIn, ReferralDetailOut
from services.referrals.tables import notification, referral as referral_t, referral_arrival, referral_history
from tests.integration.referrals.conftest import parked
from tests.support import bus
from tests.support.adversary import Adversary
from tests.support.people import consent_to, synthetic_client

pytestmark = pytest.mark.integration
ODL = Actor("caseworker@odl", "Demo", Role.CASEWORKER, "odl")
CITY = Actor("caseworker@oulu-social", "Demo", Role.CASEWORKER, "oulu-social")
ARRIVAL = "fi.yhdistamo.attendance.referral-arrival.v1"
CAME = "2026-12-09T10:00:00Z"
MISSED = "2026-12-08T10:00:00Z"
PASSWORD = "saapumisen-testi"


# -- the set-up ------------------------------------------------------------------------
def referred(pair):
    """A referral ODL sent and the city holds, unanswered."""
    odl, city, target = pair
    client = rs.register_client(odl.ctx.uow, ODL, synthetic_client())
    rs.record_consent(odl.ctx.uow, ODL, client.id, ConsentIn(unknown=EXCLUDE).load(consent_to("oulu-social")))
    r = rs.send_referral(odl.ctx.uow, ODL, client.id, target, None, None)
    odl.publish()
    city.consume_until(lambda: copy(city, r.id))
    return r


def accepted(pair):
    """A referral ODL sent and the city accepted, both copies accepted."""
    odl, city, _ = pair
    r = referred(pair)
    rs.act_on_referral(city.ctx.uow, CITY, r.id, "accept", None, None)
    city.publish()
    odl.consume_until(lambda: copy(odl, r.id).status == "accepted")
    return r


def copy(inst, referral_id):
    with inst.ctx.engine.connect() as c:
        return c.execute(select(referral_t).where(referral_t.c.id == referral_id)).first()


def rows(inst, table, referral_id) -> list:
    with inst.ctx.engine.connect() as c:
        return c.execute(select(table).where(table.c.referral_id == referral_id).order_by(table.c.id)).all()


def kinds(inst, referral_id) -> list[str]:
    return [n.kind for n in rows(inst, notification, referral_id)]


def staged_changes(inst, referral_id) -> list:
    with inst.ctx.engine.connect() as c:
        return c.execute(select(outbox).where(outbox.c.key == str(referral_id),
                                              outbox.c.event_type == "fi.yhdistamo.referral.status-changed.v2")).all()


def consumed(inst, topic, partition, offset) -> bool:
    """Has `inst` applied (or passed over) the record at (partition, offset) of `topic`?"""
    with inst.ctx.engine.connect() as c:
        next_offset = c.execute(select(consumer_offset.c.next_offset).where(
            consumer_offset.c.topic == topic, consumer_offset.c.partition == partition)).scalar()
    return next_offset is not None and next_offset > offset


def arrival_data(r, arrival: str, *, to_org="oulu-social", **extra) -> dict:
    return {"referral_id": str(r.id), "from_org": r.from_org, "to_org": to_org, "service_id": str(r.service_id),
            "arrival": arrival, "at": CAME if arrival == "arrived" else MISSED, **extra}


def tell(kafka, inst, r, arrival, *, org="oulu-social", service="attendance", **data):
    """`org`'s `service` tells the arrival of `r`, signed with its own valid key: (topic, partition, offset)."""
    topic = inst.topic("yhd.attendance")
    at = Adversary(org, kafka.bootstrap, service).send(topic, ARRIVAL, str(r.id),
                                                       arrival_data(r, arrival, to_org=org, **data))
    return (topic, *at)


def page(inst, path: str, lang: str) -> str:
    """`path` of `inst`'s caseworker pages in `lang`, logged in through the login form."""
    from services.referrals.app import create_app
    username = f"caseworker@{inst.ctx.settings.org_id}"
    with inst.ctx.engine.begin() as c:
        upsert_user(c, username, "caseworker", new_token(), password=PASSWORD)
    app = create_app(inst.ctx.settings)
    try:
        client = app.test_client()
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True))[1]
        assert client.post("/login", data={"username": username, "password": PASSWORD,
                                           "csrf_token": token}).status_code == 302
        r = client.get(f"{path}?lang={lang}")
        assert r.status_code == 200
        return r.get_data(as_text=True)
    finally:
        app.extensions["yhd"].dispose()


def timeline(html: str) -> list[str]:
    section = html[html.index('class="timeline"'):]
    section = section[:section.index("</ol>")]
    return [" ".join(w.split()) for w in re.findall(r'<span class="what">(.*?)</span>', section, re.S)]


# -- the loop --------------------------------------------------------------------------
def test_the_client_arrives_the_receiver_starts_the_referral_and_the_sender_sees_both(pair, kafka):
    odl, city, _ = pair
    r = accepted(pair)
    tell(kafka, city, r, "arrived", missed=0, encounter_kind="group-session")

    at_city = city.consume_until(lambda: (c := copy(city, r.id)).status == "in-progress" and c)
    assert (at_city.arrival, at_city.arrived_at, at_city.missed_sessions) == \
        ("arrived", datetime(2026, 12, 9, 10, tzinfo=timezone.utc), 0)
    step = rows(city, referral_history, r.id)[-1]
    assert (step.from_state, step.to_state, step.by_org, step.by_user) == \
        ("accepted", "in-progress", "oulu-social", None)   # a system change: by the city, by no user
    [change] = staged_changes(city, r.id)                   # the sender hears of it as of a caseworker's move
    assert dict(change.headers)["ce_recipient"] == "odl"
    assert kinds(city, r.id) == ["incoming"]                # nothing to do at the city: the pathway runs

    city.publish()
    at_odl = odl.consume_until(lambda: (c := copy(odl, r.id)).status == "in-progress" and c.arrival and c)
    assert (at_odl.arrival, at_odl.arrived_at) == ("arrived", datetime(2026, 12, 9, 10, tzinfo=timezone.utc))
    assert kinds(odl, r.id) == ["arrived"]
    view = ReferralDetailOut().dump(rs.get_referral(odl.ctx.uow, ODL, r.id))  # GET /api/v1/referrals/{id}
    assert (view["referral"]["arrival"], view["referral"]["state"]) == ("arrived", "in-progress")
    assert [(a["arrival"], a["by_org"]) for a in view["arrivals"]] == [("arrived", "oulu-social")]
    assert "Saapui" in timeline(page(odl, f"/referrals/{r.id}", "fi"))
    assert "Arrived" in timeline(page(odl, f"/referrals/{r.id}", "en"))


def test_a_client_who_did_not_arrive_is_shown_with_the_sessions_missed_then_comes_later(pair, kafka):
    odl, city, _ = pair
    r = accepted(pair)
    tell(kafka, city, r, "not-arrived", missed=3)
    city.consume_until(lambda: copy(city, r.id).arrival == "not-arrived")
    assert copy(city, r.id).status == "accepted"
    assert kinds(city, r.id) == ["incoming", "not-arrived"]   # the city's caseworker follows it up
    at_odl = odl.consume_until(lambda: (c := copy(odl, r.id)).arrival and c)
    assert (at_odl.arrival, at_odl.missed_sessions, at_odl.status) == ("not-arrived", 3, "accepted")
    assert kinds(odl, r.id) == ["not-arrived"]
    assert "Ei saapunut (3 poissaoloa)" in timeline(page(odl, f"/referrals/{r.id}", "fi"))
    assert "Did not arrive (3 missed)" in timeline(page(odl, f"/referrals/{r.id}", "en"))

    tell(kafka, city, r, "arrived", missed=3)                 # the client came after all
    city.consume_until(lambda: copy(city, r.id).status == "in-progress")
    city.publish()
    odl.consume_until(lambda: (c := copy(odl, r.id)).status == "in-progress" and c.arrival == "arrived")
    assert [a.arrival for a in rows(odl, referral_arrival, r.id)] == ["not-arrived", "arrived"]
    assert kinds(odl, r.id) == ["not-arrived", "arrived"]
    shown = timeline(page(odl, f"/referrals/{r.id}", "fi"))
    assert shown.index("Ei saapunut (3 poissaoloa)") < shown.index("Saapui")   # both, in time order


def test_an_arrival_at_an_unanswered_referral_asks_the_receivers_caseworker_to_answer(pair, kafka):
    _, city, _ = pair
    r = referred(pair)
    tell(kafka, city, r, "arrived")
    city.consume_until(lambda: copy(city, r.id).arrival == "arrived")
    assert copy(city, r.id).status == "requested"
    assert kinds(city, r.id) == ["incoming", "arrived-unanswered"]
    home = page(city, "/", "fi")
    assert "Asiakas saapui, mutta lähetteeseen ei ole vastattu" in home and f'href="/referrals/{r.id}"' in home


def test_a_redelivered_arrival_changes_nothing_twice(pair, kafka):
    odl, city, _ = pair
    r = accepted(pair)
    member = Adversary("oulu-social", kafka.bootstrap, "attendance")
    topic = city.topic("yhd.attendance")
    event = new_event(source=member.source, type=ARRIVAL, key=str(r.id), data=arrival_data(r, "arrived"),
                      signing_key=member.key, topic=topic)
    for _ in range(2):  # the same record twice, then the same news under a new event id
        bus.send(kafka.bootstrap, topic, str(r.id).encode(), event.data_bytes, event.headers())
    last = tell(kafka, city, r, "arrived")
    city.consume_until(lambda: consumed(city, *last))
    city.publish()
    odl.consume_until(lambda: consumed(odl, *last) and copy(odl, r.id).status == "in-progress")
    assert [s.to_state for s in rows(city, referral_history, r.id)] == ["requested", "accepted", "in-progress"]
    assert len(staged_changes(city, r.id)) == 1
    for inst in (city, odl):
        assert len(rows(inst, referral_arrival, r.id)) == 1, inst.ctx.settings.org_id
    assert kinds(odl, r.id) == ["arrived"]


# -- who may tell it ---------------------------------------------------------------------
def unchanged(inst, r) -> bool:
    held = copy(inst, r.id)
    return held.arrival is None and held.status == "accepted" and not rows(inst, referral_arrival, r.id)


def test_a_third_member_telling_the_arrival_is_parked_at_both_parties(pair, kafka):
    """The parish signs an arrival of ODL's referral to the city: as itself the receiver (the only way its
    signature holds), and naming the city (which the envelope check refuses)."""
    odl, city, _ = pair
    r = accepted(pair)
    claimed = tell(kafka, city, r, "arrived", org="oulu-parish")
    for inst, why in ((odl, "oulu-parish is not the other party"), (city, "but it is odl -> oulu-social")):
        dead = inst.consume_until(lambda: parked(inst, *claimed))
        assert dead["dlt_reason"] == "Rejected" and why in dead["dlt_error"], (inst.ctx.settings.org_id, dead)
    topic = city.topic("yhd.attendance")
    forged = (topic, *Adversary("oulu-parish", kafka.bootstrap, "attendance").send(
        topic, ARRIVAL, str(r.id), arrival_data(r, "arrived")))
    for inst in (odl, city):
        dead = inst.consume_until(lambda: parked(inst, *forged))
        assert dead["dlt_reason"] == "EnvelopeError" and "produced by 'oulu-parish'" in dead["dlt_error"]
        assert unchanged(inst, r)


def test_the_sender_cannot_say_its_client_arrived(pair, kafka):
    odl, city, _ = pair
    r = accepted(pair)
    claimed = tell(kafka, city, r, "arrived", org="odl")
    for inst, why in ((odl, "which odl sent"), (city, "but it is odl -> oulu-social")):
        dead = inst.consume_until(lambda: parked(inst, *claimed))
        assert dead["dlt_reason"] == "Rejected" and why in dead["dlt_error"], (inst.ctx.settings.org_id, dead)
        assert unchanged(inst, r)


def test_only_the_receivers_attendance_tells_the_arrival(pair, kafka):
    """The city's own key, but its referrals service as the source: refused at the city, and at ODL."""
    odl, city, _ = pair
    r = accepted(pair)
    wrong = tell(kafka, city, r, "arrived", service="referrals")
    for inst in (city, odl):
        dead = inst.consume_until(lambda: parked(inst, *wrong))
        assert dead["dlt_reason"] == "Rejected" and "only its attendance tells it" in dead["dlt_error"]
        assert unchanged(inst, r)
    with city.ctx.engine.connect() as c:
        assert c.execute(select(func.count()).select_from(referral_history)
                         .where(referral_history.c.referral_id == r.id)).scalar() == 2
