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
    # a referral from the diaconal foundation to the city's rehabilitative work activity
    odl_referrals = desc["orgs"]["odl"]["services"]["referrals"]
    caseworker = token(desc, "odl", "caseworker")
    targets = wait_for(lambda: [t for t in call("GET", f"{odl_referrals}/api/v1/targets", caseworker)
                                if t["organization_id"] == "oulu-social"
                                and t["category"] == "rehabilitative-work-activity"])
    call("POST", f"{odl_referrals}/api/v1/referrals", caseworker,
         {"service_id": targets[0]["service_id"], "age_band": "18-24",
          "note": "Demo: nuori aikuinen toivoo kuntouttavaa työtoimintaa."})
    # anonymous drop-in visits at HELMI café last Monday
    monday = datetime.now(timezone.utc) - timedelta(days=datetime.now(timezone.utc).weekday() or 7)
    attendance = desc["orgs"]["odl"]["services"]["attendance"]
    for hour, n in ((11, 3), (12, 5), (14, 2)):
        call("POST", f"{attendance}/api/v1/encounters", caseworker,
             {"kind": "drop-in", "anonymous": True, "participants": n,
              "occurred_at": monday.replace(hour=hour, minute=0, second=0, microsecond=0).isoformat()})
    return f"{published} services, 1 referral, 3 drop-in encounters"
