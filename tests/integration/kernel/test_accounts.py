"""Accounts (issue 13, item 5), against real gunicorn processes on a real database: the per-account
lockout (shared by two workers) and its end, the per-address limit (429 page and problem+json), the log
of failed logins, logout ending a captured cookie, and the cookie's Secure and SameSite flags."""
from __future__ import annotations

import time

import pytest
import requests
from sqlalchemy import create_engine, select

from devstack.client import eventually
from services.kernel.config import sqlalchemy_url
from services.kernel.tables import login_attempt
from tests.support.web import Gunicorn, csrf_of, log_in, seed_users

pytestmark = pytest.mark.integration

PASSWORD = "oikea-salasana-42"
LOCKOUT_SECONDS = 4


@pytest.fixture(scope="module")
def database(pg):
    url = pg.create_database("accounts_referrals")
    seed_users(url, "referrals", [{"username": f"{name}@odl", "role": "caseworker", "password": PASSWORD}
                                  for name in ("lock", "log", "cookie", "limit", "flags")])
    yield url
    pg.drop_database("accounts_referrals")


def referrals(database, tmp_path_factory, workers=2, **env) -> Gunicorn:
    log = tmp_path_factory.mktemp("gunicorn") / "web.log"
    return Gunicorn("referrals", {"ORG_ID": "odl", "DATABASE_URL": database, "YHD_DEMO_MODE": "1",
                                  "LOGIN_ADDRESS_LIMIT": "1000 per hour", **env}, log, workers).start()


@pytest.fixture(scope="module")
def web(database, tmp_path_factory):
    """Two workers: the lockout is counted in the database, so it holds whichever worker answers."""
    g = referrals(database, tmp_path_factory, workers=2, LOGIN_MAX_FAILURES="3",
                  LOGIN_LOCKOUT_SECONDS=str(LOCKOUT_SECONDS))
    yield g
    g.stop()


def attempts(database, username):
    engine = create_engine(sqlalchemy_url(database))
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(
            select(login_attempt).where(login_attempt.c.username == username).order_by(login_attempt.c.id))]
    engine.dispose()
    return rows


def test_wrong_passwords_lock_the_account_for_a_while_then_it_opens_again(web, database):
    for _ in range(3):   # each a new connection: the two workers share the count
        assert log_in(web.url, "lock@odl", "väärä").status_code == 401
    locked = log_in(web.url, "lock@odl", PASSWORD)  # even the right password: not checked while locked
    assert locked.status_code == 429
    assert "lukittu" in locked.text and "yritä uudelleen" in locked.text
    assert 1 <= int(locked.headers["Retry-After"]) <= LOCKOUT_SECONDS
    assert [a["result"] for a in attempts(database, "lock@odl")] == ["failed", "failed", "failed", "locked"]
    # open again once the window has passed since the first failure (a generous bound for a loaded machine)
    opened = eventually(lambda: (r := log_in(web.url, "lock@odl", PASSWORD)).status_code == 302 and r,
                        LOCKOUT_SECONDS + 30, interval=0.5, what="the lockout to end")
    assert opened.headers["Location"].endswith("/")
    assert attempts(database, "lock@odl")[-1]["result"] == "ok"


def test_failed_logins_are_logged_with_username_address_and_time_never_the_password(web, database):
    before = time.time()
    assert log_in(web.url, "log@odl", "salainen-arvaus-1").status_code == 401
    assert log_in(web.url, "nobody@odl", "salainen-arvaus-2").status_code == 401   # unknown users too
    for username, guess in (("log@odl", "salainen-arvaus-1"), ("nobody@odl", "salainen-arvaus-2")):
        [row] = attempts(database, username)
        assert row["result"] == "failed" and row["address"] == "127.0.0.1"
        assert before - 5 <= row["at"].timestamp() <= time.time() + 5
        assert guess not in repr(row)


def test_logout_ends_the_session_for_a_captured_copy_of_its_cookie(web):
    browser = requests.Session()
    assert log_in(web.url, "cookie@odl", PASSWORD, browser).status_code == 302
    captured = dict(browser.cookies)               # what someone copied from the browser
    thief = requests.Session()
    thief.cookies.update(captured)
    assert thief.get(web.url + "/", allow_redirects=False).status_code == 200
    home = browser.get(web.url + "/")
    assert browser.post(web.url + "/logout", data={"csrf_token": csrf_of(home.text)},
                        allow_redirects=False).status_code == 302
    after = requests.Session()
    after.cookies.update(captured)
    refused = after.get(web.url + "/", allow_redirects=False)
    assert refused.status_code == 302 and "/login" in refused.headers["Location"]
    assert log_in(web.url, "cookie@odl", PASSWORD).status_code == 302   # logging in again works


def test_too_many_failures_from_one_address_answer_429_on_the_page_and_problem_json_on_the_api(
        database, tmp_path_factory):
    g = referrals(database, tmp_path_factory, workers=1, LOGIN_ADDRESS_LIMIT="3 per 4 seconds")
    try:
        for n in range(3):   # different usernames: the per-account lockout is not what stops them
            assert log_in(g.url, f"guess{n}@odl", "väärä").status_code == 401
        page = requests.get(g.url + "/login", timeout=10)   # the address is refused, the login page too
        assert page.status_code == 429 and "text/html" in page.headers["Content-Type"]
        assert "liian monta kertaa" in page.text and int(page.headers["Retry-After"]) >= 1
        api = requests.get(g.url + "/api/v1/referrals", headers={"Authorization": "Bearer yhd_wrong"}, timeout=10)
        assert api.status_code == 429 and api.headers["Content-Type"] == "application/problem+json"
        assert api.json()["type"].endswith("/too-many-attempts")
        eventually(lambda: requests.get(g.url + "/login", timeout=10).status_code == 200, 30, interval=0.5,
                   what="the address limit to pass")
        assert log_in(g.url, "limit@odl", PASSWORD).status_code == 302
    finally:
        g.stop()


def test_bad_api_tokens_count_for_the_address_limit_too(database, tmp_path_factory):
    g = referrals(database, tmp_path_factory, workers=1, LOGIN_ADDRESS_LIMIT="2 per 30 seconds")
    try:
        codes = [requests.get(g.url + "/api/v1/referrals", headers={"Authorization": f"Bearer yhd_guess{n}"},
                              timeout=10).status_code for n in range(3)]
        assert codes == [401, 401, 429]
    finally:
        g.stop()


def test_the_session_cookie_is_secure_and_samesite_as_configured(database, tmp_path_factory):
    g = referrals(database, tmp_path_factory, workers=1, SESSION_COOKIE_SECURE="true",
                  SESSION_COOKIE_SAMESITE="Strict")
    try:
        # the login form's session (its CSRF token) is the first cookie; a client over plain HTTP
        # would not send a Secure cookie back, so its login could not even pass the CSRF check
        cookie = requests.get(g.url + "/login", timeout=10).headers["Set-Cookie"]
        assert cookie.startswith("yhd-odl-referrals=")
        assert "; Secure" in cookie and "SameSite=Strict" in cookie and "HttpOnly" in cookie
    finally:
        g.stop()


def test_demo_mode_alone_sends_the_cookie_over_plain_http(web):
    cookie = log_in(web.url, "flags@odl", PASSWORD).headers["Set-Cookie"]
    assert "Secure" not in cookie and "SameSite=Lax" in cookie
