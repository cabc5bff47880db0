"""Schemathesis against each service's own /openapi.json: no input makes it answer 5xx.

The applications run in-process (WSGI) on real PostgreSQL and a real broker;
every generated request is authenticated as a caseworker (or manager for the
catalogue) of the instance's organisation.
"""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis.errors import Unsatisfiable
from sqlalchemy import create_engine

from services.kernel.auth import new_token, upsert_user
from services.kernel.config import Settings, sqlalchemy_url
from tests.support.directory import KnownClients

pytestmark = pytest.mark.integration
SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))


def _app(new_database, kafka, service: str, org: str, role: str):
    import importlib
    url = sqlalchemy_url(new_database(f"fuzz_{service}"))
    # attendance reads its organisation's clients from referrals: here a register that knows none of them, so
    # a generated client id is an unknown client (404), not a directory that is not configured (503)
    extra = {"directory": KnownClients()} if service == "attendance" else {}
    app = importlib.import_module(f"services.{service}.app").create_app(
        Settings(org_id=org, service=service, database_url=url, kafka_bootstrap_servers=kafka.bootstrap), **extra)
    token = new_token()
    eng = create_engine(url)
    with eng.begin() as conn:
        upsert_user(conn, f"{role}@{org}", role, token)
    eng.dispose()
    return schemathesis.openapi.from_wsgi("/openapi.json", app), token


def _no_5xx(case, token):
    response = case.call(headers={"Authorization": f"Bearer {token}"})
    assert response.status_code < 500, f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:500]}"
    if response.status_code >= 400:
        ct = {k.lower(): v for k, v in response.headers.items()}.get("content-type")
        ct = ct[0] if isinstance(ct, list) else ct
        assert ct.startswith("application/problem+json"), (case.method, case.formatted_path, response.text[:200])


def fuzz(schema, token) -> int:
    """Every operation of the schema, with generated cases; returns how many operations ran."""
    from hypothesis import given
    n = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            @given(case=operation.as_strategy(mode))
            @SETTINGS
            def run(case):
                _no_5xx(case, token)
            try:
                run()
            except Unsatisfiable:  # nothing to break in an operation without parameters or body
                assert mode == schemathesis.GenerationMode.NEGATIVE
        n += 1
    return n


@pytest.mark.parametrize("service,role", [("referrals", "caseworker"), ("catalogue", "manager"),
                                          ("attendance", "caseworker")])
def test_api_never_answers_5xx(new_database, kafka, service, role):
    schema, token = _app(new_database, kafka, service, "odl", role)
    assert fuzz(schema, token) >= 2
