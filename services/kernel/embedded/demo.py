"""Demo data, loaded through the services' public APIs as a caseworker would."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

import yaml

from ..config import PROJECT_ROOT


def call(method: str, url: str, token: str | None = None, body=None, timeout: float = 10):
    req = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body is not None else None)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read() or b"null")


def token(desc: dict, org: str, role: str) -> str:
    return next(u["token"] for u in desc["orgs"][org]["users"] if u["role"] == role)


def wait_for(predicate, timeout: float = 30, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise TimeoutError("demo data did not propagate in time")


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


def _post(url: str, tok: str, body: dict, what: str) -> dict:
    try:
        return call("POST", url, tok, body)
    except urllib.error.HTTPError as e:
        raise RuntimeError(f"demo data: {what} refused ({e.code}): {e.read()[:2000].decode(errors='replace')}") from e


def load_demo_catalogue(desc: dict) -> tuple[int, int]:
    """Each organisation's demo locations and services, into catalogues that have none yet
    (also after an upgrade whose migration emptied them); returns (locations, services) added."""
    placed = published = 0
    for org, spec in demo_catalogue().items():
        if org not in desc["orgs"]:
            continue
        url = desc["orgs"][org]["services"]["catalogue"]
        manager = token(desc, org, "manager")
        if call("GET", f"{url}/api/v1/services", manager):
            continue  # the organisation has its own catalogue already
        location_ids = {}
        for key, location in (spec.get("locations") or {}).items():
            location_ids[key] = _post(f"{url}/api/v1/locations", manager, location, f"{org} location {key}")["id"]
            placed += 1
        for s in spec.get("services") or []:
            _post(f"{url}/api/v1/services", manager, service_body(s, location_ids), f"{org} service {s['name']['fi']}")
            published += 1
    return placed, published


def load_demo_data(desc: dict, say=print) -> str:
    placed, published = load_demo_catalogue(desc)
    # referrals with consent: ODL -> the city's rehabilitative work activity, NGO -> ODL's guidance (accepted)
    refer(desc, "odl", "oulu-social", "rehabilitative-work-activity", DEMO_CLIENTS[0],
                  "Demo: toivoo kuntouttavaa työtoimintaa, arki kaipaa rytmiä.")
    second = refer(desc, "nuorten-polku", "odl", "individual-guidance", DEMO_CLIENTS[1],
                   "Demo: etsivän nuorisotyön kautta tavoitettu, toivoo yksilöohjausta.")
    odl = desc["orgs"]["odl"]["services"]["referrals"]
    wait_for(lambda: call("GET", f"{odl}/api/v1/referrals?box=incoming", token(desc, "odl", "caseworker"))["total"])
    call("POST", f"{odl}/api/v1/referrals/{second['id']}/accept", token(desc, "odl", "caseworker"), {})
    caseworker = token(desc, "odl", "caseworker")
    # anonymous drop-in visits at HELMI café last Monday
    monday = datetime.now(timezone.utc) - timedelta(days=datetime.now(timezone.utc).weekday() or 7)
    attendance = desc["orgs"]["odl"]["services"]["attendance"]
    for hour, n in ((11, 3), (12, 5), (13, 2)):  # UTC: within 13–17 Helsinki time in winter and summer
        call("POST", f"{attendance}/api/v1/encounters", caseworker,
             {"kind": "drop-in", "anonymous": True, "participants": n,
              "occurred_at": monday.replace(hour=hour, minute=0, second=0, microsecond=0).isoformat()})
    return f"{placed} locations, {published} services, 2 clients with consents and referrals, 3 drop-in encounters"


# Synthetic people: identity codes with individual numbers 900-999 are never given to real people.
DEMO_CLIENTS = [
    {"name": "Aino Esimerkki", "identity_code": "140302A9343", "municipality": "Oulu", "gender": "woman",
     "language": "fi", "phone": "+358 40 000 0001"},
    {"name": "Eetu Testinen", "identity_code": "010799-951H", "municipality": "Kiiminki", "gender": "man",
     "language": "fi", "email": "eetu.testinen@example.invalid"},
]


def refer(desc: dict, from_org: str, to_org: str, category: str, client: dict, note: str) -> dict:
    url = desc["orgs"][from_org]["services"]["referrals"]
    cw = token(desc, from_org, "caseworker")
    c = call("POST", f"{url}/api/v1/clients", cw, client)
    now = datetime.now(timezone.utc)
    call("POST", f"{url}/api/v1/clients/{c['id']}/consents", cw, {
        "recipient_org": to_org, "categories": ["identity", "contact", "background", "referral-details"],
        "purpose": "referral", "valid_from": (now - timedelta(minutes=5)).isoformat(),
        "valid_until": (now + timedelta(days=365)).isoformat(), "method": "in-person"})
    target = wait_for(lambda: pick_target(call("GET", f"{url}/api/v1/targets", cw), to_org, category))
    return call("POST", f"{url}/api/v1/referrals", cw,
                {"client_id": c["id"], "service_id": target["service_id"], "note": note})


def _categories(target: dict) -> list:
    # the referrals read model lists `categories`; older ones had a single `category`
    return target.get("categories") or [target.get("category")]


def pick_target(targets: list[dict], org: str, category: str) -> dict | None:
    """The active service of `org` whose main (first) category is `category`, first by name
    (the targets come sorted by organisation and name); None until one has arrived."""
    return next((t for t in targets if t["organization_id"] == org and t.get("status", "active") == "active"
                 and _categories(t)[0] == category), None)
