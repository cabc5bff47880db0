"""Publishing through the catalogue API: lifecycle, events, validation, and no cross-organisation edits.

Each organisation's instance has its own database; the federation directory
of the other instance is fed by its consumer from the real broker.
"""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, text

from services import catalogue
from services.catalogue.app import create_app
from services.catalogue.tables import directory_opening, directory_service
from services.kernel.auth import new_token, upsert_user
from services.kernel.tables import outbox
from tests.support.catalogue import catalogue_key

pytestmark = pytest.mark.integration
ROLES = ("caseworker", "manager", "registrar", "admin")
HELMI = {"name": {"fi": "HELMI-kahvila", "en": "HELMI café"},
         "address": {"street": "Isokatu 47", "postal_code": "90100", "city": "Oulu"},
         "area": "oulu-keskusta", "latitude": 65.0118, "longitude": 25.4720}
DROP_IN = {"name": {"fi": "Yhdistämön kohtaamispaikka"}, "categories": ["drop-in"], "areas": ["oulu-keskusta"],
           "min_age": 15, "max_age": 35, "free": True, "referral_required": False,
           "opening_hours": [{"days": ["MO"], "opens_at": "13:00", "closes_at": "17:00"}]}


class Org:
    def __init__(self, inst):
        self.inst = inst
        self.client = create_app(inst.ctx.settings).test_client()
        self.tokens = {}
        with inst.ctx.engine.begin() as conn:
            for role in ROLES:
                self.tokens[role] = new_token()
                upsert_user(conn, f"{role}@{inst.ctx.settings.org_id}", role, self.tokens[role])

    def call(self, method, path, role="manager", token=None, **kw):
        headers = {"Authorization": f"Bearer {token or self.tokens[role]}"}
        return getattr(self.client, method)(path, headers=headers, **kw)

    def events(self, service_id) -> list[dict]:
        """The catalogue events the organisation staged about its service (key `<organization id>/<service id>`)."""
        key = catalogue_key(self.inst.ctx.settings.org_id, service_id)
        with self.inst.ctx.engine.connect() as c:
            rows = c.execute(select(outbox.c.event_type, outbox.c.value).where(outbox.c.key == key)
                             .order_by(outbox.c.seq)).all()
        import json
        return [{"type": r.event_type, "data": json.loads(bytes(r.value))} for r in rows]

    def directory(self, service_id):
        with self.inst.ctx.engine.connect() as c:
            return c.execute(select(directory_service).where(directory_service.c.service_id == service_id)).first()


@pytest.fixture
def orgs(instance):
    return Org(instance(catalogue.DEFINITION, "odl")), Org(instance(catalogue.DEFINITION, "oulu-parish"))


def problem(r, status):
    assert r.status_code == status, r.get_json()
    assert r.headers["Content-Type"].startswith("application/problem+json")
    return r.get_json()


def test_a_service_goes_through_its_lifecycle_and_each_public_change_is_an_event(orgs):
    odl, parish = orgs
    loc = odl.call("post", "/api/v1/locations", json=HELMI)
    assert loc.status_code == 201, loc.get_json()
    loc_id = loc.get_json()["id"]
    r = odl.call("post", "/api/v1/services", json={**DROP_IN, "location_ids": [loc_id], "status": "draft"})
    assert r.status_code == 201, r.get_json()
    sid = r.get_json()["id"]
    assert r.get_json()["status"] == "draft" and odl.events(sid) == []  # a draft is not announced

    assert odl.call("post", f"/api/v1/services/{sid}/publish").get_json()["status"] == "active"
    changed = {**DROP_IN, "location_ids": [loc_id], "description": {"fi": "Ei ajanvarausta."}}
    assert odl.call("put", f"/api/v1/services/{sid}", json=changed).get_json()["version"] == 3
    closed = odl.call("post", f"/api/v1/services/{sid}/close", json={"reason": {"fi": "Remontti"}})
    assert closed.get_json()["status"] == "temporarily-closed"
    problem(odl.call("post", f"/api/v1/services/{sid}/close"), 409)  # illegal: already closed
    odl.call("post", f"/api/v1/services/{sid}/reopen")
    odl.call("post", f"/api/v1/services/{sid}/withdraw")
    problem(odl.call("put", f"/api/v1/services/{sid}", json=changed), 409)

    events = odl.events(sid)
    assert [(e["type"], e["data"].get("status"), e["data"]["version"]) for e in events] == [
        ("fi.yhdistamo.catalogue.service-published.v2", "active", 2),
        ("fi.yhdistamo.catalogue.service-published.v2", "active", 3),
        ("fi.yhdistamo.catalogue.service-published.v2", "temporarily-closed", 4),
        ("fi.yhdistamo.catalogue.service-published.v2", "active", 5),
        ("fi.yhdistamo.catalogue.service-withdrawn.v1", None, 6)]
    assert events[1]["data"]["locations"][0]["address"]["street"] == "Isokatu 47"
    assert events[2]["data"]["closed_reason"] == {"fi": "Remontti"}
    # a draft withdrawn before it was ever published was nobody else's business: no event
    draft = odl.call("post", "/api/v1/services", json={**DROP_IN, "status": "draft"}).get_json()["id"]
    assert odl.call("post", f"/api/v1/services/{draft}/withdraw").get_json()["status"] == "withdrawn"
    assert odl.events(draft) == []


def test_published_services_reach_another_instance_with_hours_and_withdrawal_removes_them(orgs):
    odl, parish = orgs
    loc_id = odl.call("post", "/api/v1/locations", json=HELMI).get_json()["id"]
    sid = odl.call("post", "/api/v1/services", json={**DROP_IN, "location_ids": [loc_id]}).get_json()["id"]
    odl.inst.publish()
    row = parish.inst.consume_until(lambda: parish.directory(sid))
    assert row.organization_id == "odl" and row.status == "active" and row.name_fi == "Yhdistämön kohtaamispaikka"
    assert row.areas == ["oulu-keskusta"] and row.locations[0]["name"]["fi"] == "HELMI-kahvila"
    with parish.inst.ctx.engine.connect() as c:
        hours = c.execute(select(directory_opening.c.isodow, directory_opening.c.opens_at, directory_opening.c.closes_at)
                          .where(directory_opening.c.service_id == sid)).all()
    assert [(h.isodow, str(h.opens_at), str(h.closes_at)) for h in hours] == [(1, "13:00:00", "17:00:00")]

    # a new address reaches the other instance through a new version of every service given there
    moved = {**HELMI, "address": {**HELMI["address"], "street": "Isokatu 49"}}
    assert odl.call("put", f"/api/v1/locations/{loc_id}", json=moved).status_code == 200
    odl.inst.publish()
    parish.inst.consume_until(lambda: parish.directory(sid).locations[0]["address"]["street"] == "Isokatu 49")

    problem(odl.call("delete", f"/api/v1/locations/{loc_id}"), 409)  # still in use
    odl.call("post", f"/api/v1/services/{sid}/withdraw")
    assert odl.call("delete", f"/api/v1/locations/{loc_id}").status_code == 204
    problem(odl.call("get", f"/api/v1/locations/{loc_id}"), 404)
    odl.inst.publish()
    parish.inst.consume_until(lambda: parish.directory(sid).status == "withdrawn")
    with parish.inst.ctx.engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM directory_opening WHERE service_id = :s"), {"s": sid}).scalar() == 0


def test_impossible_schedules_and_unknown_codes_are_422_and_nothing_is_stored(orgs):
    odl, _ = orgs
    bad = {**DROP_IN, "opening_hours": [{"days": ["MO"], "opens_at": "17:00", "closes_at": "13:00"}],
           "exceptions": [{"starts_on": "2026-12-26", "ends_on": "2026-12-24", "closed": True}]}
    p = problem(odl.call("post", "/api/v1/services", json=bad), 422)
    assert "closes_at" in str(p) and "ends_on" in str(p)
    p = problem(odl.call("post", "/api/v1/services", json={**DROP_IN, "categories": ["horoscopes"]}), 422)
    assert "categories" in str(p)
    problem(odl.call("post", "/api/v1/locations", json={**HELMI, "address": {"street": "Isokatu 47"}}), 422)
    assert odl.call("get", "/api/v1/services").get_json() == []
    with odl.inst.ctx.engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM outbox")).scalar() == 0


def test_another_organisation_cannot_edit_or_link_your_services_and_locations(orgs):
    odl, parish = orgs
    loc_id = odl.call("post", "/api/v1/locations", json=HELMI).get_json()["id"]
    sid = odl.call("post", "/api/v1/services", json={**DROP_IN, "location_ids": [loc_id]}).get_json()["id"]
    odl.inst.publish()
    parish.inst.consume_until(lambda: parish.directory(sid))  # the parish's instance knows it: it is public
    # ... but on the parish's own instance the id is not the parish's: 404 for every write and read
    for method, path, body in [("put", f"/api/v1/services/{sid}", DROP_IN), ("post", f"/api/v1/services/{sid}/close", {}),
                               ("post", f"/api/v1/services/{sid}/withdraw", {}), ("get", f"/api/v1/services/{sid}", None),
                               ("put", f"/api/v1/locations/{loc_id}", HELMI), ("get", f"/api/v1/locations/{loc_id}", None),
                               ("delete", f"/api/v1/locations/{loc_id}", None)]:
        problem(parish.call(method, path, json=body), 404)
    # nor can it hang its service on the foundation's location
    problem(parish.call("post", "/api/v1/services", json={**DROP_IN, "location_ids": [loc_id]}), 404)
    # the parish's credentials mean nothing at the foundation's instance
    problem(odl.call("put", f"/api/v1/services/{sid}", token=parish.tokens["manager"], json=DROP_IN), 401)
    assert odl.call("get", f"/api/v1/services/{sid}").get_json()["version"] == 1


def test_roles_registrar_reads_but_does_not_publish_and_anonymous_is_refused(orgs):
    odl, _ = orgs
    problem(odl.call("post", "/api/v1/services", role="registrar", json=DROP_IN), 403)
    assert odl.call("get", "/api/v1/services", role="registrar").status_code == 200
    problem(odl.client.post("/api/v1/services", json=DROP_IN), 401)
    assert odl.call("post", "/api/v1/services", role="caseworker", json=DROP_IN).status_code == 201
    problem(odl.call("get", f"/api/v1/services/{uuid.uuid4()}"), 404)
    problem(odl.call("get", "/api/v1/services?status=sleeping"), 422)
