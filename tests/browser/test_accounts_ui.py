"""Accounts and reporting in a real headless Chromium against the stack's real processes (issue 13, items
5 and 6): the regional dashboard needs a login, logout ends the session even for a copied cookie, a
locked account is told so in Finnish, and the public figures need no login."""
from __future__ import annotations

import re

import pytest

from tests.browser.pages import assert_accessible, screenshots

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture reports it: a failure under CI=true, a skip elsewhere
    expect = None

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def log_in(page, url, user):
    page.get_by_label("Käyttäjätunnus").fill(user["username"])
    page.get_by_label("Salasana").fill(user["password"])
    with page.expect_navigation() as nav:
        page.get_by_role("button", name="Kirjaudu", exact=True).click()
    return nav.value.status


def test_the_dashboard_needs_a_login_and_logout_ends_even_a_copied_cookie(stack, new_page, artifacts):
    page = new_page()
    base = stack.desc["reporting"]
    page.goto(base + "/")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    assert_accessible(page, "reporting-login", artifacts)
    assert log_in(page, base, stack.user("region", "coordinator")) == 200
    expect(page.get_by_role("heading", level=1)).to_contain_text("Alueellinen seuranta")
    expect(page.get_by_text("koko alueelta")).to_be_visible()
    assert_accessible(page, "reporting-dashboard", artifacts)
    screenshots(page, "reporting-dashboard", artifacts, phone=True)
    captured = page.context.cookies()                       # what someone copied out of this browser
    thief = new_page()
    thief.context.add_cookies(captured)
    thief.goto(base + "/")
    expect(thief.get_by_role("heading", level=1)).to_contain_text("Alueellinen seuranta")
    page.get_by_role("button", name="Kirjaudu ulos").click()
    expect(page.get_by_text("Olet kirjautunut ulos.")).to_be_visible()
    later = new_page()
    later.context.add_cookies(captured)
    later.goto(base + "/")
    expect(later).to_have_url(re.compile(r"/login\?next="))        # the copy ended with the session


def test_a_manager_sees_only_their_own_organisation_on_the_dashboard(stack, new_page):
    page = new_page()
    base = stack.desc["reporting"]
    page.goto(base + "/login")
    manager = next(u for u in stack.desc["reporting_users"] if u["member_org"] == "odl")
    assert log_in(page, base, manager) == 200
    expect(page.get_by_text("Organisaation Oulun Diakonissalaitoksen Säätiö tapahtumat.")).to_be_visible()
    assert "Oulun kaupunki" not in page.content()


def test_the_public_figures_need_no_login(stack, new_page, artifacts):
    page = new_page()
    page.goto(stack.desc["reporting"] + "/public")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Alueen julkiset luvut")
    assert_accessible(page, "reporting-public", artifacts)


def test_a_locked_account_is_told_in_finnish_how_long_to_wait(stack, new_page, artifacts):
    page = new_page()
    base = stack.url("odl", "referrals")
    page.goto(base + "/login")
    guesser = {"username": "lukittava@odl", "password": "arvaus"}    # nobody else's account: 15 minutes locked
    statuses = [log_in(page, base, guesser) for _ in range(5)]
    assert statuses == [401] * 5
    assert log_in(page, base, guesser) == 429
    expect(page.get_by_role("alert")).to_contain_text("Tunnus on lukittu hetkeksi")
    expect(page.get_by_label("Käyttäjätunnus")).to_have_value("lukittava@odl")
    assert_accessible(page, "login-locked", artifacts)
    screenshots(page, "login-locked", artifacts)
