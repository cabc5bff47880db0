"""Attendance's client directory against referrals as production runs it (gunicorn with deploy/gunicorn.conf.py,
real HTTP through requests): 200 ids fit one request line, more go in batches, and a referrals that stops
answering or is gone is a 503 DirectoryUnavailable within the timeout."""
from __future__ import annotations

import os
import signal
import time
import uuid

import pytest
import requests

from services.attendance.directory import ClientDirectory, DirectoryUnavailable
from tests.support.people import synthetic_client
from tests.support.web import Gunicorn, seed_users

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def referrals(pg, tmp_path_factory):
    url = pg.create_database("directory_http_referrals")
    users = [{"username": "caseworker@odl", "role": "caseworker"}, {"username": "attendance-service", "role": "service"}]
    seed_users(url, "referrals", users)
    g = Gunicorn("referrals", {"ORG_ID": "odl", "DATABASE_URL": url, "YHD_DEMO_MODE": "1"},
                 tmp_path_factory.mktemp("gunicorn") / "web.log").start()
    cw = {"Authorization": f"Bearer {users[0]['token']}"}
    clients = [requests.post(f"{g.url}/api/v1/clients", json=synthetic_client(seed), headers=cw, timeout=10).json()
               for seed in (201, 202)]
    yield g, users[1]["token"], clients
    g.stop()
    pg.drop_database("directory_http_referrals")


def test_200_ids_go_in_one_request_and_more_in_batches(referrals):
    g, token, clients = referrals
    d = ClientDirectory(g.url, token)
    ids = [uuid.UUID(c["id"]) for c in clients]
    one_page = ids[:1] + [uuid.uuid4() for _ in range(199)]
    assert set(d.cards(one_page, acting_for="caseworker@odl")) == {ids[0]}
    many = [uuid.uuid4() for _ in range(300)] + ids
    cards = d.cards(many, acting_for="caseworker@odl", purpose="attendance")
    assert {k: v.name for k, v in cards.items()} == {uuid.UUID(c["id"]): c["name"] for c in clients}
    assert [c.id for c in d.search(clients[1]["name"], acting_for="caseworker@odl")].count(ids[1]) == 1


def test_a_referrals_that_stops_answering_is_unavailable_within_the_timeout(referrals):
    g, token, clients = referrals
    d = ClientDirectory(g.url, token, timeout=0.5)
    os.killpg(g.proc.pid, signal.SIGSTOP)
    try:
        t = time.monotonic()
        with pytest.raises(DirectoryUnavailable) as e:
            d.cards([clients[0]["id"]], acting_for="caseworker@odl")
        assert time.monotonic() - t < 5 and "did not answer within 0.5 s" in e.value.detail
    finally:
        os.killpg(g.proc.pid, signal.SIGCONT)


def test_a_referrals_that_is_not_there_is_unavailable():
    d = ClientDirectory("http://127.0.0.1:9", "yhd_any", timeout=2)
    with pytest.raises(DirectoryUnavailable) as e:
        d.search("Aino", acting_for="caseworker@odl")
    assert e.value.status == 503 and "cannot be reached" in e.value.detail
