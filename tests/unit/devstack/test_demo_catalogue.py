"""The demo catalogue (deploy/demo/catalogue.yaml) is what the catalogue API accepts, and tells the
background documents' story: checked without a stack, by the API's own input schemas."""
from __future__ import annotations

import json
import re
import uuid

import pytest
import yaml

from devstack.client import pick_target
from devstack.demo import demo_catalogue, service_body
from services.catalogue.publishing.schemas import LocationIn, ServiceCreate
from services.kernel.config import PROJECT_ROOT

FICTIONAL_PHONE = re.compile(r"^\+358 40 000 01\d\d$")
FICTIONAL_MAIL = re.compile(r"@example\.(fi|org)$")
FICTIONAL_URL = re.compile(r"^https://([a-z0-9-]+\.)*example\.(fi|org)(/|$)")

CATALOGUE = demo_catalogue()
ORGS = yaml.safe_load((PROJECT_ROOT / "deploy" / "federation.yaml").read_text(encoding="utf-8"))["organisations"]


def services(org=None):
    return [(o, s) for o, spec in CATALOGUE.items() if org in (None, o) for s in spec.get("services") or []]


def location_ids(org) -> dict:
    return {key: uuid.uuid4() for key in CATALOGUE[org].get("locations") or {}}


def loaded(org, s) -> dict:
    """The service as the API would store it, with its location keys swapped for fresh ids."""
    ids = location_ids(org)
    body = service_body(s, ids)
    json.dumps(body)  # what the loader sends: plain JSON (a YAML date or time would not be)
    doc = ServiceCreate().load(body)
    return {**doc, "_locations": {str(ids[k]): CATALOGUE[org]["locations"][k] for k in s.get("locations", [])}}


def name(s) -> str:
    return s["name"]["fi"].lower()


def test_every_organisation_of_the_federation_publishes_and_no_other():
    assert set(CATALOGUE) == set(ORGS)
    for org, spec in CATALOGUE.items():
        assert set(spec) <= {"locations", "services"}, org
        assert len(spec["services"]) >= 8, org


def test_at_least_forty_services():
    assert len(services()) >= 40


@pytest.mark.parametrize("org", sorted(CATALOGUE))
def test_every_location_is_what_the_api_takes(org):
    for key, location in (CATALOGUE[org].get("locations") or {}).items():
        json.dumps(location)
        LocationIn().load(location)  # raises on anything the API would refuse


@pytest.mark.parametrize("org", sorted(CATALOGUE))
def test_every_service_is_what_the_api_takes(org):
    for _, s in services(org):
        doc = loaded(org, s)
        assert doc["status"] == "active", s["name"]["fi"]


def test_location_keys_are_defined_and_each_location_is_used():
    for org, spec in CATALOGUE.items():
        keys = set(spec.get("locations") or {})
        used = set()
        for s in spec["services"]:
            linked = set(s.get("locations", []))
            assert linked <= keys, (org, s["name"]["fi"])
            hours_at = {h["location"] for h in s.get("opening_hours", []) if "location" in h}
            assert hours_at <= linked, (org, s["name"]["fi"])
            used |= linked
        assert used == keys, (org, keys - used)


def test_service_body_swaps_keys_for_ids():
    s = {"name": {"fi": "X"}, "locations": ["a", "b"],
         "opening_hours": [{"days": ["MO"], "opens_at": "13:00", "closes_at": "17:00", "location": "b"},
                           {"days": ["TU"], "opens_at": "09:00", "closes_at": "10:00"}]}
    a, b = uuid.uuid4(), uuid.uuid4()
    body = service_body(s, {"a": a, "b": b})
    assert body["location_ids"] == [str(a), str(b)] and "locations" not in body
    assert body["opening_hours"][0] == {"days": ["MO"], "opens_at": "13:00", "closes_at": "17:00",
                                        "location_id": str(b)}
    assert "location_id" not in body["opening_hours"][1]
    assert s["locations"] == ["a", "b"] and s["opening_hours"][0]["location"] == "b"  # the input is untouched


def test_no_duplicate_service_names_within_an_organisation():
    for org in CATALOGUE:
        names = [name(s) for _, s in services(org)]
        assert len(names) == len(set(names)), org


def test_contacts_are_fictional():
    for org, s in services():
        texts = [p["number"] for p in s.get("phones", [])] + [c["phone"] for c in s.get("contacts", []) if "phone" in c]
        for number in texts:
            assert FICTIONAL_PHONE.match(number), (org, s["name"]["fi"], number)
        for mail in [s.get("email")] + [c.get("email") for c in s.get("contacts", [])]:
            assert mail is None or FICTIONAL_MAIL.search(mail), (org, mail)
        assert "url" not in s or FICTIONAL_URL.match(s["url"]), (org, s["url"])
    assert any(s.get("phones") for _, s in services())


def test_texts_are_in_finnish_and_many_also_in_swedish_and_english():
    all_ = [s for _, s in services()]
    assert all(s["name"].get("fi") and s.get("description", {}).get("fi") for s in all_)
    assert sum("sv" in s["name"] for s in all_) >= len(all_) * 0.6
    assert sum("en" in s["name"] and "en" in s.get("description", {}) for s in all_) >= len(all_) * 0.8


def test_variety_of_what_how_where_and_for_whom():
    docs = [loaded(o, s) for o, s in services()]
    categories = {c for d in docs for c in d["categories"]}
    for c in ("individual-guidance", "group-activity", "drop-in", "one-stop-guidance", "outreach-youth-work",
              "home-coaching", "food-aid", "mental-health-support", "substance-abuse-support", "housing",
              "studies-and-training", "employment-services", "rehabilitative-work-activity",
              "kela-benefits-advice", "financial-advice", "peer-support", "leisure"):
        assert c in categories, c
    assert {m for d in docs for m in d["delivery_modes"]} == {"in-person", "outreach", "digital"}
    areas = {a for d in docs for a in d["areas"]} | {loc["area"] for d in docs for loc in d["_locations"].values()}
    for a in ("oulu-keskusta", "kiiminki", "yli-ii", "haukipudas", "kaakkuri", "tuira", "oulunsalo", "kouvola",
              "rovaniemi", "koko-suomi"):
        assert a in areas, a
    assert {"sv", "en", "fi-plain"} <= {lang for d in docs for lang in d["languages"]}
    assert len({(d.get("min_age"), d.get("max_age")) for d in docs}) >= 5
    assert sum(d["referral_required"] for d in docs) >= 3
    assert sum(not d["free"] for d in docs) >= 3
    assert sum("capacity" in d for d in docs) >= 5
    assert any(d["capacity"].get("waitlist") for d in docs if "capacity" in d)
    assert sum(bool(d["exceptions"]) for d in docs) >= 5
    assert any(not e["closed"] for d in docs for e in d["exceptions"])  # special hours, not only closures
    assert any(h.get("valid_from") for d in docs for h in d["opening_hours"])


def test_christmas_holidays_close_services():
    closed = [s for _, s in services()
              if any(e["closed"] and e["starts_on"] == "2026-12-24" and e["ends_on"] == "2026-12-26"
                     and e["reason"]["fi"] == "Joulun pyhät" for e in s.get("exceptions", []))]
    assert len(closed) >= 3


# --- what the background documents say -------------------------------------------------------------

def test_helmi_drop_in_at_isokatu_47_on_mondays_13_to_17():
    helmi = [s for s in CATALOGUE["odl"]["services"] if "helmi" in name(s) and "drop-in" in s["categories"]]
    assert len(helmi) == 1
    s = helmi[0]
    where = CATALOGUE["odl"]["locations"][s["locations"][0]]
    assert where["address"] == {"street": "Isokatu 47", "postal_code": "90100", "city": "Oulu"}
    assert where["area"] == "oulu-keskusta"
    assert {"days": ["MO"], "opens_at": "13:00", "closes_at": "17:00", "location": s["locations"][0]} \
        in s["opening_hours"]
    assert len(s["opening_hours"]) == 1


def test_odl_sovittava_ohjaus():
    s = next(s for s in CATALOGUE["odl"]["services"] if name(s) == "sovittava ohjaus")
    assert s["categories"][0] == "individual-guidance"
    assert (s["min_age"], s["max_age"]) == (18, 35)
    assert {"in-person", "outreach", "digital"} <= set(s["delivery_modes"])


def test_odl_group_activities():
    assert sum("group-activity" in s["categories"] for s in CATALOGUE["odl"]["services"]) >= 3


def test_bystrom_ohjaamo_is_the_citys():
    s = [s for s in CATALOGUE["oulu-social"]["services"]
         if "byström" in name(s) and s["categories"][0] == "one-stop-guidance"]
    assert len(s) == 1
    where = CATALOGUE["oulu-social"]["locations"][s[0]["locations"][0]]
    assert where["address"]["city"] == "Oulu" and "Byström" in where["name"]["fi"]


def test_kiiminki_services():
    kiiminki = [(o, s) for o, s in services() if "kiiminki" in s["areas"]]
    assert len({o for o, _ in kiiminki}) >= 3  # the city, ODL and the parish all work there


def test_kouvola_ohjaamo_says_who_runs_it():
    s = [s for o, s in services("nuorten-polku")
         if "kouvola" in s["areas"] and s["categories"][0] == "one-stop-guidance"]
    assert len(s) == 1
    assert "Kouvolan kaupunki" in s[0]["description"]["fi"]


def test_rovaniemi_home_coaching_says_who_runs_it():
    s = [s for o, s in services() if "rovaniemi" in s["areas"] and "home-coaching" in s["categories"]]
    assert len(s) == 1
    assert "outreach" in s[0]["delivery_modes"] and (s[0]["min_age"], s[0]["max_age"]) == (16, 29)
    assert "Rovaniemen kaupunki" in s[0]["description"]["fi"]


def test_parish_food_aid_and_conversation_help():
    parish = CATALOGUE["oulu-parish"]["services"]
    assert any(s["categories"][0] == "food-aid" and name(s) == "ruoka-apu" for s in parish)
    assert any(name(s) == "keskusteluapu" and "mental-health-support" in s["categories"] for s in parish)


def test_mental_health_words_the_users_search_for():
    texts = " ".join(s["description"]["fi"].lower() for _, s in services())
    assert "mielenterveyspalvelut" in texts and "mielenterveyden tuki" in texts


def test_the_demo_referrals_find_their_targets():
    """load_demo_data refers to the city's rehabilitative work activity and to ODL's individual guidance."""
    targets = sorted(({"service_id": str(uuid.uuid4()), "organization_id": o, "name_fi": s["name"]["fi"],
                       "categories": s["categories"], "status": s.get("status", "active")}
                      for o, s in services()), key=lambda t: (t["organization_id"], t["name_fi"]))
    assert pick_target(targets, "oulu-social", "rehabilitative-work-activity")["name_fi"] == "Kuntouttava työtoiminta"
    assert pick_target(targets, "odl", "individual-guidance")["name_fi"] == "Sovittava ohjaus"
    old = [{"service_id": "x", "organization_id": "odl", "name_fi": "A", "category": "individual-guidance"}]
    assert pick_target(old, "odl", "individual-guidance")["service_id"] == "x"  # the read model before categories
    assert pick_target(targets, "odl", "food-aid") is None
