"""Authorisation matrix: every referrals API endpoint × role × another organisation's credentials."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, insert

from services.kernel.auth import new_token, upsert_user
from services.kernel.config import Settings, sqlalchemy_url
from services.referrals.tables import service_target
from tests.support.people import consent_to, synthetic_client

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
    from services.referrals.app import create_app
    urls = {}
    tokens = {}
    for org in ("odl", "oulu-parish"):
        url = sqlalchemy_url(pg.create_database(f"authz_{org.replace('-', '_')}_{uuid.uuid4().hex[:6]}"))
        urls[org] = url
    app = create_app(Settings(org_id="odl", service="referrals", database_url=urls["odl"],
                              kafka_bootstrap_servers=kafka.bootstrap))
    create_app(Settings(org_id="oulu-parish", service="referrals", database_url=urls["oulu-parish"],
                        kafka_bootstrap_servers=kafka.bootstrap))  # migrates the other organisation's database
    for org, url in urls.items():
        eng = create_engine(url)
        with eng.begin() as conn:
            for role in ROLES:
                tokens[(org, role)] = new_token()
                upsert_user(conn, f"{role}@{org}", role, tokens[(org, role)])
            if org == "odl":
                conn.execute(insert(service_target).values(service_id=uuid.uuid4(), organization_id="oulu-social",
                                                           name_fi="Kohde", status="active", version=1))
        eng.dispose()
    client = app.test_client()
    cw = {"Authorization": f"Bearer {tokens[('odl', 'caseworker')]}"}
    c = client.post("/api/v1/clients", json=synthetic_client(), headers=cw).get_json()
    consent = client.post(f"/api/v1/clients/{c['id']}/consents", json=consent_to("oulu-social"), headers=cw).get_json()
    target = client.get("/api/v1/targets", headers=cw).get_json()[0]["service_id"]
    referral = client.post("/api/v1/referrals", json={"client_id": c["id"], "service_id": target}, headers=cw)
    assert referral.status_code == 201, referral.get_json()
    ids = {"client_id": c["id"], "consent_id": consent["id"], "referral_id": referral.get_json()["id"],
           "action": "accept"}
    return app, client, tokens, ids


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
