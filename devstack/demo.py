"""Demo data, loaded through the services' public APIs as a caseworker would."""
from __future__ import annotations

import yaml

from services.kernel.config import PROJECT_ROOT

from .client import StackClient, consent_to, eventually
from .demo_attendance import load_attendance

CATALOGUE_FILE = PROJECT_ROOT / "deploy" / "demo" / "catalogue.yaml"


def demo_catalogue() -> dict:
    """deploy/demo/catalogue.yaml: per organisation, `locations` by local key and `services`."""
    return yaml.safe_load(CATALOGUE_FILE.read_text(encoding="utf-8"))


def service_body(service: dict, location_ids: dict) -> dict:
    """A demo service as the catalogue API takes it (ServiceCreate): the service's
    `locations: [key, ...]` become location_ids and an opening-hours row's
    `location: key` its location_id, with the ids the API gave the locations."""
    body = {k: v for k, v in service.items() if k != "locations"}
    if service.get("locations"):
        body["location_ids"] = [str(location_ids[key]) for key in service["locations"]]
    if service.get("opening_hours"):
        body["opening_hours"] = [
            {**{k: v for k, v in h.items() if k != "location"},
             **({"location_id": str(location_ids[h["location"]])} if h.get("location") else {})}
            for h in service["opening_hours"]]
    return body


def load_demo_catalogue(stack: StackClient) -> tuple[int, int]:
    """Each organisation's demo locations and services, into catalogues that have none yet
    (also after an upgrade whose migration emptied them); returns (locations, services) added."""
    placed = published = 0
    for org, spec in demo_catalogue().items():
        if org not in stack.desc["orgs"]:
            continue
        if stack.ok(org, "catalogue", "GET", "/api/v1/services", "manager"):
            continue  # the organisation has its own catalogue already
        location_ids = {}
        for key, location in (spec.get("locations") or {}).items():
            location_ids[key] = stack.ok(org, "catalogue", "POST", "/api/v1/locations", "manager",
                                         json=location)["id"]
            placed += 1
        for s in spec.get("services") or []:
            stack.publish_service(org, service_body(s, location_ids))
            published += 1
    return placed, published


def load_demo_data(stack: StackClient) -> str:
    placed, published = load_demo_catalogue(stack)
    # referrals with consent: ODL -> the city's rehabilitative work activity, NGO -> ODL's guidance (accepted)
    refer(stack, "odl", "oulu-social", "rehabilitative-work-activity", DEMO_CLIENTS[0],
          "Demo: toivoo kuntouttavaa työtoimintaa, arki kaipaa rytmiä.")
    second = refer(stack, "nuorten-polku", "odl", "individual-guidance", DEMO_CLIENTS[1],
                   "Demo: etsivän nuorisotyön kautta tavoitettu, toivoo yksilöohjausta.")
    eventually(lambda: stack.ok("odl", "referrals", "GET", "/api/v1/referrals", params={"box": "incoming"})["total"],
               what="the demo referral's arrival at ODL")
    stack.ok("odl", "referrals", "POST", f"/api/v1/referrals/{second['id']}/accept", json={})
    entries = load_attendance(stack, (second["id"], DEMO_CLIENTS[1]))
    return f"{placed} locations, {published} services, 2 clients with consents and referrals, {entries}"


# Synthetic people: identity codes with individual numbers 900-999 are never given to real people.
DEMO_CLIENTS = [
    {"name": "Aino Esimerkki", "identity_code": "140302A9343", "municipality": "Oulu", "gender": "woman",
     "language": "fi", "phone": "+358 40 000 0001"},
    {"name": "Eetu Testinen", "identity_code": "010799-951H", "municipality": "Kiiminki", "gender": "man",
     "language": "fi", "email": "eetu.testinen@example.invalid"},
]


def refer(stack: StackClient, from_org: str, to_org: str, category: str, client: dict, note: str) -> dict:
    """Register `client` at `from_org` with a year's consent for `to_org`, and refer them to `to_org`'s
    service of `category` once the catalogue has announced it."""
    client_id = stack.client_with_consent(from_org, to_org, client, **consent_to(to_org, days=365))
    target = stack.target(from_org, to_org, category=category)
    return stack.refer(from_org, client_id, target["service_id"], note)
