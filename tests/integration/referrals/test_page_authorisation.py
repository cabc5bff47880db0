"""Authorisation matrix of the caseworker pages: every page × role, anonymous, and another organisation's
session (its cookie, under this instance's name). Logged in with the pages' own form, as a browser would."""
from __future__ import annotations

import re
import pytest

from tests.integration.referrals.conftest import two_organisations

pytestmark = pytest.mark.integration
ROLES = ("caseworker", "manager", "registrar", "admin", "coordinator")  # a coordinator belongs at reporting
CASEWORK = {"caseworker", "manager"}
# page endpoint -> roles allowed (besides admin); None: open to anyone (the login itself)
ALLOWED = {
    "login": None, "logout": None,
    "home": {"caseworker", "manager", "registrar"},
    "find_report": {"registrar"}, "client_report": {"registrar"},
    "clients": CASEWORK, "new_client": CASEWORK, "client": CASEWORK, "record_consent": CASEWORK,
    "withdraw_consent": CASEWORK, "new_referral": CASEWORK, "referrals": CASEWORK, "referral": CASEWORK,
    "act": CASEWORK, "record_outcome": CASEWORK,
}
NOT_PAGES = ("/api/", "/static/", "/docs", "/openapi", "/healthz", "/metrics", "/kit/")
PASSWORD = "sivujen-testisalasana"


@pytest.fixture(scope="module")
def site(pg, kafka):
    apps, _, ids = two_organisations(pg, kafka, "pages", ROLES, password=PASSWORD)
    sessions = {role: logged_in(apps["odl"], f"{role}@odl") for role in ROLES}
    foreign = logged_in(apps["oulu-parish"], "admin@oulu-parish")
    return apps["odl"], ids, sessions, foreign


def csrf(client, path="/login") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def logged_in(app, username):
    client = app.test_client()
    r = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf(client)})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    return client


def page_calls(app, ids):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(NOT_PAGES) or "static" in rule.endpoint:
            continue
        with app.test_request_context():
            from flask import url_for
            url = url_for(rule.endpoint, **{a: ids[a] for a in rule.arguments})
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint.split(".")[-1], method, url


def test_every_page_has_an_expectation(site):
    app, ids, *_ = site
    assert {name for name, _, _ in page_calls(app, ids)} == set(ALLOWED), "add the new page to the matrix"


@pytest.mark.parametrize("who", ["anonymous", "foreign"] + list(ROLES))
def test_page_authorisation_matrix(site, who):
    app, ids, sessions, foreign = site
    if who == "anonymous":
        client = app.test_client()
    elif who == "foreign":  # another organisation's valid session cookie, offered to this instance
        client = app.test_client()
        cookie = next(c for c in foreign._cookies.values() if c.key.startswith("yhd-oulu-parish-"))
        client.set_cookie("yhd-odl-referrals", cookie.value)
    else:
        client = sessions[who]
    wrong = []
    for name, method, url in page_calls(app, ids):
        if name == "logout" or (name, method) == ("login", "POST"):
            continue  # the session the rest rides on; a failed login (tried in the accounts tests) counts
        data = {"csrf_token": csrf(client)} if method == "POST" else None
        r = client.open(url, method=method, data=data)
        allowed = ALLOWED[name]
        if allowed is None:
            ok = r.status_code not in (401, 403, 500)
        elif who in ("anonymous", "foreign"):
            ok = r.status_code == 302 and r.headers["Location"].startswith("/login")
        elif who == "admin" or who in allowed:
            ok = r.status_code not in (401, 403) and not (r.status_code == 302 and "/login" in r.headers["Location"])
        else:
            ok = r.status_code == 403 and r.mimetype == "text/html"
        if not ok:
            wrong.append((name, method, url, r.status_code, r.headers.get("Location")))
        assert r.status_code < 500, (method, url, r.get_data(as_text=True)[:500])
    assert wrong == []
