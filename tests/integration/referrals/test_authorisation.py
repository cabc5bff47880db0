"""Authorisation matrix: every referrals API endpoint × role × another organisation's credentials."""
from __future__ import annotations

import pytest

from tests.integration.referrals.conftest import two_organisations

pytestmark = pytest.mark.integration
ROLES = ("caseworker", "manager", "registrar", "admin")
# endpoint -> roles allowed (besides admin, who may do everything)
ALLOWED = {
    "register_client": {"caseworker", "manager"},
    "list_clients": {"caseworker", "manager"},
    "get_client": {"caseworker", "manager"},
    "list_consents": {"caseworker", "manager"},
    "record_consent": {"caseworker", "manager"},
    "withdraw_consent": {"caseworker", "manager"},
    "data_report": {"registrar"},
    "send": {"caseworker", "manager"},
    "list_referrals": {"caseworker", "manager"},
    "get_referral": {"caseworker", "manager"},
    "referral_history": {"caseworker", "manager"},
    "act": {"caseworker", "manager"},
    "record_outcome": {"caseworker", "manager"},
    "targets": {"caseworker", "manager", "registrar"},
    "inbox": {"caseworker", "manager"},
}


@pytest.fixture(scope="module")
def api(pg, kafka):
    apps, tokens, ids = two_organisations(pg, kafka, "authz", ROLES)
    return apps["odl"], apps["odl"].test_client(), tokens, ids


def api_calls(app, ids):
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        name = rule.endpoint.split(".")[-1]
        url = _build(app, rule, ids)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield name, method, url


def _build(app, rule, ids):
    with app.test_request_context():
        from flask import url_for
        return url_for(rule.endpoint, **{a: ids[a] for a in rule.arguments})


def test_every_api_endpoint_has_an_expectation(api):
    app, *_ = api
    names = {name for name, _, _ in api_calls(app, api[3])}
    assert names == set(ALLOWED), "add the new endpoint to the authorisation matrix"


@pytest.mark.parametrize("who", ["anonymous", "foreign"] + [f"odl:{r}" for r in ROLES])
def test_authorisation_matrix(api, who):
    app, client, tokens, ids = api
    if who == "anonymous":
        headers = {}
    elif who == "foreign":  # a valid token, of another organisation
        headers = {"Authorization": f"Bearer {tokens[('oulu-parish', 'admin')]}"}
    else:
        headers = {"Authorization": f"Bearer {tokens[('odl', who.split(':')[1])]}"}
    wrong = []
    for name, method, url in api_calls(app, ids):
        r = client.open(url, method=method, json={} if method == "POST" else None, headers=headers)
        if who in ("anonymous", "foreign"):
            ok = r.status_code == 401
        else:
            role = who.split(":")[1]
            allowed = role == "admin" or role in ALLOWED[name]
            ok = (r.status_code not in (401, 403)) if allowed else r.status_code == 403
        if not ok:
            wrong.append((method, url, r.status_code))
        if r.status_code >= 400:
            assert r.mimetype == "application/problem+json", (method, url)
        assert r.status_code < 500, (method, url, r.get_json())
    assert wrong == []
