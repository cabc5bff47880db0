"""Every read of client data leaves its access-log row, in the read's own transaction (issue 13, item 4).

Two referrals instances (ODL sends, the city receives) on real PostgreSQL and Kafka, each behind its own
Flask app: the API with bearer tokens, the caseworker pages with a session from the login form. Each
route that shows or changes client data is called once and must leave exactly the rows it should in that
instance's database: the actor, the action, one row per person shown (the client at the sender, the
referral at the receiver), the purpose and the result. A role refusal is logged too, and a read whose
row cannot be written answers without the data. Every route of the app is classified, so a new one fails
here until it is.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pytest
from marshmallow import EXCLUDE
from sqlalchemy import func, insert, select, text, update

from services import referrals
from services.kernel.auth import Actor, Role, new_token, upsert_user
from services.kernel.tables import access_log
from services.referrals import service as rs
from services.referrals.audit import ACTIONS, ROUTE_ACTIONS
from services.referrals.schemas import ConsentIn
from services.referrals.tables import notification, referral as referral_t, service_target
from tests.support.instances import make_instance
from tests.support.people import consent_to, synthetic_client

pytestmark = pytest.mark.integration
ODL = Actor("caseworker@odl", "Demo", Role.CASEWORKER, "odl")
CITY = Actor("caseworker@oulu-social", "Demo", Role.CASEWORKER, "oulu-social")
PASSWORD = "lukuloki-testi"
ROLES = ("caseworker", "manager", "registrar")
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

# Routes that show no client data, and why: they write no access-log row.
NO_CLIENT_DATA = {
    "referrals.targets": "the federation's services, no people",
    "pages.login": "the login form",
    "pages.logout": "ends the session",
    "pages.find_report": "the registrar's form asking for a client id; it redirects to pages.client_report",
    "pages.static": "stylesheet", "kit.static": "the page kit's stylesheet",
    "static": "Flask's static folder (empty)", "swagger_static": "Swagger UI's files",
    "healthz": "health checks", "metrics_endpoint": "Prometheus metrics",
    "api-docs.openapi_json": "the OpenAPI document", "api-docs.openapi_swagger_ui": "Swagger UI",
}


@dataclass
class Side:
    """One organisation's referrals instance and its app, with a token and a logged-in page client per role."""
    org: str
    inst: object
    app: object
    tokens: dict = field(default_factory=dict)
    pages: dict = field(default_factory=dict)
    mark: int = 0                 # the newest access-log row before the latest request

    def api(self, role, method, url, purpose=None, **kw):
        self.mark = self.last_log_id()
        headers = {"Authorization": f"Bearer {self.tokens[role]}"}
        if purpose:
            headers["X-Purpose"] = purpose
        return self.app.test_client().open(url, method=method, headers=headers, **kw)

    def page(self, role, method, url, data=None):
        client = self.pages[role]
        self.mark = self.last_log_id()
        if method == "POST":
            data = {**(data or {}), "csrf_token": csrf(client)}
        return client.open(url, method=method, data=data)

    def last_log_id(self) -> int:
        with self.inst.ctx.engine.connect() as c:
            return c.execute(select(func.coalesce(func.max(access_log.c.id), 0))).scalar_one()

    def rows_after(self, last: int) -> list[tuple]:
        with self.inst.ctx.engine.connect() as c:
            return sorted(((r.username, r.role, r.action, r.subject, r.purpose, r.result) for r in c.execute(
                select(access_log).where(access_log.c.id > last))), key=repr)

    def subject(self, referral_id) -> str:
        """Whom a referral is about in this database: the client at the sender, the referral at the receiver."""
        with self.inst.ctx.engine.connect() as c:
            client_id = c.execute(select(referral_t.c.client_id).where(referral_t.c.id == referral_id)).scalar()
        return f"client:{client_id}" if client_id else f"referral:{referral_id}"


def csrf(client) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)


def log_in(app, username):
    client = app.test_client()
    r = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf(client)})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    return client


def new_client(side_uow, consent=True):
    c = rs.register_client(side_uow, ODL, synthetic_client())
    if consent:
        rs.record_consent(side_uow, ODL, c.id, ConsentIn(unknown=EXCLUDE).load(consent_to("oulu-social")))
    return c


@dataclass
class World:
    odl: Side
    city: Side
    target: uuid.UUID
    client: object                # ODL's client, with a referral the city has received (with her data)
    referral: uuid.UUID
    completed: uuid.UUID          # another of ODL's referrals, completed by the city
    noted: uuid.UUID              # the referral of a notification for the city's manager, in no list
    names: list = field(default_factory=list)   # every client's name and identity code: never in a refusal


@pytest.fixture(scope="module")
def world(pg, kafka, topic_prefix):
    from services.referrals.app import create_app
    sides = {}
    for org in ("odl", "oulu-social"):
        database = pg.create_database(f"reads_{org.replace('-', '_')}_{uuid.uuid4().hex[:6]}")
        inst = make_instance(referrals.DEFINITION, org, database, kafka.bootstrap, topic_prefix)
        side = Side(org, inst, create_app(inst.ctx.settings))
        with inst.ctx.engine.begin() as conn:
            for role in ROLES:
                side.tokens[role] = new_token()
                upsert_user(conn, f"{role}@{org}", role, side.tokens[role], password=PASSWORD)
        side.pages = {role: log_in(side.app, f"{role}@{org}") for role in ROLES}
        sides[org] = side
    odl, city = sides["odl"], sides["oulu-social"]
    target = uuid.uuid4()
    with odl.inst.ctx.engine.begin() as c:
        c.execute(insert(service_target).values(service_id=target, organization_id="oulu-social",
                                                name_fi="Kuntouttava työtoiminta", status="active", version=1))
    client = new_client(odl.inst.ctx.uow)
    sent = rs.send_referral(odl.inst.ctx.uow, ODL, client.id, target, None, "tarvitsee tukea asumiseen")
    done = rs.send_referral(odl.inst.ctx.uow, ODL, new_client(odl.inst.ctx.uow).id, target, None, None)
    odl.inst.publish()
    city.inst.consume_until(lambda: all(rs_exists(city, r.id) for r in (sent, done)))
    for action in ("accept", "complete"):
        rs.act_on_referral(city.inst.ctx.uow, CITY, done.id, action, None, None)
    with city.inst.ctx.engine.begin() as c:   # unanswered for long: escalated to the city's manager
        c.execute(update(referral_t).where(referral_t.c.id == sent.id)
                  .values(received_at=datetime.now(timezone.utc) - timedelta(days=10)))
    assert rs.escalate_unanswered(city.inst.ctx.uow, "oulu-social", 3) == 1
    noted = uuid.uuid4()       # a notification about a referral no list shows: its row comes from the notification
    with city.inst.ctx.engine.begin() as c:
        c.execute(insert(notification).values(role="manager", kind="consent-expired", referral_id=noted))
    with odl.inst.ctx.engine.connect() as c:
        from services.referrals.tables import client as client_t
        names = [v for r in c.execute(select(client_t.c.name, client_t.c.identity_code)) for v in r]
    yield World(odl, city, target, client, sent.id, done.id, noted, names)
    for side in sides.values():
        side.app.extensions["yhd"].dispose()
        side.inst.close()


def rs_exists(side, referral_id) -> bool:
    with side.inst.ctx.engine.connect() as c:
        return c.execute(select(referral_t.c.id).where(referral_t.c.id == referral_id)).first() is not None


# -- the cases: one (or more) per client-data route -----------------------------------------------
# Each returns (side, role, response, expected rows as (action, subject[, result][, purpose])) and may set up
# what it changes first; `reads` are the ones that only read (the failing-log test runs them again).
CASES = {}


def case(endpoint, *, read=False):
    def deco(fn):
        CASES.setdefault(endpoint, []).append((fn, read))
        return fn
    return deco


def ok(r, default):
    """The response's JSON when the read succeeded (else `default`: the failing-log test reuses the cases)."""
    return r.get_json() if r.status_code == 200 else default


def shown_referrals(side, ids) -> list:
    ids = list(dict.fromkeys(ids))
    assert ids, "the read shows nobody: it would prove nothing"
    return [side.subject(i) for i in ids]


def inbox_ids(body) -> list:
    return ([r["id"] for k in ("incoming", "awaiting_answer", "escalated") for r in body[k]]
            + [d["referral"]["id"] for d in body["followups_due"]] + [n["referral_id"] for n in body["notifications"]])


def page_ids(resp, kind) -> list:
    return re.findall(rf'href="/{kind}/({UUID})', resp.get_data(as_text=True))


@case("referrals.list_clients", read=True)
def api_client_list(w):
    r = w.odl.api("caseworker", "GET", "/api/v1/clients")
    return w.odl, "caseworker", r, [("client.list", f"client:{c['id']}") for c in ok(r, [])] or None


@case("referrals.list_clients", read=True)
def api_client_search_finding_nobody(w):
    r = w.odl.api("caseworker", "GET", "/api/v1/clients?search=Ketäänei")
    assert ok(r, []) == []
    return w.odl, "caseworker", r, [("client.list", None)]


@case("referrals.get_client", read=True)
def api_client(w):
    r = w.odl.api("manager", "GET", f"/api/v1/clients/{w.client.id}", purpose="asiakkaan palvelutarve")
    return w.odl, "manager", r, [("client.read", f"client:{w.client.id}", "ok", "asiakkaan palvelutarve")]


@case("referrals.list_consents", read=True)
def api_consents(w):
    r = w.odl.api("caseworker", "GET", f"/api/v1/clients/{w.client.id}/consents")
    return w.odl, "caseworker", r, [("consent.list", f"client:{w.client.id}")]


@case("referrals.data_report", read=True)
def api_data_report(w):
    r = w.odl.api("registrar", "GET", f"/api/v1/clients/{w.client.id}/data-report")
    return w.odl, "registrar", r, [("client.report", f"client:{w.client.id}")]


@case("referrals.list_referrals", read=True)
def api_referral_list_sender(w):
    r = w.odl.api("caseworker", "GET", "/api/v1/referrals")
    ids = [i["id"] for i in ok(r, {}).get("items", [])]
    return w.odl, "caseworker", r, [("referral.list", s) for s in shown_referrals(w.odl, ids)] if ids else None


@case("referrals.list_referrals", read=True)
def api_referral_list_receiver(w):
    r = w.city.api("caseworker", "GET", "/api/v1/referrals?box=incoming")
    ids = [i["id"] for i in ok(r, {}).get("items", [])]
    return w.city, "caseworker", r, [("referral.list", f"referral:{i}") for i in ids] if ids else None


@case("referrals.get_referral", read=True)
def api_referral_sender(w):
    r = w.odl.api("caseworker", "GET", f"/api/v1/referrals/{w.referral}")
    return w.odl, "caseworker", r, [("referral.read", f"client:{w.client.id}")]


@case("referrals.get_referral", read=True)
def api_referral_receiver_with_her_data(w):
    r = w.city.api("caseworker", "GET", f"/api/v1/referrals/{w.referral}")
    if r.status_code == 200:
        assert r.get_json()["personal"]["name"] == w.client.name
    return w.city, "caseworker", r, [("referral.read", f"referral:{w.referral}")]


@case("referrals.referral_history", read=True)
def api_history_sender(w):
    r = w.odl.api("caseworker", "GET", f"/api/v1/referrals/{w.referral}/history")
    return w.odl, "caseworker", r, [("referral.history.read", f"client:{w.client.id}")]


@case("referrals.referral_history", read=True)
def api_history_receiver(w):
    r = w.city.api("manager", "GET", f"/api/v1/referrals/{w.referral}/history")
    return w.city, "manager", r, [("referral.history.read", f"referral:{w.referral}")]


@case("referrals.inbox", read=True)
def api_inbox_sender(w):
    r = w.odl.api("caseworker", "GET", "/api/v1/inbox")
    ids = inbox_ids(ok(r, {})) if r.status_code == 200 else []
    return w.odl, "caseworker", r, [("inbox.read", s) for s in shown_referrals(w.odl, ids)] if ids else None


@case("referrals.inbox", read=True)
def api_inbox_receiver_manager(w):
    r = w.city.api("manager", "GET", "/api/v1/inbox")
    if r.status_code != 200:
        return w.city, "manager", r, None
    body = r.get_json()
    assert {n["referral_id"] for n in body["notifications"]} == {str(w.referral), str(w.noted)}   # escalated
    assert {d["referral"]["id"] for d in body["followups_due"]} <= {str(w.completed)}
    return w.city, "manager", r, [("inbox.read", f"referral:{i}") for i in dict.fromkeys(inbox_ids(body))]


@case("referrals.register_client")
def api_register(w):
    r = w.odl.api("caseworker", "POST", "/api/v1/clients", json=synthetic_client())
    return w.odl, "caseworker", r, [("client.create", f"client:{r.get_json()['id']}")]


@case("referrals.record_consent")
def api_record_consent(w):
    c = new_client(w.odl.inst.ctx.uow, consent=False)
    r = w.odl.api("caseworker", "POST", f"/api/v1/clients/{c.id}/consents", json=consent_to("oulu-social"))
    return w.odl, "caseworker", r, [("consent.record", f"client:{c.id}")]


@case("referrals.withdraw_consent")
def api_withdraw_consent(w):
    c = new_client(w.odl.inst.ctx.uow)
    consent = rs.get_client(w.odl.inst.ctx.uow, ODL, c.id)[1][0]
    r = w.odl.api("caseworker", "POST", f"/api/v1/clients/{c.id}/consents/{consent.id}/withdraw")
    return w.odl, "caseworker", r, [("consent.withdraw", f"client:{c.id}")]


@case("referrals.send")
def api_send(w):
    c = new_client(w.odl.inst.ctx.uow)
    r = w.odl.api("caseworker", "POST", "/api/v1/referrals", json={"client_id": str(c.id),
                                                                   "service_id": str(w.target)})
    return w.odl, "caseworker", r, [("referral.send", f"client:{c.id}")]


@case("referrals.act")
def api_cancel(w):
    c = new_client(w.odl.inst.ctx.uow)
    sent = rs.send_referral(w.odl.inst.ctx.uow, ODL, c.id, w.target, None, None)
    r = w.odl.api("caseworker", "POST", f"/api/v1/referrals/{sent.id}/cancel", json={"reason_code": "sent-in-error"})
    return w.odl, "caseworker", r, [("referral.cancel", f"client:{c.id}")]


@case("referrals.record_outcome")
def api_outcome(w):
    r = w.city.api("caseworker", "POST", f"/api/v1/referrals/{w.completed}/outcomes",
                   json={"point": "completion", "outcome": "studies"})
    return w.city, "caseworker", r, [("referral.outcome", f"referral:{w.completed}")]


@case("pages.home", read=True)
def page_inbox(w):
    r = w.odl.page("caseworker", "GET", "/")
    ids = page_ids(r, "referrals")
    return w.odl, "caseworker", r, [("page.inbox.view", s) for s in shown_referrals(w.odl, ids)] if ids else None


@case("pages.home", read=True)
def page_inbox_receiver(w):
    r = w.city.page("manager", "GET", "/")
    ids = page_ids(r, "referrals")
    return w.city, "manager", r, [("page.inbox.view", f"referral:{i}") for i in dict.fromkeys(ids)] or None


@case("pages.clients", read=True)
def page_client_list(w):
    r = w.odl.page("caseworker", "GET", "/clients")
    ids = list(dict.fromkeys(i for i in page_ids(r, "clients")))
    return w.odl, "caseworker", r, [("page.clients.list", f"client:{i}") for i in ids] or None


@case("pages.client", read=True)
def page_client(w):
    r = w.odl.page("caseworker", "GET", f"/clients/{w.client.id}")
    if r.status_code == 200:
        html = r.get_data(as_text=True)
        assert w.client.identity_code in html and w.client.pathway_key not in html
        assert "Kuka on käsitellyt tietoja" in html and "Asiakkaan sivu avattu" in html   # this very read
    return w.odl, "caseworker", r, [("page.client.view", f"client:{w.client.id}")]


@case("pages.new_referral", read=True)
def page_new_referral(w):
    r = w.odl.page("caseworker", "GET", f"/referrals/new?client={w.client.id}")
    return w.odl, "caseworker", r, [("page.referral.new", f"client:{w.client.id}")]


@case("pages.referrals", read=True)
def page_referral_list(w):
    r = w.odl.page("manager", "GET", "/referrals")
    ids = page_ids(r, "referrals")
    return w.odl, "manager", r, [("page.referrals.list", s) for s in shown_referrals(w.odl, ids)] if ids else None


@case("pages.referral", read=True)
def page_referral_receiver(w):
    r = w.city.page("caseworker", "GET", f"/referrals/{w.referral}")
    if r.status_code == 200:
        html = r.get_data(as_text=True)
        assert w.client.name in html and "tarvitsee tukea asumiseen" in html
        assert "Lähetteen sivu avattu" in html and "caseworker@oulu-social" in html
    return w.city, "caseworker", r, [("page.referral.view", f"referral:{w.referral}")]


@case("pages.client_report", read=True)
def page_report(w):
    r = w.odl.page("registrar", "GET", f"/clients/{w.client.id}/report")
    return w.odl, "registrar", r, [("page.client.report", f"client:{w.client.id}")]


@case("pages.new_client")
def page_register(w):
    r = w.odl.page("caseworker", "POST", "/clients/new", synthetic_client())
    new_id = re.search(rf"/clients/({UUID})", r.headers.get("Location", "")).group(1)
    return w.odl, "caseworker", r, [("client.create", f"client:{new_id}")]


def consent_form() -> dict:
    today = datetime.now(timezone.utc).date()
    return {"recipient_org": "oulu-social", "categories": ["identity", "contact"], "decision": "granted",
            "purpose": "referral", "method": "in-person", "valid_from": (today - timedelta(days=1)).isoformat(),
            "valid_until": (today + timedelta(days=90)).isoformat()}


@case("pages.record_consent")
def page_record_consent(w):
    c = new_client(w.odl.inst.ctx.uow, consent=False)
    r = w.odl.page("caseworker", "POST", f"/clients/{c.id}/consents", consent_form())
    return w.odl, "caseworker", r, [("consent.record", f"client:{c.id}")]


@case("pages.withdraw_consent")
def page_withdraw_consent(w):
    c = new_client(w.odl.inst.ctx.uow)
    consent = rs.get_client(w.odl.inst.ctx.uow, ODL, c.id)[1][0]
    r = w.odl.page("caseworker", "POST", f"/clients/{c.id}/consents/{consent.id}/withdraw")
    return w.odl, "caseworker", r, [("consent.withdraw", f"client:{c.id}")]


@case("pages.act")
def page_cancel(w):
    c = new_client(w.odl.inst.ctx.uow)
    sent = rs.send_referral(w.odl.inst.ctx.uow, ODL, c.id, w.target, None, None)
    r = w.odl.page("caseworker", "POST", f"/referrals/{sent.id}/cancel", {"reason_code": "sent-in-error"})
    return w.odl, "caseworker", r, [("referral.cancel", f"client:{c.id}")]


@case("pages.record_outcome")
def page_outcome(w):
    r = w.city.page("caseworker", "POST", f"/referrals/{w.completed}/outcomes",
                    {"point": "follow-up-3m", "outcome": "work-part-time"})
    return w.city, "caseworker", r, [("referral.outcome", f"referral:{w.completed}")]


ALL_CASES = [(endpoint, fn, read) for endpoint, fns in CASES.items() for fn, read in fns]


def expected_rows(side, role, expected) -> list[tuple]:
    """(action, subject[, result[, purpose]]) as rows; by default allowed, for casework."""
    rows = []
    for e in expected:
        action, subject, result, purpose = [*e, "ok", "casework"][:4] if len(e) == 2 else [*e, "casework"][:4]
        rows.append((f"{role}@{side.org}", role, action, subject, purpose, result))
    return sorted(rows, key=repr)


@pytest.fixture(scope="module")
def openapi(world) -> dict:
    return world.odl.app.test_client().get("/openapi.json").get_json()


def assert_true_to_openapi(app, spec, resp):
    """An API answer is what the instance's own OpenAPI document says it is (JSON Schema 2020-12)."""
    import jsonschema
    rule, _ = app.url_map.bind("localhost").match(resp.request.path, method=resp.request.method, return_rule=True)
    path = re.sub(r"<(?:[a-z]+(?:\([^)]*\))?:)?([a-z_]+)>", r"{\1}", rule.rule)
    declared = spec["paths"][path][resp.request.method.lower()]["responses"][str(resp.status_code)]
    schema = declared["content"]["application/json"]["schema"]
    jsonschema.Draft202012Validator({**schema, "components": spec["components"]}).validate(resp.get_json())


@pytest.mark.parametrize("endpoint,fn", [(e, f) for e, f, _ in ALL_CASES], ids=[f.__name__ for _, f, _ in ALL_CASES])
def test_a_client_data_route_leaves_exactly_its_access_log_rows(world, openapi, endpoint, fn):
    marks = {side.org: side.last_log_id() for side in (world.odl, world.city)}
    side, role, resp, expected = fn(world)
    assert resp.status_code in (200, 201, 302), (resp.status_code, resp.get_data(as_text=True)[:500])
    assert expected, "the read showed nobody: add what it should show to the world"
    assert side.rows_after(side.mark) == expected_rows(side, role, expected)
    other = world.city if side is world.odl else world.odl
    assert other.rows_after(marks[other.org]) == []
    assert {e[0] for e in expected} <= ACTIONS
    if endpoint.startswith("referrals."):
        assert_true_to_openapi(side.app, openapi, resp)


# -- the routes, classified ---------------------------------------------------------------------------
def test_every_route_of_the_referrals_app_is_classified_and_every_client_data_route_is_tested(world):
    endpoints = {rule.endpoint for rule in world.odl.app.url_map.iter_rules()}
    unclassified = endpoints - set(ROUTE_ACTIONS) - set(NO_CLIENT_DATA)
    assert unclassified == set(), "a new route: list it in audit.ROUTE_ACTIONS (and log its reads) or NO_CLIENT_DATA"
    assert set(NO_CLIENT_DATA) - endpoints == set(), "NO_CLIENT_DATA names a route that no longer exists"
    assert set(ROUTE_ACTIONS) - endpoints == set(), "audit.ROUTE_ACTIONS names a route that no longer exists"
    assert set(ROUTE_ACTIONS) <= set(CASES), "a client-data route without a case above"


def test_every_logged_action_has_its_text_in_finnish_swedish_and_english():
    from services.referrals.web.common import CATALOGUE
    actions = {a.format(action=x) for a in ROUTE_ACTIONS.values()
               for x in ("accept", "reject", "start", "hold", "complete", "fail", "cancel")}
    assert actions <= ACTIONS
    assert [a for a in sorted(ACTIONS) if any(not CATALOGUE.messages.get(f"access-action.{a}", {}).get(lang)
                                              for lang in ("fi", "sv", "en"))] == []


# -- refusals by role -----------------------------------------------------------------------------------
def refused_calls(world):
    """(endpoint, method, url, subject) of every client-data route, with the ids of ODL's world."""
    from flask import url_for
    ids = {"client_id": world.client.id, "referral_id": world.referral, "action": "accept",
           "consent_id": uuid.uuid4()}
    for rule in world.odl.app.url_map.iter_rules():
        if rule.endpoint not in ROUTE_ACTIONS or rule.endpoint == "pages.home":   # home: every role's front page
            continue
        with world.odl.app.test_request_context():
            url = url_for(rule.endpoint, **{a: ids[a] for a in rule.arguments})
        if rule.endpoint == "pages.new_referral":
            url += f"?client={world.client.id}"
        subject = (f"client:{world.client.id}" if "client_id" in rule.arguments or "?client=" in url else
                   f"referral:{world.referral}" if "referral_id" in rule.arguments else None)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, url, subject


def test_every_client_data_route_logs_a_refusal_by_role(world):
    wrong = []
    for endpoint, method, url, subject in refused_calls(world):
        role = "caseworker" if endpoint in ("referrals.data_report", "pages.client_report") else "registrar"
        if endpoint.startswith("referrals."):
            r = world.odl.api(role, method, url, json={} if method == "POST" else None)
        else:
            r = world.odl.page(role, method, url, {} if method == "POST" else None)
        action = ROUTE_ACTIONS[endpoint].format(action="accept")
        want = [(f"{role}@odl", role, action, subject, "casework", "forbidden")]
        if r.status_code != 403 or world.odl.rows_after(world.odl.mark) != want:
            wrong.append((method, url, r.status_code, world.odl.rows_after(world.odl.mark)))
        assert not any(n in r.get_data(as_text=True) for n in world.names), (method, url)
    assert wrong == []


# -- no log, no data ------------------------------------------------------------------------------------
@pytest.fixture
def access_log_refuses_rows(world):
    """Both databases refuse every new access-log row (as a full disk or a revoked grant would)."""
    sql = ("CREATE FUNCTION no_log() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
           "RAISE EXCEPTION 'access log unavailable'; END $$; "
           "CREATE TRIGGER no_log BEFORE INSERT ON access_log FOR EACH ROW EXECUTE FUNCTION no_log()")
    for side in (world.odl, world.city):
        with side.inst.ctx.engine.begin() as c:
            c.execute(text(sql))
    yield
    for side in (world.odl, world.city):
        with side.inst.ctx.engine.begin() as c:
            c.execute(text("DROP TRIGGER no_log ON access_log; DROP FUNCTION no_log()"))


@pytest.mark.parametrize("fn", [f for _, f, read in ALL_CASES if read], ids=[f.__name__ for _, f, r in ALL_CASES if r])
def test_a_read_whose_log_row_cannot_be_written_returns_no_data(world, access_log_refuses_rows, fn):
    side, _, resp, _ = fn(world)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 500, (resp.status_code, body[:300])
    assert [n for n in world.names if n in body] == []
    assert "tarvitsee tukea" not in body and "Kuntouttava" not in body     # the note, the service's name


def test_registering_someone_already_a_client_is_a_logged_lookup(world):
    """The 409 says that this person is a client here, and which: a lookup by identity code, logged though
    the registration is refused."""
    person = synthetic_client()
    first = world.odl.api("caseworker", "POST", "/api/v1/clients", json=person).get_json()
    mark = world.odl.last_log_id()
    r = world.odl.api("manager", "POST", "/api/v1/clients", json=person)
    assert r.status_code == 409 and r.get_json()["client_id"] == first["id"]
    assert world.odl.rows_after(mark) == expected_rows(world.odl, "manager", [
        ("client.create", f"client:{first['id']}", "client-exists")])
