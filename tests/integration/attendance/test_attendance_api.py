"""The attendance API on a real database: every kind, the tally that never counts a tap twice, groups and their
sessions, intensity, measures, the loop's events, the access log, and who may do what."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from services.attendance.tables import incoming_referral
from services.kernel.tables import access_log, outbox

HOUR_AGO = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()


def days_ago(n: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(days=n)).isoformat()


def events(org, type_suffix: str) -> list[dict]:
    import json
    eng = org.engine()
    with eng.connect() as c:
        rows = c.execute(select(outbox.c.value).where(outbox.c.event_type.like(f"%{type_suffix}%"))
                         .order_by(outbox.c.seq)).scalars().all()
    eng.dispose()
    return [json.loads(bytes(v)) for v in rows]


def logged(org, subject: str) -> list[tuple]:
    eng = org.engine()
    with eng.connect() as c:
        rows = c.execute(select(access_log.c.username, access_log.c.action, access_log.c.result)
                         .where(access_log.c.subject == subject).order_by(access_log.c.id)).all()
    eng.dispose()
    return [tuple(r) for r in rows]


# -- the tally -------------------------------------------------------------------------------------------
def test_a_tap_repeated_after_a_dropped_connection_is_counted_once(odl):
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"kind": "drop-in", "occurred_at": HOUR_AGO, "age_band": "18-24", "service_id": str(odl.service_id)}
    first = odl.call("POST", "/api/v1/encounters", json=body, headers=key)
    again = odl.call("POST", "/api/v1/encounters", json=body, headers=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json()["id"] == again.get_json()["id"]
    tally = odl.ok("GET", "/api/v1/tally")
    assert tally["total"] == 1 and tally["by_age_band"] == {"18-24": 1}
    assert len(events(odl, "encounter-recorded.v2")) == 1


def test_the_last_tap_can_be_undone_and_reporting_is_told(odl):
    tap = odl.ok("POST", "/api/v1/encounters", json={"kind": "drop-in", "occurred_at": HOUR_AGO})
    assert odl.ok("GET", "/api/v1/tally")["last"]["id"] == tap["id"]
    odl.ok("POST", f"/api/v1/encounters/{tap['id']}/void")
    assert odl.ok("GET", "/api/v1/tally")["total"] == 0
    again = odl.call("POST", f"/api/v1/encounters/{tap['id']}/void")
    assert again.status_code == 409 and again.get_json()["type"].endswith("already-voided")
    assert [e["encounter_id"] for e in events(odl, "encounter-voided")] == [tap["id"]]


def test_only_the_recorder_or_a_manager_undoes_an_entry(odl):
    tap = odl.ok("POST", "/api/v1/encounters", json={"kind": "drop-in", "occurred_at": HOUR_AGO}, role="manager")
    assert odl.call("POST", f"/api/v1/encounters/{tap['id']}/void").status_code == 403
    assert odl.call("POST", f"/api/v1/encounters/{tap['id']}/void", role="manager").status_code == 200


def test_a_bad_idempotency_key_is_a_clear_error(odl):
    r = odl.call("POST", "/api/v1/encounters", json={"kind": "drop-in", "occurred_at": HOUR_AGO},
                 headers={"Idempotency-Key": "x"})
    assert r.status_code == 422 and r.content_type == "application/problem+json"


# -- the kinds -----------------------------------------------------------------------------------------------
def test_a_contact_at_a_one_stop_point_with_its_matters_and_a_new_matter(odl):
    e = odl.ok("POST", "/api/v1/encounters", json={"kind": "contact", "occurred_at": HOUR_AGO, "channel": "on-site",
                                                   "matters": ["work", "housing"], "new_matter": True,
                                                   "service_id": str(odl.service_id), "location_id": str(odl.location_id)})
    assert e["anonymous"] and e["matters"] == ["housing", "work"] and e["new_matter"]
    sent = events(odl, "encounter-recorded.v2")[-1]
    assert sent["matters"] == ["housing", "work"] and sent["location_id"] == str(odl.location_id)


@pytest.mark.parametrize("body, code", [
    ({"kind": "contact", "channel": "phone"}, "matters-required"),
    ({"kind": "contact", "channel": "phone", "matters": ["astrology"]}, "invalid"),
    ({"kind": "guidance", "channel": "video"}, "client-required"),
    ({"kind": "drop-in", "service_id": str(uuid.uuid4())}, "unknown-service"),
    ({"kind": "drop-in", "location_id": str(uuid.uuid4())}, "unknown-location"),
    ({"kind": "aid", "aid_kind": "food", "count": 0}, "invalid"),
    ({"kind": "drop-in", "matters": ["work"]}, "field-not-taken"),
    ({"kind": "network-meeting", "client_id": str(uuid.uuid4()), "partner_orgs": ["no-such-org"]},
     "unknown-organisation"),
])
def test_bad_input_is_a_problem_that_names_what_is_wrong_and_nothing_is_stored(odl, body, code):
    r = odl.call("POST", "/api/v1/encounters", json={"occurred_at": HOUR_AGO, **body})
    assert r.status_code == 422 and r.content_type == "application/problem+json", r.get_json()
    assert r.get_json()["type"].endswith("/" + code)
    assert odl.ok("GET", "/api/v1/encounters")["total"] == 0


def test_guidance_with_a_client_the_organisation_does_not_have_is_404(odl):
    r = odl.call("POST", "/api/v1/encounters", json={"kind": "guidance", "channel": "phone", "occurred_at": HOUR_AGO,
                                                     "client_id": str(uuid.uuid4())})
    assert r.status_code == 404 and r.get_json()["type"].endswith("unknown-client")


def test_guidance_with_a_registered_client_is_logged_and_sealed_for_reporting_only(odl):
    client = odl.clients.add(age_band="25-29", gender="man")
    e = odl.ok("POST", "/api/v1/encounters", json={"kind": "guidance", "channel": "outreach-home", "occurred_at": HOUR_AGO,
                                                   "client_id": str(client), "duration_minutes": 60})
    assert (e["age_band"], e["gender"], e["anonymous"]) == ("25-29", "man", False)
    sent = events(odl, "encounter-recorded.v2")[-1]
    assert str(client) not in repr(sent) and sent["person"] and sent["registered"] is True
    assert ("caseworker@odl", "encounter.record", "ok") in logged(odl, f"client:{client}")
    assert odl.clients.asked[0][0] == "caseworker@odl"  # the directory was asked on the worker's behalf


def test_aid_and_events_for_professionals_are_counts(odl):
    odl.ok("POST", "/api/v1/encounters", json={"kind": "aid", "aid_kind": "food", "count": 14,
                                               "count_unit": "households", "occurred_at": HOUR_AGO})
    odl.ok("POST", "/api/v1/encounters", json={"kind": "professional-event", "format": "webinar", "count": 41,
                                               "occurred_at": HOUR_AGO})
    listed = odl.ok("GET", "/api/v1/encounters?kind=aid")
    assert listed["total"] == 1 and listed["items"][0]["count"] == 14


def test_encounters_are_filtered_by_kind_client_and_time(odl):
    client = odl.clients.add()
    odl.ok("POST", "/api/v1/encounters", json={"kind": "drop-in", "occurred_at": days_ago(10)})
    odl.ok("POST", "/api/v1/encounters", json={"kind": "guidance", "channel": "phone", "occurred_at": days_ago(2),
                                               "client_id": str(client)})
    assert odl.ok("GET", f"/api/v1/encounters?client_id={client}")["total"] == 1
    since = (datetime.now(timezone.utc) - timedelta(days=5)).isoformat().replace("+00:00", "Z")
    assert odl.ok("GET", "/api/v1/encounters", query_string={"since": since})["total"] == 1
    assert odl.ok("GET", "/api/v1/encounters?kind=drop-in")["total"] == 1


# -- groups and sessions --------------------------------------------------------------------------------------
def group_with(odl, n=2):
    g = odl.ok("POST", "/api/v1/groups", json={"service_id": str(odl.service_id), "name": "Tiistain ryhmä",
                                               "starts_on": days_ago(60)[:10], "capacity": 8})
    people = [odl.clients.add(f"Osallistuja {i}") for i in range(n)]
    for p in people:
        odl.ok("POST", f"/api/v1/groups/{g['id']}/participants", json={"client_id": str(p),
                                                                       "enrolled_on": days_ago(50)[:10]})
    return g, people


def test_a_groups_session_takes_a_mark_per_participant_and_guests(odl):
    g, (a, b) = group_with(odl)
    s = odl.ok("POST", f"/api/v1/groups/{g['id']}/sessions", json={"starts_at": days_ago(1), "duration_minutes": 90})
    listed = odl.ok("GET", f"/api/v1/sessions/{s['id']}/attendance")
    assert {m["client_id"] for m in listed["marks"]} == {str(a), str(b)} and all(m["mark"] is None for m in listed["marks"])
    half = odl.call("PUT", f"/api/v1/sessions/{s['id']}/attendance", json={"marks": [{"client_id": str(a), "mark": "attended"}]})
    assert half.status_code == 422 and half.get_json()["type"].endswith("unmarked")
    done = odl.ok("PUT", f"/api/v1/sessions/{s['id']}/attendance", json={"guests": 4, "marks": [
        {"client_id": str(a), "mark": "attended"}, {"client_id": str(b), "mark": "excused", "excuse_reason": "illness"}]})
    assert done["session"]["status"] == "held" and done["session"]["guests"] == 4
    sent = events(odl, "session-recorded")[-1]
    assert (sent["enrolled"], sent["attended"], sent["excused"], sent["guests"]) == (2, 1, 1, 4)
    assert str(a) not in repr(sent)
    assert ("caseworker@odl", "session.attendance", "ok") in logged(odl, f"client:{a}")


def test_a_session_in_the_future_takes_no_attendance_and_a_cancelled_one_none(odl):
    g, (a,) = group_with(odl, 1)
    later = odl.ok("POST", f"/api/v1/groups/{g['id']}/sessions",
                   json={"starts_at": (datetime.now(timezone.utc) + timedelta(days=2)).isoformat()})
    r = odl.call("PUT", f"/api/v1/sessions/{later['id']}/attendance", json={"marks": [{"client_id": str(a), "mark": "attended"}]})
    assert r.status_code == 409 and r.get_json()["type"].endswith("session-not-begun")
    odl.ok("POST", f"/api/v1/sessions/{later['id']}/cancel")
    assert events(odl, "session-recorded")[-1]["status"] == "cancelled"


def test_a_full_group_refuses_one_more(odl):
    g = odl.ok("POST", "/api/v1/groups", json={"service_id": str(odl.service_id), "name": "Pieni",
                                               "starts_on": days_ago(5)[:10], "capacity": 1})
    odl.ok("POST", f"/api/v1/groups/{g['id']}/participants", json={"client_id": str(odl.clients.add())})
    r = odl.call("POST", f"/api/v1/groups/{g['id']}/participants", json={"client_id": str(odl.clients.add())})
    assert r.status_code == 409 and r.get_json()["type"].endswith("group-full")


# -- intensity -----------------------------------------------------------------------------------------------
def test_a_guidance_client_without_contact_for_more_than_a_week_is_listed_with_missed_sessions(odl):
    quiet, weekly = odl.clients.add("Hiljainen"), odl.clients.add("Viikoittainen")
    for who, n in ((quiet, 10), (weekly, 3)):
        odl.ok("POST", "/api/v1/encounters", json={"kind": "guidance", "channel": "in-person", "occurred_at": days_ago(n),
                                                   "client_id": str(who)})
    odl.ok("POST", "/api/v1/encounters", json={"kind": "guidance", "channel": "phone", "status": "missed",
                                               "occurred_at": days_ago(4), "client_id": str(quiet)})
    listed = odl.ok("GET", "/api/v1/guidance/no-contact")
    assert listed["days"] == 7 and [i["client_id"] for i in listed["items"]] == [str(quiet)]
    assert listed["items"][0]["days_without"] == 10 and listed["items"][0]["missed_since"] == 1
    assert odl.ok("GET", "/api/v1/guidance/no-contact?days=14")["items"] == []
    odl.ok("POST", f"/api/v1/clients/{quiet}/guidance/end", json={})
    assert odl.ok("GET", "/api/v1/guidance/no-contact")["items"] == []


# -- measures ------------------------------------------------------------------------------------------------
def test_a_clients_measurements_show_the_change_per_item(odl):
    client = odl.clients.add()
    inst = odl.ok("GET", "/api/v1/instruments")[0]
    key, items = inst["key"], [i["id"] for i in inst["items"]]
    odl.ok("POST", f"/api/v1/clients/{client}/measurements", json={"instrument": key, "point": "baseline",
                                                                     "measured_at": days_ago(60), "scores": {items[0]: 3, items[1]: 5}})
    odl.ok("POST", f"/api/v1/clients/{client}/measurements", json={"instrument": key, "point": "follow-up",
                                                                     "measured_at": days_ago(1), "scores": {items[0]: 7, items[1]: 5}})
    got = odl.ok("GET", f"/api/v1/clients/{client}/measurements")
    assert len(got["measurements"]) == 2 and got["changes"][key][items[0]]["change"] == 4
    sent = events(odl, "measurement-recorded")
    assert [e["point"] for e in sent] == ["baseline", "follow-up"] and all(e["person"] for e in sent)
    off = odl.call("POST", f"/api/v1/clients/{client}/measurements", json={"instrument": key, "point": "follow-up",
                                                                            "measured_at": HOUR_AGO, "scores": {items[0]: 11}})
    assert off.status_code == 422 and off.get_json()["type"].endswith("score-off-scale")
    unknown = odl.call("POST", f"/api/v1/clients/{client}/measurements", json={"instrument": "3x10d.v1",
                                                                                "point": "baseline", "measured_at": HOUR_AGO, "scores": {"a": 1}})
    assert unknown.status_code == 404


def test_a_clients_timeline_has_encounters_sessions_and_measures_and_its_read_is_logged(odl):
    g, (a,) = group_with(odl, 1)
    s = odl.ok("POST", f"/api/v1/groups/{g['id']}/sessions", json={"starts_at": days_ago(3)})
    odl.ok("PUT", f"/api/v1/sessions/{s['id']}/attendance", json={"marks": [{"client_id": str(a), "mark": "attended"}]})
    odl.ok("POST", "/api/v1/encounters", json={"kind": "home-visit", "occurred_at": days_ago(1), "client_id": str(a)})
    t = odl.ok("GET", f"/api/v1/clients/{a}/timeline", role="manager")
    assert [e["kind"] for e in t["encounters"]] == ["home-visit"] and t["sessions"][0]["mark"] == "attended"
    assert ("manager@odl", "client.timeline", "ok") in logged(odl, f"client:{a}")


# -- the loop ------------------------------------------------------------------------------------------------
def incoming(odl, from_org="oulu-social") -> uuid.UUID:
    rid = uuid.uuid4()
    eng = odl.engine()
    with eng.begin() as c:
        c.execute(incoming_referral.insert().values(referral_id=rid, from_org=from_org, service_id=odl.service_id,
                                                    age_band="18-24", requested_at=datetime.now(timezone.utc) - timedelta(days=30),
                                                    status="accepted", updated_at=datetime.now(timezone.utc)))
    eng.dispose()
    return rid


def test_a_referred_clients_first_attended_session_tells_the_sender_arrived(odl):
    rid = incoming(odl)
    g = odl.ok("POST", "/api/v1/groups", json={"service_id": str(odl.service_id), "name": "Ryhmä", "starts_on": days_ago(30)[:10]})
    client = odl.clients.add()
    odl.ok("POST", f"/api/v1/groups/{g['id']}/participants", json={"client_id": str(client), "referral_id": str(rid),
                                                                   "enrolled_on": days_ago(20)[:10]})
    assert odl.ok("GET", "/api/v1/referrals/incoming")[0]["linked_client_id"] == str(client)
    first, second = (odl.ok("POST", f"/api/v1/groups/{g['id']}/sessions", json={"starts_at": days_ago(d)}) for d in (14, 7))
    odl.ok("PUT", f"/api/v1/sessions/{first['id']}/attendance", json={"marks": [{"client_id": str(client), "mark": "attended"}]})
    odl.ok("PUT", f"/api/v1/sessions/{first['id']}/attendance", json={"marks": [{"client_id": str(client), "mark": "attended"}]})
    odl.ok("PUT", f"/api/v1/sessions/{second['id']}/attendance", json={"marks": [{"client_id": str(client), "mark": "attended"}]})
    told = events(odl, "referral-arrival")
    assert [(e["arrival"], e["referral_id"], e["from_org"], e["to_org"]) for e in told] == [
        ("arrived", str(rid), "oulu-social", "odl")]
    assert odl.ok("GET", "/api/v1/referrals/incoming")[0]["arrival"] == "arrived"
    # only the encounter that closed the loop names the referral on the bus; later ones name none
    later = odl.ok("POST", "/api/v1/encounters", json={"kind": "guidance", "channel": "phone", "occurred_at": HOUR_AGO,
                                                       "client_id": str(client)})
    assert later["referral_id"] is None and "referral_id" not in events(odl, "encounter-recorded.v2")[-1]
    assert ("caseworker@odl", "referral.incoming.list", "ok") in logged(odl, f"client:{client}")


def test_an_excused_absence_or_a_session_before_the_referral_is_not_a_no_show(odl):
    rid = incoming(odl)
    client = odl.clients.add()
    odl.ok("POST", f"/api/v1/clients/{client}/referrals", json={"referral_id": str(rid)})
    for d, status in ((40, "missed"), (9, "excused"), (2, "excused")):
        body = {"kind": "guidance", "channel": "in-person", "status": status, "occurred_at": days_ago(d),
                "client_id": str(client)}
        odl.ok("POST", "/api/v1/encounters", json={**body, **({"excuse_reason": "illness"} if status == "excused" else {})})
    assert events(odl, "referral-arrival") == []


def test_missing_the_first_sessions_tells_the_sender_not_arrived_with_the_count(odl):
    rid = incoming(odl)
    client = odl.clients.add()
    odl.ok("POST", f"/api/v1/clients/{client}/referrals", json={"referral_id": str(rid)})
    for d in (9, 2):
        odl.ok("POST", "/api/v1/encounters", json={"kind": "guidance", "channel": "in-person", "status": "missed",
                                                   "occurred_at": days_ago(d), "client_id": str(client)})
    told = events(odl, "referral-arrival")
    assert [(e["arrival"], e["missed"]) for e in told] == [("not-arrived", 2)]
    odl.ok("POST", "/api/v1/encounters", json={"kind": "guidance", "channel": "in-person", "occurred_at": HOUR_AGO,
                                               "client_id": str(client)})
    assert [(e["arrival"], e["missed"]) for e in events(odl, "referral-arrival")] == [("not-arrived", 2), ("arrived", 2)]


def test_a_referral_not_sent_here_cannot_be_linked(odl):
    client = odl.clients.add()
    r = odl.call("POST", f"/api/v1/clients/{client}/referrals", json={"referral_id": str(uuid.uuid4())})
    assert r.status_code == 404


# -- who may do what ------------------------------------------------------------------------------------------
ROUTES = [("POST", "/api/v1/encounters"), ("GET", "/api/v1/encounters"), ("GET", "/api/v1/tally"),
          ("GET", "/api/v1/services"),
          ("POST", "/api/v1/encounters/{id}/void"), ("POST", "/api/v1/groups"), ("GET", "/api/v1/groups"),
          ("GET", "/api/v1/groups/{id}"), ("POST", "/api/v1/groups/{id}/participants"),
          ("POST", "/api/v1/groups/{id}/sessions"), ("GET", "/api/v1/groups/{id}/sessions"),
          ("GET", "/api/v1/sessions/{id}/attendance"), ("PUT", "/api/v1/sessions/{id}/attendance"),
          ("POST", "/api/v1/sessions/{id}/cancel"), ("GET", "/api/v1/referrals/incoming"),
          ("POST", "/api/v1/clients/{id}/referrals"), ("POST", "/api/v1/clients/{id}/guidance"),
          ("POST", "/api/v1/clients/{id}/guidance/end"), ("GET", "/api/v1/guidance/no-contact"),
          ("GET", "/api/v1/clients/{id}/measurements"), ("POST", "/api/v1/clients/{id}/measurements"),
          ("GET", "/api/v1/clients/{id}/timeline")]


def test_every_route_is_in_the_openapi_document(odl):
    paths = odl.ok("GET", "/openapi.json", role=None)["paths"]
    for method, route in ROUTES + [("GET", "/api/v1/instruments")]:
        documented = route.replace("{id}", "{encounter_id}" if "encounters" in route else
                                   "{group_id}" if "groups" in route else "{session_id}" if "sessions" in route
                                   else "{client_id}")
        assert method.lower() in paths.get(documented, {}), documented


@pytest.mark.parametrize("method, route", ROUTES)
def test_a_registrar_is_refused_and_nobody_unauthenticated_gets_in(odl, method, route):
    path = route.replace("{id}", str(uuid.uuid4()))
    assert odl.call(method, path, role="registrar", json={}).status_code == 403
    assert odl.call(method, path, role=None, json={}).status_code == 401


def test_another_organisations_ids_are_404_here(odl, parish):
    g, (a,) = group_with(odl, 1)
    s = odl.ok("POST", f"/api/v1/groups/{g['id']}/sessions", json={"starts_at": days_ago(1)})
    tap = odl.ok("POST", "/api/v1/encounters", json={"kind": "drop-in", "occurred_at": HOUR_AGO})
    for path in (f"/api/v1/groups/{g['id']}", f"/api/v1/sessions/{s['id']}/attendance",
                 f"/api/v1/clients/{a}/timeline", f"/api/v1/clients/{a}/measurements"):
        assert parish.call("GET", path).status_code == 404, path
    assert parish.call("POST", f"/api/v1/encounters/{tap['id']}/void").status_code == 404
    assert parish.call("PUT", f"/api/v1/sessions/{s['id']}/attendance",
                       json={"marks": [{"client_id": str(a), "mark": "attended"}]}).status_code == 404
    assert parish.ok("GET", "/api/v1/encounters")["total"] == 0
