"""Demo data, loaded through the services' public APIs as a caseworker would."""
from __future__ import annotations

import json
import time
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


def load_demo_data(desc: dict, say=print) -> str:
    catalogue = yaml.safe_load((PROJECT_ROOT / "deploy" / "demo" / "catalogue.yaml").read_text(encoding="utf-8"))
    published = 0
    for org, services in catalogue.items():
        if org not in desc["orgs"]:
            continue
        url = desc["orgs"][org]["services"]["catalogue"]
        for s in services:
            call("POST", f"{url}/api/v1/services", token(desc, org, "manager"), s)
            published += 1
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
    for hour, n in ((11, 3), (12, 5), (14, 2)):
        call("POST", f"{attendance}/api/v1/encounters", caseworker,
             {"kind": "drop-in", "anonymous": True, "participants": n,
              "occurred_at": monday.replace(hour=hour, minute=0, second=0, microsecond=0).isoformat()})
    return f"{published} services, 2 clients with consents and referrals, 3 drop-in encounters"


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
    targets = wait_for(lambda: [t for t in call("GET", f"{url}/api/v1/targets", cw)
                                if t["organization_id"] == to_org and t["category"] == category])
    return call("POST", f"{url}/api/v1/referrals", cw,
                {"client_id": c["id"], "service_id": targets[0]["service_id"], "note": note})
