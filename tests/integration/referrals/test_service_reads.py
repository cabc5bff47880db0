"""The client directory between two services of one organisation: attendance reads its organisation's clients
from referrals with its own token (role `service`), acting for a caseworker it names in X-Acting-For. The reads
are logged as that caseworker's, via the service; every other endpoint refuses the service token."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from services.kernel.auth import new_token, upsert_user
from services.kernel.tables import access_log
from tests.integration.referrals.conftest import two_organisations
from tests.integration.referrals.test_authorisation import api_calls
from tests.support.people import synthetic_client

pytestmark = pytest.mark.integration
ROLES = ("caseworker", "manager", "registrar", "admin")
SERVICE = "attendance-service"


class World:
    def __init__(self, app, tokens, ids):
        self.app, self.client, self.tokens, self.ids = app, app.test_client(), tokens, ids
        self.engine = app.extensions["yhd"].engine
        self.service_token = new_token()
        with self.engine.begin() as conn:
            upsert_user(conn, SERVICE, "service", self.service_token)
            upsert_user(conn, "other-service", "service", new_token())
        cw = {"Authorization": f"Bearer {tokens[('odl', 'caseworker')]}"}
        self.clients = [self.client.post("/api/v1/clients", json=synthetic_client(seed, age), headers=cw).get_json()
                        for seed, age in ((101, 17), (102, 27), (103, 33))]
        assert all("id" in c for c in self.clients), self.clients

    def as_service(self, acting_for: str | None = "caseworker@odl", **extra) -> dict:
        headers = {"Authorization": f"Bearer {self.service_token}", **extra}
        if acting_for is not None:
            headers["X-Acting-For"] = acting_for
        return headers

    def last_log_id(self) -> int:
        with self.engine.connect() as c:
            return c.execute(select(access_log.c.id).order_by(access_log.c.id.desc()).limit(1)).scalar() or 0

    def rows_after(self, last: int) -> list:
        with self.engine.connect() as c:
            return list(c.execute(select(access_log).where(access_log.c.id > last).order_by(access_log.c.id)))


@pytest.fixture(scope="module")
def world(pg, kafka):
    apps, tokens, ids = two_organisations(pg, kafka, "svcreads", ROLES)
    return World(apps["odl"], tokens, ids)


def ids_param(*clients) -> str:
    return ",".join(c["id"] for c in clients)


def test_the_service_reads_cards_for_a_caseworker_and_the_log_names_the_caseworker(world):
    wanted = world.clients[:2]
    mark = world.last_log_id()
    r = world.client.get(f"/api/v1/clients?ids={ids_param(*wanted)}",
                         headers=world.as_service(**{"X-Purpose": "attendance"}))
    assert r.status_code == 200, r.get_json()
    cards = {c["id"]: c for c in r.get_json()}
    assert set(cards) == {c["id"] for c in wanted}
    for c in wanted:
        assert cards[c["id"]]["name"] == c["name"] and cards[c["id"]]["gender"] == c["gender"]
    assert cards[wanted[0]["id"]]["age_band"] == "15-17" and cards[wanted[1]["id"]]["age_band"] == "25-29"
    rows = world.rows_after(mark)
    assert sorted((r.username, r.org_id, r.role, r.subject, r.action, r.purpose, r.result) for r in rows) == sorted(
        ("caseworker@odl", "odl", "caseworker", f"client:{c['id']}", "client.list", "attendance (via attendance-service)",
         "ok") for c in wanted)


def test_a_search_through_the_service_is_casework_via_the_service_by_default(world):
    target = world.clients[2]
    mark = world.last_log_id()
    r = world.client.get(f"/api/v1/clients?search={target['name'].split()[0]}", headers=world.as_service("manager@odl"))
    assert r.status_code == 200
    assert target["id"] in {c["id"] for c in r.get_json()}
    rows = world.rows_after(mark)
    assert rows and {(r.username, r.role, r.purpose) for r in rows} == {
        ("manager@odl", "manager", "casework (via attendance-service)")}


def test_a_service_call_without_x_acting_for_is_refused(world):
    mark = world.last_log_id()
    r = world.client.get("/api/v1/clients", headers=world.as_service(None))
    assert r.status_code == 403 and r.mimetype == "application/problem+json"
    assert r.get_json()["type"].endswith("/acting-for-refused")
    assert [(x.username, x.role, x.action, x.result) for x in world.rows_after(mark)] == [
        (SERVICE, "service", "client.list", "acting-for-refused")]


@pytest.mark.parametrize("acting_for", ["nobody@odl", "registrar@odl", "caseworker@oulu-parish", "other-service",
                                        SERVICE, "  "])
def test_a_service_may_act_only_for_a_caseworker_or_manager_of_its_own_organisation(world, acting_for):
    r = world.client.get(f"/api/v1/clients?ids={ids_param(*world.clients)}", headers=world.as_service(acting_for))
    assert r.status_code == 403 and r.mimetype == "application/problem+json"
    assert r.get_json()["type"].endswith("/acting-for-refused")
    assert "Aino" not in r.get_data(as_text=True)


def test_acting_for_an_admin_is_allowed_like_admin_itself(world):
    r = world.client.get(f"/api/v1/clients?ids={world.clients[0]['id']}", headers=world.as_service("admin@odl"))
    assert r.status_code == 200 and len(r.get_json()) == 1


def test_the_service_token_is_refused_on_every_other_endpoint(world):
    wrong = []
    for name, method, url in api_calls(world.app, world.ids):
        if name == "list_clients":
            continue
        r = world.client.open(url, method=method, json={} if method == "POST" else None, headers=world.as_service())
        if r.status_code != 403 or r.mimetype != "application/problem+json":
            wrong.append((method, url, r.status_code))
    for url in ("/", "/clients", f"/clients/{world.clients[0]['id']}"):   # the pages too
        r = world.client.get(url, headers=world.as_service())
        if r.status_code != 403:
            wrong.append(("GET", url, r.status_code))
    assert wrong == []
    assert {"get_client", "register_client", "send", "list_referrals", "inbox", "targets"} <= {
        name for name, _, _ in api_calls(world.app, world.ids)}


def test_another_organisations_service_token_is_not_valid_here(world):
    parish = world.tokens[("oulu-parish", "admin")]
    r = world.client.get("/api/v1/clients", headers={"Authorization": f"Bearer {parish}",
                                                      "X-Acting-For": "caseworker@odl"})
    assert r.status_code == 401


def test_ids_return_only_those_clients_repeated_or_comma_separated(world):
    a, b, c = world.clients
    unknown = str(uuid.uuid4())
    cw = {"Authorization": f"Bearer {world.tokens[('odl', 'caseworker')]}"}
    for query in (f"ids={a['id']},{c['id']},{unknown}", f"ids={a['id']}&ids={c['id']}&ids={unknown}",
                  f"ids={a['id']},{c['id']}&ids={a['id']}"):
        for headers in (cw, world.as_service()):
            mark = world.last_log_id()
            r = world.client.get(f"/api/v1/clients?{query}&per_page=1", headers=headers)
            assert r.status_code == 200, (query, r.get_json())
            assert sorted(x["id"] for x in r.get_json()) == sorted([a["id"], c["id"]]), query
            assert sorted(x.subject for x in world.rows_after(mark)) == sorted([f"client:{a['id']}",
                                                                                f"client:{c['id']}"])
    r = world.client.get(f"/api/v1/clients?ids={a['id']},{b['id']}&search={a['name']}", headers=cw)
    assert r.status_code == 200 and a["id"] in {x["id"] for x in r.get_json()} <= {a["id"], b["id"]}


def test_a_caseworkers_search_works_as_before_and_shows_the_card_fields(world):
    cw = {"Authorization": f"Bearer {world.tokens[('odl', 'caseworker')]}"}
    r = world.client.get("/api/v1/clients?per_page=2&page=1", headers=cw)
    assert r.status_code == 200 and len(r.get_json()) == 2
    assert set(r.get_json()[0]) == {"id", "name", "date_of_birth", "municipality", "age_band", "gender"}


@pytest.mark.parametrize("query", [",".join(str(uuid.uuid4()) for _ in range(201)),
                                   "&ids=".join(str(uuid.uuid4()) for _ in range(201)), "not-a-uuid", ""])
def test_more_than_200_ids_or_a_bad_one_is_422(world, query):
    r = world.client.get(f"/api/v1/clients?ids={query}", headers=world.as_service())
    assert r.status_code == 422 and r.mimetype == "application/problem+json", r.get_data(as_text=True)[:300]
    assert "ids" in r.get_data(as_text=True)


# -- attendance's adapter (services/attendance/directory.py) against this real referrals app ----------------------

class ThroughFlask:
    """A requests.Session-like `get` answered by the referrals app in-process (its test client)."""

    def __init__(self, app, base: str):
        self.client, self.base = app.test_client(), base

    def get(self, url, headers=None, timeout=None):
        assert url.startswith(self.base) and timeout
        r = self.client.get(url[len(self.base):], headers=headers)
        return type("Answer", (), {"status_code": r.status_code, "json": lambda _self: r.get_json()})()


def test_attendances_directory_reads_cards_and_searches_as_the_caseworker(world):
    from services.attendance.directory import ClientDirectory
    d = ClientDirectory("http://odl-referrals:8000", world.service_token,
                        session=ThroughFlask(world.app, "http://odl-referrals:8000"))
    a, b, c = world.clients
    mark = world.last_log_id()
    cards = d.cards([a["id"], c["id"], uuid.uuid4()], acting_for="caseworker@odl", purpose="attendance")
    assert {str(k): (v.name, v.age_band, v.gender) for k, v in cards.items()} == {
        a["id"]: (a["name"], "15-17", a["gender"]), c["id"]: (c["name"], "30-35", c["gender"])}
    found = d.search(b["name"], acting_for="caseworker@odl")
    assert b["id"] in {str(x.id) for x in found}
    rows = world.rows_after(mark)
    assert {(r.username, r.purpose) for r in rows} == {("caseworker@odl", "attendance (via attendance-service)"),
                                                      ("caseworker@odl", "casework (via attendance-service)")}


def test_attendances_directory_explains_a_refused_token_and_a_refused_user(world):
    from services.attendance.directory import ClientDirectory, DirectoryUnavailable
    base = "http://odl-referrals:8000"
    wrong = ClientDirectory(base, new_token(), session=ThroughFlask(world.app, base))
    with pytest.raises(DirectoryUnavailable) as e:
        wrong.cards([world.clients[0]["id"]], acting_for="caseworker@odl")
    assert e.value.code == "directory-token-refused"
    right = ClientDirectory(base, world.service_token, session=ThroughFlask(world.app, base))
    with pytest.raises(DirectoryUnavailable) as e:
        right.cards([world.clients[0]["id"]], acting_for="registrar@odl")
    assert e.value.code == "directory-acting-for-refused"


def test_the_service_cannot_page_through_the_register(world):
    """Attendance fetches the clients it shows or searches for one; a bare list, or a later page of a search,
    through the service token would be a dump of the register under a caseworker's name."""
    bare = world.client.get("/api/v1/clients?per_page=100", headers=world.as_service())
    assert bare.status_code == 422 and bare.get_json()["type"].endswith("search-required")
    blank = world.client.get("/api/v1/clients?search=%20", headers=world.as_service())
    assert blank.status_code == 422
    first = world.client.get(f"/api/v1/clients?search={world.clients[0]['name']}", headers=world.as_service())
    later = world.client.get(f"/api/v1/clients?search={world.clients[0]['name']}&page=5", headers=world.as_service())
    assert first.status_code == later.status_code == 200 and later.get_json() == first.get_json()
