"""The HSDS 3.0 API, export and import on real PostgreSQL and Kafka, checked against the official schemas.

Two organisations' catalogue instances: the foundation (odl) publishes rich
services through the ordinary use cases, the parish's instance learns them
from the broker, and the parish's HSDS API serves the federation's read
model. Every response is validated against HSDS 3.0's compiled JSON schemas
(../shared/hsds-3.0), in Finnish, Swedish and English. Other test modules of
the session publish to the same broker, so the read model may hold more
services than these: counts are taken from the read model or narrowed to
services changed since this module started.
"""
from __future__ import annotations

import csv
import io
import json
import uuid
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from sqlalchemy import func, select

from services import catalogue
from services.catalogue.app import create_app
from services.catalogue.hsds.objects import service_at_location_id
from services.catalogue.profile import PROFILE_URI, organization_uuid, profile
from services.catalogue.publishing import service as use_cases
from services.catalogue.publishing.schemas import LocationIn, ServiceIn
from services.catalogue.tables import directory_service
from services.kernel.auth import Actor, Role, new_token, upsert_user
from services.kernel.tables import outbox
from tests.support.catalogue import catalogue_key
from tests.support.instances import make_instance
from tests.support.parts import SHARED

pytestmark = pytest.mark.integration
HSDS = SHARED / "hsds-3.0"
LANGS = ("fi", "sv", "en")
ODL = Actor("manager@odl", "M", Role.MANAGER, "odl")
PARISH = Actor("manager@oulu-parish", "M", Role.MANAGER, "oulu-parish")
PAGE_FIELDS = {"total_items": int, "total_pages": int, "page_number": int, "size": int, "first_page": bool,
               "last_page": bool, "empty": bool, "contents": list}

HELMI = {"name": {"fi": "HELMI-kahvila", "sv": "HELMI-kaféet", "en": "HELMI café"},
         "description": {"fi": "Olohuone keskustassa"},
         "address": {"street": "Isokatu 47", "postal_code": "90100", "city": "Oulu"}, "area": "oulu-keskusta",
         "latitude": 65.0118, "longitude": 25.472, "accessibility": {"fi": "Esteetön sisäänkäynti pihalta"},
         "transportation": {"fi": "Bussit 3 ja 4"}}
KIIMINKI = {"name": {"fi": "Nuorten tila Kiiminki"},
            "address": {"street": "Kirkkotie 5", "postal_code": "90900", "city": "Kiiminki"}, "area": "kiiminki"}
DROP_IN = {
    "name": {"fi": "Yhdistämön kohtaamispaikka", "sv": "Yhdistämös mötesplats", "en": "Yhdistämö drop-in"},
    "description": {"fi": "Tule juttelemaan ilman ajanvarausta.", "en": "Come and talk, no appointment."},
    "categories": ["drop-in", "peer-support"], "delivery_modes": ["in-person", "digital"],
    "languages": ["fi", "fi-plain", "en"], "areas": ["oulu-keskusta", "kiiminki"], "min_age": 15, "max_age": 29,
    "referral_required": False, "free": True, "url": "https://yhdistamo.example/kohtaamispaikka",
    "email": "kohtaamo@odl.example", "application_process": {"fi": "Tule paikalle."},
    "eligibility": {"fi": "15–29-vuotiaat", "sv": "15–29 år"},
    "phones": [{"number": "+358 40 123 4567", "description": {"fi": "Päivystys", "en": "On call"}}],
    "contacts": [{"name": "Maija Ohjaaja", "title": {"fi": "Nuoriso-ohjaaja", "en": "Youth worker"},
                  "email": "maija@odl.example", "phone": "+358 40 765 4321"}],
    "opening_hours": [{"days": ["MO", "WE"], "opens_at": "13:00", "closes_at": "17:00"}],
    "exceptions": [{"starts_on": "2026-12-24", "ends_on": "2026-12-26", "closed": True,
                    "reason": {"fi": "Joulu", "sv": "Jul", "en": "Christmas"}},
                   {"starts_on": "2026-12-31", "ends_on": "2026-12-31", "closed": False, "opens_at": "10:00",
                    "closes_at": "14:00", "reason": {"fi": "Uudenvuodenaatto"}}],
    "capacity": {"available": 4, "maximum": 12, "waitlist": 2},
}
MONEY = {"name": {"fi": "Talous- ja velkaneuvonta", "sv": "Ekonomi- och skuldrådgivning"},
         "categories": ["financial-advice"], "delivery_modes": ["digital"], "languages": ["fi", "sv"],
         "areas": ["koko-suomi"], "referral_required": True, "free": False,
         "fees": {"fi": "20 € / käynti", "en": "20 € a visit"},
         "opening_hours": [{"days": ["TU", "TH"], "opens_at": "09:00", "closes_at": "24:00",
                            "valid_from": "2026-01-01", "valid_to": "2026-12-31", "notes": {"fi": "Chat"}}]}
FOOD = {"name": {"fi": "Diakonian ruoka-apu"}, "categories": ["food-aid"], "areas": ["tuira"],
        "opening_hours": [{"days": ["TH"], "opens_at": "12:00", "closes_at": "14:00"}]}


# -- schemas ---------------------------------------------------------------------

def _validator(schema: dict) -> Draft202012Validator:
    return Draft202012Validator(schema, format_checker=FormatChecker())


@pytest.fixture(scope="module")
def schemas(shared_dir):
    compiled = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in (HSDS / "compiled").glob("*.json")}
    attribute = compiled["service"]["properties"]["attributes"]["items"]
    term = attribute["properties"]["taxonomy_term"]
    out = {name: _validator(s) for name, s in compiled.items() if name != "tabular"}
    out["taxonomy_term"] = _validator(term)
    out["taxonomy"] = _validator(term["properties"]["taxonomy_detail"])
    out["location"] = _validator(compiled["organization"]["properties"]["locations"]["items"])
    out["tabular"] = compiled["tabular"]
    return out


def valid(validator, obj) -> dict:
    errors = [f"{e.json_path}: {e.message}" for e in validator.iter_errors(obj)]
    assert not errors, errors[:5]
    _uuids_and_times(obj)
    return obj


def _uuids_and_times(obj, key=None):
    """Every id is a UUID and every last_modified an ISO 8601 time (the format checker has no date-time)."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            _uuids_and_times(v, k)
    elif isinstance(obj, list):
        for v in obj:
            _uuids_and_times(v)
    elif key == "id" or (key or "").endswith("_id"):
        uuid.UUID(obj)
    elif key in ("last_modified", "updated"):
        assert datetime.fromisoformat(obj.replace("Z", "+00:00")).tzinfo is not None


def page_of(r, validator) -> dict:
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert set(body) == set(PAGE_FIELDS) and all(isinstance(body[k], t) for k, t in PAGE_FIELDS.items())
    assert body["size"] == len(body["contents"]) and body["empty"] == (body["total_items"] == 0)
    assert body["first_page"] == (body["page_number"] == 1)
    assert body["last_page"] == (body["page_number"] >= body["total_pages"])
    for item in body["contents"]:
        valid(validator, item)
    return body


def problem(r, status) -> dict:
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True)[:500])
    assert r.headers["Content-Type"].startswith("application/problem+json")
    return r.get_json()


# -- the federation --------------------------------------------------------------

@dataclass
class World:
    odl: object
    parish: object
    client: object
    tokens: dict
    start: datetime
    ids: dict

    def get(self, path, **query):
        return self.client.get(path, query_string=query)

    def call(self, method, path, role="manager", **kw):
        return getattr(self.client, method)(path, headers={"Authorization": f"Bearer {self.tokens[role]}"}, **kw)

    def public_count(self) -> int:
        with self.parish.ctx.engine.connect() as c:
            return c.execute(select(func.count()).select_from(directory_service).where(
                directory_service.c.status.in_(("active", "temporarily-closed")))).scalar()


@pytest.fixture(scope="module")
def world(pg, kafka, topic_prefix):
    """One federation for the whole module (the `instance` fixture makes fresh ones per test)."""
    names, made, apps = [], [], []

    def instance(org):
        names.append(f"hsds_{org.replace('-', '_')}_{uuid.uuid4().hex[:8]}")
        made.append(make_instance(catalogue.DEFINITION, org, pg.create_database(names[-1]), kafka.bootstrap,
                                  topic_prefix))
        return made[-1]
    try:
        odl, parish = instance("odl"), instance("oulu-parish")
        start = datetime.now(timezone.utc)
        ids = _seed(odl, parish)
        odl.publish()
        parish.publish()

        def arrived():
            with parish.ctx.engine.connect() as c:
                rows = dict(c.execute(select(directory_service.c.service_id, directory_service.c.status)).all())
            return all(rows.get(ids[k]) == status for k, status in (
                ("drop_in", "active"), ("money", "temporarily-closed"), ("food", "active"), ("gone", "withdrawn")))
        parish.consume_until(arrived)
        apps.append(create_app(parish.ctx.settings))
        client = apps[-1].test_client()
        tokens = {}
        with parish.ctx.engine.begin() as conn:
            for role in ("manager", "caseworker"):
                tokens[role] = new_token()
                upsert_user(conn, f"{role}@oulu-parish", role, tokens[role])
        yield World(odl, parish, client, tokens, start, ids)
    finally:
        for app in apps:
            app.extensions["yhd"].dispose()
        for inst in made:
            inst.close()
        for name in names:
            pg.drop_database(name)


def _seed(odl, parish) -> dict:
    helmi = use_cases.create_location(odl.ctx.uow, ODL, LocationIn().load(HELMI))
    kiiminki = use_cases.create_location(odl.ctx.uow, ODL, LocationIn().load(KIIMINKI))
    friday = {"days": ["FR"], "opens_at": "18:00", "closes_at": "24:00", "location_id": str(helmi.id),
              "notes": {"fi": "Perjantai-illat HELMIssä", "sv": "Fredagskvällar på HELMI"}}
    drop_in = use_cases.create_service(odl.ctx.uow, ODL, ServiceIn().load(
        {**DROP_IN, "location_ids": [str(helmi.id), str(kiiminki.id)],
         "opening_hours": DROP_IN["opening_hours"] + [friday]}), "active")
    money = use_cases.create_service(odl.ctx.uow, ODL, ServiceIn().load(MONEY), "active")
    use_cases.change_status(odl.ctx.uow, ODL, money.id, "close", {"fi": "Remontti", "en": "Renovation"})
    gone = use_cases.create_service(odl.ctx.uow, ODL, ServiceIn().load({**FOOD, "name": {"fi": "Lopetettu"}}))
    use_cases.change_status(odl.ctx.uow, ODL, gone.id, "withdraw")
    draft = use_cases.create_service(odl.ctx.uow, ODL, ServiceIn().load({**FOOD, "name": {"fi": "Luonnos"}}),
                                     "draft")
    church = use_cases.create_location(parish.ctx.uow, PARISH, LocationIn().load(
        {"name": {"fi": "Tuiran kirkko"}, "address": {"street": "Koskikeskuksentie 2", "postal_code": "90500",
                                                       "city": "Oulu"}, "area": "tuira"}))
    food = use_cases.create_service(parish.ctx.uow, PARISH,
                                    ServiceIn().load({**FOOD, "location_ids": [str(church.id)]}))
    return {"drop_in": drop_in.id, "money": money.id, "gone": gone.id, "draft": draft.id, "food": food.id,
            "helmi": str(helmi.id), "kiiminki": str(kiiminki.id), "church": str(church.id)}


def mine(world, **query) -> dict:
    """Query parameters that narrow a listing to this module's services."""
    return {"modified_after": world.start.isoformat(), **query}


# -- the API root and services ---------------------------------------------------

def test_root_names_the_version_the_profile_and_the_openapi(world):
    body = world.get("/hsds/").get_json()
    assert body["version"] == "3.0" and body["profile"] == PROFILE_URI
    assert body["openapi_url"].endswith("/openapi.json")
    assert world.client.get(body["openapi_url"]).status_code == 200
    spec = world.client.get("/openapi.json").get_json()
    assert {"/hsds/services", "/hsds/services/{service_id}", "/hsds/export.zip", "/api/v1/import"} <= set(spec["paths"])


@pytest.mark.parametrize("lang", LANGS)
def test_every_page_shape_of_services_validates_in_each_language(world, schemas, lang):
    listed = page_of(world.get("/hsds/services", lang=lang, per_page=100), schemas["service_list"])
    assert listed["total_items"] == world.public_count()
    full = page_of(world.get("/hsds/services", lang=lang, full="true", **mine(world)), schemas["service"])
    minimal = page_of(world.get("/hsds/services", lang=lang, minimal="true", **mine(world)), schemas["service_list"])
    ids = {world.ids["drop_in"], world.ids["money"], world.ids["food"]}
    assert {uuid.UUID(s["id"]) for s in full["contents"]} == ids == {uuid.UUID(s["id"]) for s in minimal["contents"]}
    assert all(set(s) == {"id", "name", "status", "last_modified"} for s in minimal["contents"])
    everything = {uuid.UUID(s["id"]) for s in listed["contents"]}
    assert ids <= everything and not {world.ids["gone"], world.ids["draft"]} & everything


def test_pages_follow_the_hsds_envelope(world, schemas):
    seen, pages = [], []
    for n in (1, 2, 3, 4):
        body = page_of(world.get("/hsds/services", page=n, per_page=1, **mine(world)), schemas["service_list"])
        pages.append((body["page_number"], body["size"], body["first_page"], body["last_page"]))
        seen += [s["id"] for s in body["contents"]]
        assert body["total_items"] == 3 and body["total_pages"] == 3 and not body["empty"]
    assert pages == [(1, 1, True, False), (2, 1, False, False), (3, 1, False, True), (4, 0, False, True)]
    assert len(set(seen)) == 3
    empty = page_of(world.get("/hsds/services", search="olematonpalveluxyz"), schemas["service_list"])
    assert (empty["total_items"], empty["total_pages"], empty["empty"], empty["last_page"]) == (0, 1, True, True)


@pytest.mark.parametrize("lang", LANGS)
def test_a_fully_nested_service_carries_hours_exceptions_contacts_costs_and_terms(world, schemas, lang):
    s = valid(schemas["service"], world.get(f"/hsds/services/{world.ids['drop_in']}", lang=lang).get_json())
    assert s["name"] == DROP_IN["name"][lang] and s["status"] == "active" and "alert" not in s
    assert s["organization_id"] == str(organization_uuid("odl")) == s["organization"]["id"]
    assert s["minimum_age"] == 15 and s["maximum_age"] == 29
    assert s["eligibility_description"] == DROP_IN["eligibility"].get(lang, DROP_IN["eligibility"]["fi"])
    assert s["description"] == DROP_IN["description"].get(lang, DROP_IN["description"]["fi"])  # Finnish fallback
    weekly = [x for x in s["schedules"] if x.get("freq")]
    assert [(x["byday"], x["opens_at"], x["closes_at"]) for x in weekly] == [("MO,WE", "13:00:00", "17:00:00")]
    closed, special = [x for x in s["schedules"] if not x.get("freq")]
    assert (closed["valid_from"], closed["valid_to"]) == ("2026-12-24", "2026-12-26") and "opens_at" not in closed
    assert closed["description"] == {"fi": "Suljettu: Joulu", "sv": "Stängt: Jul", "en": "Closed: Christmas"}[lang]
    assert (special["valid_from"], special["opens_at"], special["closes_at"]) == ("2026-12-31", "10:00:00", "14:00:00")
    assert special["description"].startswith({"fi": "Poikkeukselliset", "sv": "Avvikande", "en": "Special"}[lang])
    at_helmi = next(x for x in s["service_at_locations"] if x["location_id"] == world.ids["helmi"])
    assert at_helmi["id"] == service_at_location_id(str(world.ids["drop_in"]), world.ids["helmi"])
    assert [(x["byday"], x["opens_at"], x["closes_at"]) for x in at_helmi["schedules"]] == [
        ("FR", "18:00:00", "23:59:59")]  # closes at midnight
    address = at_helmi["location"]["addresses"][0]
    assert (address["address_1"], address["postal_code"], address["city"], address["country"]) == (
        "Isokatu 47", "90100", "Oulu", "FI")
    assert at_helmi["location"]["name"] == HELMI["name"][lang]
    assert s["phones"][0]["number"] == "+358 40 123 4567"
    assert s["contacts"][0]["phones"][0]["number"] == "+358 40 765 4321"
    languages = {(x["code"], x.get("note") is not None) for x in s["languages"]}
    assert languages == {("fi", False), ("fi", True), ("en", False)}  # plain Finnish: Finnish with a note
    assert s["cost_options"][0]["amount"] == 0
    assert s["capacities"][0]["available"] == 4 and s["capacities"][0]["maximum"] == 12
    terms = {(a["link_type"], a["taxonomy_term"]["code"]) for a in s["attributes"]}
    assert {("service-category", "drop-in"), ("area", "kiiminki"), ("referral", "no-referral"), ("cost", "free"),
            ("language", "fi-plain"), ("delivery-mode", "digital")} <= terms
    assert all(a["taxonomy_term_id"] == a["taxonomy_term"]["id"] for a in s["attributes"])
    assert {a["name"] for a in s["service_areas"]} == {profile().term("area", c).label(lang) for c in DROP_IN["areas"]}


def test_a_temporarily_closed_service_is_listed_with_its_alert_and_fee(world, schemas):
    s = valid(schemas["service"], world.get(f"/hsds/services/{world.ids['money']}", lang="en").get_json())
    assert s["status"] == "temporarily closed" and s["alert"] == "Renovation"
    assert s["fees_description"] == "20 € a visit" and s["cost_options"][0]["amount_description"] == "20 € a visit"
    assert "service_at_locations" not in s  # given online only
    hours = s["schedules"][0]
    assert (hours["valid_from"], hours["valid_to"], hours["closes_at"], hours["notes"]) == (
        "2026-01-01", "2026-12-31", "23:59:59", "Chat")


def test_filters_narrow_the_services(world, schemas):
    p = profile()

    def ids(**query):
        body = page_of(world.get("/hsds/services", per_page=100, **mine(world, **query)), schemas["service_list"])
        return {uuid.UUID(s["id"]) for s in body["contents"]}
    d, m, f = world.ids["drop_in"], world.ids["money"], world.ids["food"]
    assert ids() == {d, m, f}
    assert ids(organization_id=str(organization_uuid("odl"))) == {d, m}
    assert ids(organization_id=str(uuid.uuid4())) == set()
    assert ids(taxonomy_term_id=str(p.term("service-category", "drop-in").id)) == {d}
    assert ids(taxonomy_term_id=str(p.term("area", "oulu").id)) == {d, f}  # a municipality covers its districts
    assert ids(taxonomy_term_id=str(p.term("cost", "fee").id)) == {m}
    assert ids(taxonomy_id=str(p.taxonomies["cost"].id)) == {d, m, f}
    assert ids(taxonomy_id=str(p.taxonomies["cost"].id), taxonomy_term_id=str(p.term("area", "oulu").id)) == set()
    assert ids(taxonomy_id=str(uuid.uuid4())) == set()
    assert ids(search="kohtaamispaikka") == {d}
    assert ids(search="velkaneuvonta") == {m}
    later = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    assert page_of(world.get("/hsds/services", modified_after=later), schemas["service_list"])["total_items"] == 0


@pytest.mark.parametrize("full", ["false", "true"])
def test_ndjson_gives_every_service_one_per_line(world, schemas, full):
    r = world.get("/hsds/services", format="ndjson", full=full, lang="sv", **mine(world))
    assert r.status_code == 200 and r.mimetype == "application/x-ndjson"
    lines = r.get_data(as_text=True).splitlines()
    validator = schemas["service" if full == "true" else "service_list"]
    services = [valid(validator, json.loads(line)) for line in lines]
    assert len(services) == 3 and "total_items" not in services[0]
    everything = world.get("/hsds/services", format="ndjson", per_page=1).get_data(as_text=True).splitlines()
    assert len(everything) == world.public_count()  # no pages


# -- organisations, services at locations, taxonomies ----------------------------

@pytest.mark.parametrize("lang", LANGS)
def test_organizations_list_and_nest_their_services_and_locations(world, schemas, lang):
    listed = page_of(world.get("/hsds/organizations", lang=lang), schemas["organization_list"])
    assert str(organization_uuid("odl")) in {o["id"] for o in listed["contents"]}
    assert listed["total_items"] == 4
    full = page_of(world.get("/hsds/organizations", lang=lang, full="true", per_page=2), schemas["organization"])
    assert full["total_pages"] == 2 and all("description" in o for o in full["contents"])
    odl = valid(schemas["organization"], world.get(f"/hsds/organizations/{organization_uuid('odl')}",
                                                   lang=lang).get_json())
    assert odl["name"] == {"fi": "Oulun Diakonissalaitoksen Säätiö", "sv": "Uleåborgs Diakonissanstalts stiftelse",
                           "en": "Oulu Deaconess Institute Foundation"}[lang]
    names = {s["name"] for s in odl["services"]}
    assert {DROP_IN["name"][lang], MONEY["name"].get(lang, MONEY["name"]["fi"])} <= names
    assert "Lopetettu" not in names and "Luonnos" not in names
    assert {world.ids["helmi"], world.ids["kiiminki"]} <= {loc["id"] for loc in odl["locations"]}
    for loc in odl["locations"]:
        valid(schemas["location"], loc)
    nested = world.get(f"/hsds/organizations/{organization_uuid('odl')}", full_service="true").get_json()
    valid(schemas["organization"], nested)
    assert any(s.get("schedules") for s in nested["services"])
    assert world.get("/hsds/organizations", search="diakonissa").get_json()["total_items"] == 1


@pytest.mark.parametrize("lang", LANGS)
def test_services_at_locations_list_each_place_and_nest_its_hours(world, schemas, lang):
    body = page_of(world.get("/hsds/service_at_locations", lang=lang, per_page=100, **mine(world)),
                   schemas["service_at_location_list"])
    pairs = {(uuid.UUID(x["service_id"]), x["location_id"]) for x in body["contents"]}
    assert pairs == {(world.ids["drop_in"], world.ids["helmi"]), (world.ids["drop_in"], world.ids["kiiminki"]),
                     (world.ids["food"], world.ids["church"])}
    odl_only = world.get("/hsds/service_at_locations", organization_id=str(organization_uuid("odl")), **mine(world))
    assert page_of(odl_only, schemas["service_at_location_list"])["total_items"] == 2
    full = page_of(world.get("/hsds/service_at_locations", full="true", lang=lang, **mine(world)),
                   schemas["service_at_location"])
    assert all(x["service"]["id"] == x["service_id"] for x in full["contents"])
    sal_id = service_at_location_id(str(world.ids["drop_in"]), world.ids["helmi"])
    sal = valid(schemas["service_at_location"], world.get(f"/hsds/service_at_locations/{sal_id}", lang=lang).get_json())
    assert sal["location"]["addresses"][0]["address_1"] == "Isokatu 47"
    assert sal["service"]["name"] == DROP_IN["name"][lang]
    notes = {"fi": "Perjantai-illat HELMIssä", "sv": "Fredagskvällar på HELMI"}
    assert [(x["byday"], x["notes"]) for x in sal["schedules"]] == [("FR", notes.get(lang, notes["fi"]))]
    lines = world.get("/hsds/service_at_locations", format="ndjson", **mine(world)).get_data(as_text=True).splitlines()
    assert len([valid(schemas["service_at_location_list"], json.loads(x)) for x in lines]) == 3


@pytest.mark.parametrize("lang", LANGS)
def test_taxonomies_and_terms_are_the_profiles(world, schemas, lang):
    p = profile()
    taxonomies = page_of(world.get("/hsds/taxonomies", lang=lang), schemas["taxonomy"])
    assert taxonomies["total_items"] == len(p.taxonomies)
    area = p.taxonomies["area"]
    one = valid(schemas["taxonomy"], world.get(f"/hsds/taxonomies/{area.id}", lang=lang).get_json())
    assert one["name"] == area.name[lang]
    terms = page_of(world.get("/hsds/taxonomy_terms", taxonomy_id=str(area.id), per_page=100, lang=lang),
                    schemas["taxonomy_term"])
    assert {t["code"] for t in terms["contents"]} == set(area.terms)
    oulu = p.term("area", "oulu")
    children = world.get("/hsds/taxonomy_terms", parent_id=str(oulu.id), per_page=100).get_json()["contents"]
    assert {t["code"] for t in children} == {c for c, t in area.terms.items() if t.parent == "oulu"}
    assert all(t["parent_id"] == str(oulu.id) for t in children)
    top = world.get("/hsds/taxonomy_terms", taxonomy_id=str(area.id), top_only="true").get_json()["contents"]
    assert {t["code"] for t in top} == {"oulu", "kouvola", "rovaniemi", "koko-suomi"}
    term = valid(schemas["taxonomy_term"], world.get(f"/hsds/taxonomy_terms/{oulu.id}", lang=lang).get_json())
    assert (term["name"], term["taxonomy_id"], term["language"]) == (oulu.label(lang), str(area.id), lang)
    everything = page_of(world.get("/hsds/taxonomy_terms", per_page=100), schemas["taxonomy_term"])
    assert everything["total_items"] == sum(len(t.terms) for t in p.taxonomies.values())
    lines = world.get("/hsds/taxonomies", format="ndjson").get_data(as_text=True).splitlines()
    assert len([valid(schemas["taxonomy"], json.loads(x)) for x in lines]) == len(p.taxonomies)


# -- errors ----------------------------------------------------------------------

def test_unknown_withdrawn_and_draft_ids_are_404_problems(world):
    for path in (f"/hsds/services/{uuid.uuid4()}", f"/hsds/services/{world.ids['gone']}",
                 f"/hsds/services/{world.ids['draft']}", f"/hsds/organizations/{uuid.uuid4()}",
                 f"/hsds/service_at_locations/{uuid.uuid4()}", f"/hsds/taxonomies/{uuid.uuid4()}",
                 f"/hsds/taxonomy_terms/{uuid.uuid4()}", "/hsds/services/not-a-uuid",
                 f"/hsds/taxonomies/{profile().term('area', 'oulu').id}"):
        problem(world.get(path), 404)


@pytest.mark.parametrize("path,query", [
    ("/hsds/services", {"page": "0"}), ("/hsds/services", {"per_page": "1000"}),
    ("/hsds/services", {"per_page": "0"}), ("/hsds/services", {"modified_after": "garbage"}),
    ("/hsds/services", {"format": "xml"}), ("/hsds/services", {"lang": "de"}),
    ("/hsds/services", {"full": "true", "minimal": "true"}), ("/hsds/services", {"taxonomy_term_id": "x"}),
    ("/hsds/services", {"organization_id": "odl"}),
    ("/hsds/organizations", {"page": "-1"}), ("/hsds/service_at_locations", {"per_page": "1000"}),
    ("/hsds/taxonomy_terms", {"taxonomy_id": "area"}), ("/hsds/taxonomies", {"format": "xml"}),
    ("/hsds/export.zip", {"modified_after": "yesterday"}), (f"/hsds/services/{uuid.uuid4()}", {"lang": "ru"}),
])
def test_bad_parameters_are_422_problems(world, path, query):
    body = problem(world.client.get(path, query_string=query), 422)
    assert body["errors"]


# -- the tabular export ----------------------------------------------------------

def _tables(data: bytes) -> tuple[dict, dict]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        descriptor = json.loads(z.read("datapackage.json"))
        return descriptor, {n: z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".csv")}


def _typed(row: dict, spec: dict) -> dict:
    """A CSV row as the tabular schema's object: empty cells left out (but a required one is an empty
    string, e.g. state_province), numbers as numbers."""
    return {k: float(v) if spec["properties"][k]["type"] == "number" and v else v for k, v in row.items()
            if v != "" or k in spec.get("required", [])}


def test_export_is_an_hsds_tabular_data_package(world, schemas):
    r = world.get("/hsds/export.zip", **mine(world))
    assert r.status_code == 200 and r.mimetype == "application/zip"
    assert "attachment" in r.headers["Content-Disposition"]
    descriptor, files = _tables(r.data)
    assert descriptor["profile"] == "tabular-data-package"
    tabular = schemas["tabular"]["properties"]
    wanted = {"organization", "service", "location", "service_at_location", "address", "phone", "schedule",
              "service_area", "language", "cost_option", "taxonomy", "taxonomy_term", "attribute", "contact"}
    assert wanted <= {res["name"] for res in descriptor["resources"]}
    for res in descriptor["resources"]:
        spec = tabular[res["name"]]["items"]
        columns = [f for f, p in spec["properties"].items() if p["type"] not in ("array", "object") and "$ref" not in p]
        assert res["path"] == spec["path"] and res["profile"] == "tabular-data-resource"
        assert [f["name"] for f in res["schema"]["fields"]] == columns, res["name"]
        for f in res["schema"]["fields"]:
            p = spec["properties"][f["name"]]
            assert f["type"] == p.get("datapackage_type", p["type"]), (res["name"], f)
            if p.get("format") in ("uuid", "email", "uri"):
                assert f.get("format") == p["format"], (res["name"], f)
        reader = csv.DictReader(io.StringIO(files[res["path"]], newline=""))
        assert reader.fieldnames == columns
        rows = list(reader)
        validator = _validator(spec)
        for row in rows:
            valid(validator, _typed(row, spec))
        for f in res["schema"]["fields"]:
            if f.get("constraints", {}).get("unique"):
                values = [row[f["name"]] for row in rows if row[f["name"]]]
                assert len(values) == len(set(values)), (res["name"], f["name"])
    services = list(csv.DictReader(io.StringIO(files["services.csv"], newline="")))
    assert {s["name"] for s in services} == {DROP_IN["name"]["fi"], MONEY["name"]["fi"], FOOD["name"]["fi"]}
    assert len(list(csv.DictReader(io.StringIO(files["service_at_location.csv"], newline="")))) == 3
    swedish = _tables(world.get("/hsds/export.zip", lang="sv", **mine(world)).data)[1]["services.csv"]
    assert DROP_IN["name"]["sv"] in swedish


# -- import ----------------------------------------------------------------------

def _own(world) -> list[dict]:
    r = world.call("get", "/api/v1/services")
    assert r.status_code == 200
    return r.get_json()


def _import(world, data: bytes, role="manager", **query):
    return world.call("post", "/api/v1/import", role=role, data=data, content_type="application/zip",
                      query_string=query)


def _odl_export(world) -> bytes:
    r = world.get("/hsds/export.zip", organization_id=str(organization_uuid("odl")), **mine(world))
    assert r.status_code == 200
    return r.data


def _replace(data: bytes, changes: dict) -> bytes:
    """The zip with some files' text changed by functions."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            content = src.read(name).decode("utf-8")
            dst.writestr(name, changes[name](content) if name in changes else content)
    return out.getvalue()


def test_unmappable_rows_are_listed_in_a_422_and_nothing_is_imported(world):
    before = len(_own(world))
    data = _odl_export(world)
    stranger = str(uuid.uuid4())

    def attributes(text):
        return text + f"{uuid.uuid4()},{world.ids['drop_in']},{stranger},service-category,service,\r\n"

    def schedules(text):
        return text.replace("WEEKLY", "MONTHLY", 1)

    def addresses(text):
        return text.splitlines()[0] + "\r\n"
    bad = _replace(data, {"attributes.csv": attributes, "schedules.csv": schedules, "addresses.csv": addresses})
    body = problem(_import(world, bad), 422)
    reasons = {(e["file"], e["reason"].split(" ")[0]) for e in body["errors"]}
    assert ("attributes.csv", "taxonomy") in reasons and ("schedules.csv", "only") in reasons
    assert ("locations.csv", "the") in reasons
    assert all(isinstance(e["row"], int) and e["row"] >= 2 for e in body["errors"])
    assert stranger in str(body["errors"])
    assert len(_own(world)) == before
    problem(_import(world, b"not a zip"), 422)
    problem(_import(world, _odl_export(world), organization_id=str(uuid.uuid4())), 422)
    problem(_import(world, data, role="caseworker"), 403)
    problem(world.client.post("/api/v1/import", data=data, content_type="application/zip"), 401)
    problem(_import(world, data, status="withdrawn"), 422)
    assert len(_own(world)) == before


def _zip_of(tables: dict) -> bytes:
    """A tabular package (without datapackage.json) from HSDS's JSON rendering of the tables."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, rows in tables.items():
            text = io.StringIO()
            writer = csv.DictWriter(text, list(rows[0]) if rows else [])
            writer.writeheader()
            writer.writerows(rows)
            z.writestr(name, text.getvalue())
    return out.getvalue()


def test_another_publishers_package_is_refused_row_by_row(world, shared_dir):
    """The official HSDS example: Urdu, monthly rules, no profile terms, a UK phone number."""
    example = json.loads((HSDS / "examples" / "tabular.json").read_text(encoding="utf-8"))
    before = len(_own(world))
    body = problem(_import(world, _zip_of(example)), 422)
    reasons = {(e["file"], e["row"], e["reason"].split(":")[0]) for e in body["errors"]}
    assert {("languages.csv", 2, "language 'ur' is not a service language of the profile (fi, sv, en)"),
            ("services.csv", 2, "no categories"), ("services.csv", 2, "no areas"),
            ("services.csv", 2, "contacts.0.phone")} <= reasons
    assert any(f == "schedules.csv" and "byweekno" in r for f, _, r in reasons)
    assert any(f == "locations.csv" for f, _, _ in reasons)  # a UK address: no area of the profile
    assert len(_own(world)) == before


def test_terms_of_another_publisher_map_by_taxonomy_and_code(world):
    """Another publisher's term ids are its own; the taxonomy and code say which profile term it is."""
    data = _odl_export(world)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        terms = list(csv.DictReader(io.StringIO(z.read("taxonomy_terms.csv").decode(), newline="")))
    rekey = {t["id"]: str(uuid.uuid4()) for t in terms}

    def swap(text):
        for old, new in rekey.items():
            text = text.replace(old, new)
        return text
    r = _import(world, _replace(data, {"taxonomy_terms.csv": swap, "attributes.csv": swap}))
    assert r.status_code == 201, r.get_json()
    copies = {s["service"]["name"]["fi"]: s["service"] for s in _own(world)
              if s["id"] in {x["id"] for x in r.get_json()["services"]}}
    assert copies[DROP_IN["name"]["fi"]]["categories"] == DROP_IN["categories"]
    assert copies[MONEY["name"]["fi"]]["areas"] == MONEY["areas"]


def test_round_trip_another_members_export_becomes_my_drafts_with_the_same_content(world):
    data = _odl_export(world)
    r = world.call("post", "/api/v1/import", data={"file": (io.BytesIO(data), "odl.zip")},
                   content_type="multipart/form-data")
    assert r.status_code == 201, r.get_json()
    result = r.get_json()
    assert result["status"] == "draft" and len(result["services"]) == 2 and len(result["locations"]) == 2
    own = {s["service"]["name"]["fi"]: s for s in _own(world) if s["id"] in {x["id"] for x in result["services"]}}
    assert set(own) == {DROP_IN["name"]["fi"], MONEY["name"]["fi"]}
    assert all(s["status"] == "draft" and s["organization_id"] == "oulu-parish" for s in own.values())
    drop_in, money = own[DROP_IN["name"]["fi"]]["service"], own[MONEY["name"]["fi"]]["service"]
    for field in ("categories", "delivery_modes", "languages", "areas", "min_age", "max_age", "free",
                  "referral_required", "url", "email"):
        assert drop_in.get(field) == DROP_IN.get(field), field
    assert money["categories"] == MONEY["categories"] and money["free"] is False
    assert money["fees"] == {"fi": MONEY["fees"]["fi"]} and money["referral_required"] is True
    assert money["opening_hours"] == [{"days": ["TU", "TH"], "opens_at": "09:00", "closes_at": "24:00",
                                       "valid_from": "2026-01-01", "valid_to": "2026-12-31", "notes": {"fi": "Chat"}}]
    assert drop_in["exceptions"] == [
        {"starts_on": "2026-12-24", "ends_on": "2026-12-26", "closed": True, "reason": {"fi": "Joulu"}},
        {"starts_on": "2026-12-31", "ends_on": "2026-12-31", "closed": False, "opens_at": "10:00",
         "closes_at": "14:00", "reason": {"fi": "Uudenvuodenaatto"}}]
    assert drop_in["phones"] == [{"number": "+358 40 123 4567", "description": {"fi": "Päivystys"}}]
    assert drop_in["contacts"] == [{"name": "Maija Ohjaaja", "title": {"fi": "Nuoriso-ohjaaja"},
                                    "email": "maija@odl.example", "phone": "+358 40 765 4321"}]
    # the locations are new, the parish's own, with the same addresses; the Friday hours follow HELMI
    new_locations = {x["source_id"]: x["id"] for x in result["locations"]}
    assert set(drop_in["location_ids"]) == {new_locations[world.ids["helmi"]], new_locations[world.ids["kiiminki"]]}
    helmi = world.call("get", f"/api/v1/locations/{new_locations[world.ids['helmi']]}").get_json()["location"]
    assert helmi["address"] == HELMI["address"] and helmi["area"] == "oulu-keskusta"
    assert helmi["accessibility"] == HELMI["accessibility"] and helmi["latitude"] == HELMI["latitude"]
    assert [(h["days"], h["opens_at"], h["closes_at"], h.get("location_id")) for h in drop_in["opening_hours"]] == [
        (["MO", "WE"], "13:00", "17:00", None), (["FR"], "18:00", "24:00", new_locations[world.ids["helmi"]])]
    with world.parish.ctx.engine.connect() as c:  # drafts are not announced
        keys = {r.key for r in c.execute(select(outbox.c.key))}
    assert not keys & {catalogue_key("oulu-parish", x["id"]) for x in result["services"]}


def test_an_active_import_is_published_to_the_federation(world, schemas):
    r = _import(world, _odl_export(world), status="active")
    assert r.status_code == 201, r.get_json()
    created = {uuid.UUID(x["id"]) for x in r.get_json()["services"]}
    world.parish.publish()
    world.parish.consume_until(lambda: len(_parish_public(world) & created) == 2)
    parish = world.get("/hsds/services", organization_id=str(organization_uuid("oulu-parish")), per_page=100,
                       full="true", **mine(world))
    body = page_of(parish, schemas["service"])
    copies = [s for s in body["contents"] if uuid.UUID(s["id"]) in created]
    assert {s["name"] for s in copies} == {DROP_IN["name"]["fi"], MONEY["name"]["fi"]}
    assert all(s["status"] == "active" for s in copies)


def _parish_public(world) -> set:
    with world.parish.ctx.engine.connect() as c:
        return set(c.execute(select(directory_service.c.service_id).where(
            directory_service.c.organization_id == "oulu-parish", directory_service.c.status == "active")).scalars())
