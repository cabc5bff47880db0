"""Talking to a running stack: the one client the demo loader, the e2e, fault, browser tests and bench use.

A stack is described by its `var/stack.json` (URLs, broker, database, demo users with their API tokens);
`StackClient` calls the services' public HTTP APIs as a caseworker, manager or registrar would.
Only the standard library is used, so the launcher needs nothing more.
"""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

ALL_CATEGORIES = ("identity", "contact", "background", "referral-details")


class NotInTime(AssertionError):
    """What was awaited did not happen within its bound."""


def eventually(fn, timeout: float = 30.0, interval: float = 0.2, what: str | None = None):
    """Call `fn` until it returns something true, within `timeout` seconds; return that.
    A connection refused or reset on the way counts as not yet (a process may be restarting)."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = fn()
        except (ConnectionError, urllib.error.URLError, OSError) as e:
            last = e
        else:
            if last:
                return last
        if time.monotonic() >= deadline:
            raise NotInTime(f"{what or 'condition'} not met within {timeout:.0f}s (last: {last!r})")
        time.sleep(interval)


@dataclass
class Reply:
    """An HTTP answer: status, headers and body (whatever the status)."""
    status_code: int
    text: str
    headers: dict

    def json(self):
        return json.loads(self.text) if self.text else None

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300


class StackError(RuntimeError):
    def __init__(self, what: str, reply: Reply):
        super().__init__(f"{what}: {reply.status_code} {reply.text[:2000]}")
        self.reply = reply


def consent_to(org: str, categories=ALL_CATEGORIES, days: int = 180, method: str = "in-person",
               purpose: str = "referral") -> dict:
    """A consent for `org` as the referrals API takes it, valid from a minute ago."""
    now = datetime.now(timezone.utc)
    return {"recipient_org": org, "categories": list(categories), "purpose": purpose,
            "valid_from": (now - timedelta(minutes=1)).isoformat(),
            "valid_until": (now + timedelta(days=days)).isoformat(), "method": method}


class StackClient:
    def __init__(self, desc: dict, timeout: float = 15.0):
        self.desc = desc
        self.timeout = timeout

    # -- who and where -----------------------------------------------------------------------------
    @property
    def orgs(self) -> list[str]:
        return list(self.desc["orgs"])

    def url(self, org: str, svc: str, path: str = "") -> str:
        base = self.desc["reporting"] if svc == "reporting" else self.desc["orgs"][org]["services"][svc]
        return base + path

    def user(self, org: str, role: str = "caseworker") -> dict:
        users = self.desc["reporting_users"] if org not in self.desc["orgs"] else self.desc["orgs"][org]["users"]
        return next(u for u in users if u["role"] == role)

    def token(self, org: str, role: str = "caseworker") -> str:
        return self.user(org, role)["token"]

    # -- HTTP --------------------------------------------------------------------------------------
    def request(self, method: str, url: str, *, token: str | None = None, json_body=None, params=None,
                data: bytes | None = None, headers: dict | None = None) -> Reply:
        if params:
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode(params, doseq=True)
        if json_body is not None:
            data = json.dumps(json_body).encode()
        req = urllib.request.Request(url, method=method, data=data)
        if json_body is not None:
            req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                return Reply(r.status, r.read().decode("utf-8", "replace"), dict(r.headers))
        except urllib.error.HTTPError as e:
            return Reply(e.code, e.read().decode("utf-8", "replace"), dict(e.headers or {}))

    def call(self, org: str, svc: str, method: str, path: str, role: str | None = "caseworker", *,
             json=None, params=None) -> Reply:
        """`method path` at `org`'s `svc` as its demo user of `role` (None: without a token)."""
        return self.request(method, self.url(org, svc, path), token=self.token(org, role) if role else None,
                            json_body=json, params=params)

    def ok(self, org: str, svc: str, method: str, path: str, role: str | None = "caseworker", *, json=None,
           params=None):
        """Like `call`, but the answer must be a success: its JSON body, or StackError."""
        reply = self.call(org, svc, method, path, role, json=json, params=params)
        if not reply.ok:
            raise StackError(f"{method} {path} at {org}/{svc}", reply)
        return reply.json()

    # -- what a caseworker does ----------------------------------------------------------------------
    def publish_service(self, org: str, body: dict) -> dict:
        """Publish a catalogue service of `org` (as its manager)."""
        return self.ok(org, "catalogue", "POST", "/api/v1/services", "manager", json=body)

    def targets(self, org: str) -> list[dict]:
        return self.ok(org, "referrals", "GET", "/api/v1/targets")

    def target(self, org: str, to_org: str, *, category: str | None = None, service_id: str | None = None,
               timeout: float = 60.0) -> dict:
        """The active service of `to_org` that `org` can refer to, once the catalogue event has arrived:
        the given one, or the first (by name) whose main category is `category`, or any."""
        return eventually(lambda: pick_target(self.targets(org), to_org, category, service_id), timeout,
                          what=f"a referral target of {to_org} at {org}")

    def register_client(self, org: str, client: dict) -> dict:
        return self.ok(org, "referrals", "POST", "/api/v1/clients", json=client)

    def client_with_consent(self, org: str, to_org: str, client: dict, **consent) -> str:
        """Register `client` at `org` with a consent to refer them to `to_org`; the client's id."""
        client_id = self.register_client(org, client)["id"]
        self.ok(org, "referrals", "POST", f"/api/v1/clients/{client_id}/consents",
                json={**consent_to(to_org), **consent})
        return client_id

    def refer(self, org: str, client_id: str, service_id: str, note: str | None = None) -> dict:
        body = {"client_id": client_id, "service_id": service_id, **({"note": note} if note else {})}
        return self.ok(org, "referrals", "POST", "/api/v1/referrals", json=body)


def _categories(target: dict) -> list:
    # the referrals read model lists `categories`; older ones had a single `category`
    return target.get("categories") or [target.get("category")]


def pick_target(targets: list[dict], org: str, category: str | None = None,
                service_id: str | None = None) -> dict | None:
    """The active service of `org` (the given one, or whose main (first) category is `category`), first by
    name (the targets come sorted by organisation and name); None until one has arrived."""
    return next((t for t in targets if t["organization_id"] == org and t.get("status", "active") == "active"
                 and (service_id is None or t["service_id"] == service_id)
                 and (category is None or _categories(t)[0] == category)), None)
