"""Caseworker pages in a real headless Chromium against the stack's real processes (issue "Referrals …
caseworker UI"): Finnish first with an English switch, usable with a keyboard and on a phone, and no
serious or critical accessibility violations found by axe-core."""
from __future__ import annotations

import random
import re
import uuid
from datetime import date, timedelta

import pytest
import requests

from devstack.client import eventually
from services.referrals.domain.identity import synthetic_identity_code
from tests.browser.pages import assert_accessible, screenshots, submit
from tests.support.people import synthetic_client

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture reports it: a failure under CI=true, a skip elsewhere
    expect = None

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
CITY = "Oulun kaupunki, aikuissosiaalityö"


# -- helpers ---------------------------------------------------------------------------
def log_in(page, stack, org, role="caseworker", heading="Työjono"):
    u = stack.user(org, role)
    page.goto(stack.url(org, "referrals", "/login"))
    page.get_by_label("Käyttäjätunnus").fill(u["username"])
    page.get_by_label("Salasana").fill(u["password"])
    page.get_by_role("button", name="Kirjaudu", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)


def new_identity_code() -> str:
    born = date.today().replace(year=date.today().year - 23) - timedelta(days=random.randrange(1, 300))
    return synthetic_identity_code(born, random.randrange(900, 1000))


# -- the whole loop ------------------------------------------------------------------
def test_caseworkers_of_two_organisations_run_a_referral_through_the_pages(stack, new_page, artifacts):
    odl = new_page()
    log_in(odl, stack, "odl")
    assert odl.locator("html").get_attribute("lang") == "fi"
    assert_accessible(odl, "home", artifacts)
    screenshots(odl, "home", artifacts, phone=True)

    # register a synthetic client
    name, code = f"Selma Selaintesti {uuid.uuid4().hex[:6]}", new_identity_code()
    odl.get_by_role("link", name="Asiakkaat").click()
    odl.get_by_role("link", name="Rekisteröi uusi asiakas").click()
    odl.get_by_label("Nimi").fill(name)
    odl.get_by_label("Henkilötunnus").fill(code)
    odl.get_by_label("Kotikunta").fill("Oulu")
    odl.get_by_label("Puhelin").fill("+358 40 000 0123")
    odl.get_by_label("Sähköposti").fill("selma@example.invalid")
    odl.get_by_label("Sukupuoli").select_option(label="nainen")
    assert submit(odl, "Rekisteröi", exact=True) == 200
    expect(odl.get_by_role("heading", level=1)).to_have_text(name)
    expect(odl.get_by_role("status")).to_contain_text("rekisteröity")
    client_url = odl.url

    # without consent the referral is refused, readably, and the note typed stays
    odl.get_by_role("link", name="Lähetä lähete").click()
    service_id = odl.locator(f'optgroup[label="{CITY}"] option').first.get_attribute("value")
    odl.get_by_label("Palvelu").select_option(service_id)
    odl.get_by_label("Saate vastaanottajalle").fill("Selaintesti: toivoo ohjausta arjen rytmiin.")
    assert submit(odl, "Lähetä", exact=True) == 409
    expect(odl.get_by_role("alert")).to_contain_text("ei ole antanut suostumusta")
    expect(odl.get_by_label("Saate vastaanottajalle")).to_have_value("Selaintesti: toivoo ohjausta arjen rytmiin.")
    assert "/referrals/new?client=" in odl.get_by_role("link", name="In English").get_attribute("href")

    # record the consent to the city's social work
    odl.goto(client_url)
    odl.get_by_label("Vastaanottava organisaatio").select_option(label=CITY)
    for category in ("Henkilöllisyys", "Yhteystiedot", "Taustatiedot", "Lähetteen tiedot"):
        odl.get_by_label(category).check()
    assert submit(odl, "Tallenna suostumus") == 200
    consent = odl.locator("#consents .item").filter(has_text=CITY)
    expect(consent).to_contain_text("voimassa")
    assert_accessible(odl, "client", artifacts)
    screenshots(odl, "client", artifacts, phone=True)

    # send the referral
    odl.get_by_role("link", name="Lähetä lähete").click()
    odl.get_by_label("Palvelu").select_option(service_id)
    odl.get_by_label("Saate vastaanottajalle").fill("Selaintesti: toivoo ohjausta arjen rytmiin.")
    assert submit(odl, "Lähetä", exact=True) == 200
    referral_id = re.search(r"/referrals/([0-9a-f-]{36})$", odl.url).group(1)
    expect(odl.locator("#state")).to_have_text("Lähetetty")

    # the city's caseworker sees it on the home page and opens it
    city = new_page()
    log_in(city, stack, "oulu-social")

    def arrived():
        city.reload()
        return city.locator(f'a[href="/referrals/{referral_id}"]').count() > 0
    eventually(arrived, timeout=60, interval=1)
    city.locator(f'a[href="/referrals/{referral_id}"]').first.click()
    personal = city.locator("#personal")
    for shown in (name, code, "selma@example.invalid", "Selaintesti: toivoo ohjausta"):
        expect(personal).to_contain_text(shown)
    expect(city.get_by_role("region", name="Kuka on käsitellyt tietoja")).to_contain_text("Lähetteen sivu avattu")
    assert_accessible(city, "referral-received", artifacts)

    # accept, start, complete, record the outcome
    for button, state in (("Hyväksy", "Hyväksytty"), ("Aloita", "Käynnissä"), ("Merkitse valmiiksi", "Valmis")):
        assert submit(city, button) == 200
        expect(city.locator("#state")).to_have_text(state)
    city.get_by_label("Ajankohta").select_option(label="Päättyessä")
    city.get_by_label(re.compile(r"^Tulos")).select_option(label="Kuntouttava työtoiminta")
    assert submit(city, "Tallenna tulos") == 200
    expect(city.locator("#outcome-list")).to_contain_text("Päättyessä: Kuntouttava työtoiminta")
    screenshots(city, "referral-received", artifacts, phone=True)

    # back at ODL: completed, with the outcome and the whole timeline
    def completed():
        odl.goto(stack.url("odl", "referrals", f"/referrals/{referral_id}"))
        return odl.locator("#state").inner_text() == "Valmis" and odl.locator("#outcome-list").count() > 0
    eventually(completed, timeout=60, interval=1)
    expect(odl.locator("#outcome-list")).to_contain_text("Kuntouttava työtoiminta")
    timeline = odl.locator(".timeline li .what").all_inner_texts()
    assert timeline == ["Lähetetty", "Hyväksytty", "Käynnissä", "Valmis"]
    assert_accessible(odl, "referral-sent", artifacts)
    screenshots(odl, "referral-sent", artifacts, phone=True)


def test_withdrawing_consent_on_the_client_page_restricts_the_data_at_the_receiver(stack, new_page, artifacts):
    client_id = stack.client_with_consent("odl", "oulu-social", synthetic_client())
    sent = stack.call("odl", "referrals", "POST", "/api/v1/referrals", json={
        "client_id": client_id, "service_id": stack.target("odl", "oulu-social")["service_id"]}).json()
    city = new_page()
    log_in(city, stack, "oulu-social")
    at_city = stack.url("oulu-social", "referrals", f"/referrals/{sent['id']}")
    eventually(lambda: city.goto(at_city).status == 200, timeout=60, interval=1)
    expect(city.locator("#personal")).to_be_visible()
    odl = new_page()
    log_in(odl, stack, "odl")
    odl.goto(stack.url("odl", "referrals", f"/clients/{client_id}"))
    assert submit(odl, "Peru suostumus") == 200
    expect(odl.locator("#consents .item").filter(has_text=CITY)).to_contain_text("peruttu")

    def restricted():
        city.reload()
        return city.get_by_text("Tiedot rajoitettu.").count() > 0
    eventually(restricted, timeout=60, interval=1)
    assert city.locator("#personal").count() == 0
    assert_accessible(city, "referral-restricted", artifacts)


# -- forms, language, keyboard ----------------------------------------------------------
def test_a_wrong_identity_code_shows_the_finnish_message_and_keeps_what_was_typed(stack, new_page, artifacts):
    page = new_page()
    log_in(page, stack, "odl")
    page.goto(stack.url("odl", "referrals", "/clients/new"))
    page.get_by_label("Nimi").fill("Virhe Testinen")
    page.get_by_label("Henkilötunnus").fill("010199-9035")   # the check character should be N
    page.get_by_label("Kotikunta").fill("Kiiminki")
    assert submit(page, "Rekisteröi", exact=True) == 422
    field = page.get_by_label("Henkilötunnus")
    expect(page.locator("#identity_code-error")).to_contain_text("Henkilötunnus ei kelpaa")
    expect(page.get_by_role("alert")).to_contain_text("Henkilötunnus ei kelpaa")
    expect(field).to_have_attribute("aria-invalid", "true")
    assert "identity_code-error" in field.get_attribute("aria-describedby")
    expect(field).to_have_value("010199-9035")
    expect(page.get_by_label("Nimi")).to_have_value("Virhe Testinen")
    expect(page.get_by_label("Kotikunta")).to_have_value("Kiiminki")
    assert_accessible(page, "client-new-error", artifacts)
    screenshots(page, "client-new-error", artifacts, phone=True)


def test_the_english_switch_is_remembered_and_switches_back(stack, new_page, artifacts):
    page = new_page()
    page.goto(stack.url("odl", "referrals", "/login"))
    page.get_by_role("link", name="In English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
    assert page.locator("html").get_attribute("lang") == "en"
    u = stack.user("odl")
    page.get_by_label("Username").fill(u["username"])
    page.get_by_label("Password").fill(u["password"])
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Inbox")
    page.get_by_role("link", name="Clients").click()                     # remembered without ?lang
    expect(page.get_by_role("heading", level=1)).to_have_text("Clients")
    expect(page.get_by_text("Oulu Deaconess Institute Foundation")).to_be_visible()   # names from the federation
    screenshots(page, "clients-en", artifacts)
    page.get_by_role("link", name="Suomeksi").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Asiakkaat")
    assert page.locator("html").get_attribute("lang") == "fi"


def test_the_login_form_can_be_used_with_the_keyboard_alone(stack, new_page, artifacts):
    page = new_page()
    page.goto(stack.url("odl", "referrals", "/login"))
    assert_accessible(page, "login", artifacts)
    screenshots(page, "login", artifacts, phone=True)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Siirry sisältöön")
    expect(skip).to_be_focused()
    assert skip.bounding_box()["y"] >= 0                     # the skip link shows itself when focused
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "username":
            break
    focused = page.get_by_label("Käyttäjätunnus")
    expect(focused).to_be_focused()
    assert focused.evaluate("e => getComputedStyle(e).outlineStyle") != "none"   # visible focus
    u = stack.user("odl")
    page.keyboard.type(u["username"])
    page.keyboard.press("Tab")
    expect(page.get_by_label("Salasana")).to_be_focused()
    page.keyboard.type(u["password"])
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Työjono")


# -- sessions, CSRF, roles ----------------------------------------------------------------
def test_pages_need_a_login_and_every_form_post_needs_the_session_token(stack):
    base = stack.url("odl", "referrals")
    r = requests.get(base + "/clients?search=x", allow_redirects=False, timeout=10)
    assert r.status_code == 302 and r.headers["Location"].startswith("/login?next=")
    s = requests.Session()
    u = stack.user("odl")
    assert s.post(base + "/login", data={"username": u["username"], "password": u["password"]},
                  timeout=10).status_code == 403                     # no token: refused
    token = re.search(r'name="csrf_token" value="([^"]+)"', s.get(base + "/login", timeout=10).text).group(1)
    r = s.post(base + "/login", data={"username": u["username"], "password": "not-the-password",
                                       "csrf_token": token}, timeout=10)
    assert r.status_code == 401 and "Käyttäjätunnus tai salasana on väärin" in r.text
    r = s.post(base + "/login", data={"username": u["username"], "password": u["password"], "csrf_token": token},
               allow_redirects=False, timeout=10)
    assert r.status_code == 302
    person = synthetic_client()
    r = s.post(base + "/clients/new", data=person, timeout=10)       # logged in, but no token
    assert r.status_code == 403 and "suojaustunniste" in r.text
    assert "Ei asiakkaita." in s.get(base + "/clients", params={"search": person["identity_code"]}, timeout=10).text
    # the API still takes bearer tokens (and not another organisation's session)
    assert stack.call("odl", "referrals", "GET", "/api/v1/inbox").status_code == 200
    other = requests.get(stack.url("oulu-social", "referrals", "/"), cookies=s.cookies.get_dict(),
                         allow_redirects=False, timeout=10)
    assert other.status_code == 302


def test_the_registrar_prints_a_clients_data_report(stack, new_page, artifacts):
    person = synthetic_client()
    client = stack.call("odl", "referrals", "POST", "/api/v1/clients", json=person).json()
    page = new_page()
    log_in(page, stack, "odl", role="registrar", heading="Rekisteröidyn tietopyyntö")
    page.get_by_label("Asiakkaan tunniste").fill(client["id"])
    page.get_by_role("button", name="Avaa raportti").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Tietopyyntöraportti: {person['name']}")
    expect(page.get_by_text(person["identity_code"])).to_be_visible()
    uses = page.get_by_role("region", name="Tietojen käyttö")
    expect(uses).to_contain_text("Asiakas rekisteröity")            # the API's registration, in Finnish
    expect(uses).to_contain_text("Tietopyyntöraportti avattu")       # and this very read
    assert_accessible(page, "report", artifacts)
    screenshots(page, "report", artifacts)
    page.goto(stack.url("odl", "referrals", "/clients"))            # casework pages are not the registrar's
    expect(page.get_by_role("alert")).to_contain_text("ei ole oikeutta")
