"""Reporting's access and suppression (issue 13, item 6), against real reporting gunicorn and worker
processes on a real database: who gets 401/403/200 on every endpoint and page (anonymous, a caseworker,
the manager of ODL, a manager with no organisation, the region's coordinator), a manager sees only their
own organisation's rows, the public view holds only the region's suppressed totals, every people-related
count of 1-4 is shown as "<5", and /metrics answers only the metrics token."""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
from datetime import datetime, timezone

import pytest
import requests
from sqlalchemy import create_engine, insert

from devstack.client import eventually
from services.kernel.config import PROJECT_ROOT, sqlalchemy_url
from services.kernel.contracts import registry
from services.reporting.tables import event_count
from tests.support.parts import free_port
from tests.support.web import Gunicorn, log_in, seed_users

pytestmark = pytest.mark.integration

PASSWORD = "seuranta-salasana-7"
METRICS_TOKEN = secrets.token_urlsafe(24)
EVENT_TYPES = sorted(c.type for c in registry(str(PROJECT_ROOT / "contracts")))
USERS = {"coordinator": {"username": "coordinator@region", "role": "coordinator"},
         "manager of odl": {"username": "manager.odl@region", "role": "manager", "member_org": "odl"},
         "manager of none": {"username": "manager@region", "role": "manager"},
         "caseworker": {"username": "caseworker@region", "role": "caseworker"}}


def small_count(event_type: str) -> int:
    """1..4: each type's count at ODL is small, so every people-related one must be suppressed."""
    return 1 + EVENT_TYPES.index(event_type) % 4


@pytest.fixture(scope="module")
def database(pg):
    url = pg.create_database("access_reporting")
    for u in USERS.values():
        u["password"] = PASSWORD
    seed_users(url, "reporting", list(USERS.values()))   # gives each its API token
    engine = create_engine(sqlalchemy_url(url))
    now = datetime.now(timezone.utc)
    with engine.begin() as conn:
        conn.execute(insert(event_count), [
            *({"org_id": "odl", "event_type": t, "count": small_count(t), "last_event_at": now} for t in EVENT_TYPES),
            {"org_id": "oulu-social", "event_type": "fi.yhdistamo.referral.requested.v2", "count": 9,
             "last_event_at": now},
            {"org_id": "oulu-parish", "event_type": "fi.yhdistamo.consent.granted.v2", "count": 12,
             "last_event_at": now}])
    engine.dispose()
    yield url
    pg.drop_database("access_reporting")


@pytest.fixture(scope="module")
def web(database, tmp_path_factory):
    g = Gunicorn("reporting", {"ORG_ID": "region", "DATABASE_URL": database, "YHD_DEMO_MODE": "1",
                               "METRICS_TOKEN": METRICS_TOKEN},
                 tmp_path_factory.mktemp("reporting") / "web.log").start()
    yield g
    g.stop()


@pytest.fixture(scope="module")
def tokens(database):
    return {who: u["token"] for who, u in USERS.items()}


def api(web, path, token=None):
    return requests.get(web.url + path, headers={"Authorization": f"Bearer {token}"} if token else {}, timeout=10)


@pytest.fixture(scope="module")
def browsers(web):
    """A logged-in browser session per user (the login page, as a person uses it)."""
    sessions = {}
    for who, u in USERS.items():
        s = requests.Session()
        assert log_in(web.url, u["username"], PASSWORD, s).status_code == 302, who
        sessions[who] = s
    sessions["anonymous"] = requests.Session()
    return sessions


API_MATRIX = {  # who -> status of GET /api/v1/counts
    "anonymous": 401, "caseworker": 403, "manager of none": 403, "manager of odl": 200, "coordinator": 200}


@pytest.mark.parametrize("who", list(API_MATRIX))
def test_the_counts_api_answers_by_role(web, tokens, who):
    r = api(web, "/api/v1/counts", tokens.get(who))
    assert r.status_code == API_MATRIX[who], r.text
    if r.status_code != 200:
        assert r.headers["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize("who", list(API_MATRIX))
def test_the_dashboard_answers_by_role(browsers, web, who):
    r = browsers[who].get(web.url + "/", allow_redirects=False)
    if who == "anonymous":
        assert r.status_code == 302 and "/login" in r.headers["Location"]
    elif API_MATRIX[who] == 403:
        assert r.status_code == 403 and "ei ole oikeutta" in r.text
    else:
        assert r.status_code == 200 and "Alueellinen seuranta" in r.text


@pytest.mark.parametrize("who", list(API_MATRIX))
def test_the_public_view_is_open_to_everyone(web, browsers, tokens, who):
    assert api(web, "/api/v1/public/counts", tokens.get(who)).status_code == 200
    assert browsers[who].get(web.url + "/public").status_code == 200


def test_a_manager_sees_only_their_own_organisations_rows(web, tokens, browsers):
    assert set(api(web, "/api/v1/counts", tokens["manager of odl"]).json()) == {"odl"}
    page = browsers["manager of odl"].get(web.url + "/").text
    assert "Oulun Diakonissalaitoksen Säätiö" in page
    assert "Oulun kaupunki" not in page and "seurakuntayhtymä" not in page


def test_the_coordinator_sees_every_organisation(web, tokens, browsers):
    assert set(api(web, "/api/v1/counts", tokens["coordinator"]).json()) == {"odl", "oulu-social", "oulu-parish"}
    page = browsers["coordinator"].get(web.url + "/").text
    assert "Oulun Diakonissalaitoksen Säätiö" in page and "Oulun kaupunki" in page


def test_every_people_count_under_five_is_shown_as_under_five(web, tokens, browsers):
    odl = api(web, "/api/v1/counts", tokens["coordinator"]).json()["odl"]
    names = {t.removeprefix("fi.yhdistamo.").rsplit(".v", 1)[0]: small_count(t) for t in EVENT_TYPES}
    assert set(odl) == set(names)
    for name, n in names.items():
        assert odl[name] == (n if name.startswith("catalogue.") else "<5"), name
    page = browsers["coordinator"].get(web.url + "/").text
    for name, n in names.items():
        if not name.startswith("catalogue."):
            assert f'<code>{name}</code></td><td class="num">&lt;5</td>' in page, name


def test_the_public_view_holds_only_the_regions_suppressed_totals(web, browsers):
    totals = api(web, "/api/v1/public/counts").json()
    for name, rest in (("referral.requested", 9), ("consent.granted", 12)):  # in fives from 5 up
        n = rest + small_count(f"fi.yhdistamo.{name}.v2")
        assert totals[name] == n - n % 5, (name, n, totals[name])
    assert totals["referral.rejected"] == "<5" and totals["attendance.encounter-recorded"] == "<5"
    assert not set(totals) & {"odl", "oulu-social", "oulu-parish"}      # no organisation's rows
    page = browsers["anonymous"].get(web.url + "/public").text
    assert "Alueen julkiset luvut" in page and "Oulun Diakonissalaitoksen" not in page
    assert '<code>referral.rejected</code></td><td class="num">&lt;5</td>' in page


def test_the_openapi_document_tells_which_endpoint_needs_a_login(web):
    paths = api(web, "/openapi.json").json()["paths"]
    counts, public = paths["/api/v1/counts"]["get"], paths["/api/v1/public/counts"]["get"]
    assert counts["security"] == [{"bearer": []}] and {"200", "401", "403"} <= set(counts["responses"])
    assert "security" not in public and "401" not in public["responses"]
    shown = public["responses"]["200"]["content"]["application/json"]["schema"]["additionalProperties"]
    assert {"type": "string", "enum": ["<5"]} in shown["oneOf"]


def test_metrics_answer_only_the_metrics_token(web, tokens):
    assert api(web, "/metrics").status_code == 401
    assert api(web, "/metrics", tokens["coordinator"]).status_code == 401   # a user's token is not it
    r = api(web, "/metrics", METRICS_TOKEN)
    assert r.status_code == 200 and "yhd_http_request_duration_seconds" in r.text


def test_a_workers_metrics_port_answers_only_the_metrics_token(database, tmp_path):
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PROMETHEUS_")},
           "ORG_ID": "region", "DATABASE_URL": database, "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",
           "YHD_DEMO_MODE": "1", "METRICS_PORT": str(port), "METRICS_TOKEN": METRICS_TOKEN}
    log = open(tmp_path / "worker.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "services.reporting.worker", "relay"], env=env, cwd=PROJECT_ROOT,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        eventually(lambda: requests.get(url, timeout=5).status_code, 60, what="the worker's metrics port")
        refused = requests.get(url, timeout=5)
        assert refused.status_code == 401 and refused.headers["Content-Type"] == "application/problem+json"
        ok = requests.get(url, headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=5)
        assert ok.status_code == 200 and "yhd_outbox_backlog" in ok.text
    finally:
        proc.terminate()
        try:
            proc.wait(30)   # its relay may be waiting on the (unreachable) broker
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
