"""The public page "Löydä oma palvelusi" in a real headless Chromium against the stack's real processes:
a young person finds the HELMI café drop-in on the parish's catalogue instance (which lists every
organisation's services), reads it in Finnish, Swedish and English, with a keyboard only, on a phone and
without JavaScript; axe-core finds nothing serious or critical on the search, results and service pages."""
from __future__ import annotations

import re

import pytest

from devstack.client import eventually
from tests.browser.pages import PHONE, assert_accessible, screenshots, submit

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture reports it: a failure under CI=true, a skip elsewhere
    expect = None

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
HELMI = "Yhdistämön kohtaamispaikka HELMI-kahvilassa"
ODL = "Oulun Diakonissalaitoksen Säätiö"


@pytest.fixture(scope="module")
def parish(stack) -> str:
    """The parish's catalogue instance, once the other organisations' demo services have reached it."""
    eventually(lambda: "HELMI" in stack.call("oulu-parish", "catalogue", "GET", "/palvelut?q=HELMI", None).text,
               timeout=60)
    return stack.url("oulu-parish", "catalogue")


def result(page, name: str):
    return page.locator("article.card").filter(has=page.get_by_role("heading", name=name))


def test_a_young_person_finds_the_helmi_drop_in_and_reads_it_in_three_languages(parish, new_page, artifacts):
    page = new_page()
    response = page.goto(parish + "/")
    assert response.status == 200 and page.url.endswith("/palvelut")
    assert page.locator("html").get_attribute("lang") == "fi"
    expect(page.get_by_role("heading", level=1)).to_have_text("Löydä oma palvelusi")
    expect(page.get_by_role("heading", level=2, name=re.compile(r"^Löytyi \d+ palvelua$"))).to_be_visible()
    expect(page.locator("article.card .org").filter(has_text=ODL).first).to_be_visible()  # not only the parish's own
    assert_accessible(page, "public-search", artifacts)
    screenshots(page, "public-search", artifacts, phone=True)

    # search with a word and every kind of filter, the way a visitor would
    page.get_by_label("Mitä etsit?").fill("kohtaamispaikka")
    page.get_by_text("Rajaa hakua", exact=True).click()
    page.get_by_label("Palvelun tyyppi").select_option(label="Kohtaamispaikka")
    page.get_by_label("Alue", exact=True).select_option(label="Koko Oulu")
    page.get_by_label("Ikä", exact=True).fill("20")
    page.get_by_label("Maksuton").check()
    page.get_by_label("Avoinna päivänä").select_option(label="maanantai")
    assert submit(page, "Näytä palvelut", exact=True) == 200
    for name, value in (("q", "kohtaamispaikka"), ("category", "drop-in"), ("area", "oulu"), ("age", "20"),
                        ("free", "1"), ("day", "MO")):
        assert f"{name}={value}" in page.url, (name, page.url)
    expect(page.get_by_role("heading", level=2, name=re.compile(r"^Löytyi \d+ palvelua?$"))).to_be_visible()
    expect(page.locator(".in-use-list")).to_have_text(
        "Rajaukset: Kohtaamispaikka · Koko Oulu · Ikä: 20 · Avoinna päivänä: maanantai · Maksuton")
    card = result(page, HELMI)
    expect(card).to_have_count(1)
    for text in (ODL, "ma 13–17", "Isokatu 47, 90100 Oulu", "Maksuton", "Ei lähetettä, tule suoraan",
                 "18–35-vuotiaille", "Kohtaamispaikka"):
        expect(card).to_contain_text(text)
    assert "openstreetmap.org/?mlat=65.0089&mlon=25.4797" in card.get_by_role("link", name=re.compile("^Kartta")) \
        .get_attribute("href")
    assert card.get_by_role("link", name="+358 40 000 0121").get_attribute("href") == "tel:+358400000121"
    expect(page.locator("article.card").filter(has_text="Kiimingissä")).to_have_count(0)  # Wednesdays only
    expect(page.get_by_label("Ikä", exact=True)).to_have_value("20")  # the form remembers the search
    assert_accessible(page, "public-results", artifacts)
    screenshots(page, "public-results", artifacts, phone=True)

    # the service's own page: everything, with who published it
    with page.expect_navigation():
        card.get_by_role("link", name=HELMI).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(HELMI)
    hours = page.get_by_role("table", name="Viikoittaiset aukioloajat: ODL HELMI-kahvila")
    expect(hours.get_by_role("row", name="maanantai 13–17")).to_be_visible()
    expect(hours.get_by_role("row", name="tiistai suljettu")).to_be_visible()
    expect(page.get_by_role("heading", name="Poikkeukset ja suljetut päivät")).to_be_visible()
    expect(page.get_by_role("heading", level=3, name="ODL HELMI-kahvila")).to_be_visible()
    expect(page.locator(".provenance")).to_contain_text(f"Julkaissut: {ODL}, päivitetty ")
    expect(page.get_by_text("Tule paikalle, ilmoittautumista ei tarvita.")).to_be_visible()
    assert_accessible(page, "public-service", artifacts)
    screenshots(page, "public-service", artifacts, phone=True)

    # Swedish, then English: the publisher's own texts, the page's own words, the same service
    with page.expect_navigation():
        page.get_by_role("link", name="På svenska").click()
    assert page.locator("html").get_attribute("lang") == "sv" and "lang=sv" in page.url
    expect(page.get_by_role("heading", level=1)).to_have_text("Yhdistämös mötesplats i café HELMI")
    expect(page.get_by_role("table", name="Öppettider per vecka: ODL café HELMI")
           .get_by_role("row", name="måndag 13–17")).to_be_visible()
    expect(page.locator(".provenance")).to_contain_text("Publicerad av:")
    # no Swedish for getting there: the Finnish text, marked as Finnish
    expect(page.locator('span[lang="fi"]', has_text="Noin 10 minuutin kävely")).to_be_visible()
    assert_accessible(page, "public-service-sv", artifacts)
    screenshots(page, "public-service-sv", artifacts)

    with page.expect_navigation():
        page.get_by_role("link", name="In English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    expect(page.get_by_role("heading", level=1)).to_have_text("Yhdistämö drop-in at HELMI café")
    expect(page.get_by_role("table", name="Weekly opening hours: ODL HELMI café")
           .get_by_role("row", name="Monday 13–17")).to_be_visible()
    screenshots(page, "public-service-en", artifacts)

    # back to the same search, now in English
    with page.expect_navigation():
        page.get_by_role("link", name="Back to the search results").click()
    expect(page.get_by_label("What are you looking for?")).to_have_value("kohtaamispaikka")
    expect(result(page, "Yhdistämö drop-in at HELMI café")).to_contain_text("Mon 13–17")
    expect(page.get_by_role("heading", level=2, name=re.compile(r"^Found \d+ services?$"))).to_be_visible()


def test_keyboard_only_reaches_the_search_button_and_submits(parish, new_page, artifacts):
    page = new_page()
    page.goto(parish + "/palvelut")
    focused = []
    for _ in range(12):
        page.keyboard.press("Tab")
        focused.append(page.evaluate("(() => { const e = document.activeElement; return (e.id || "
                                     "e.textContent.trim()) + '|' + getComputedStyle(e).outlineStyle; })()"))
        if focused[-1].startswith("q|"):
            break
    assert focused[0].startswith("Siirry pääsisältöön|"), focused        # the skip link comes first
    assert focused[-1].startswith("q|"), f"the search field was not reached by Tab: {focused}"
    page.keyboard.type("kohtaamispaikka")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "search-button"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"  # focus shows
    page.screenshot(path=str(artifacts / "public-keyboard-focus.png"))
    with page.expect_navigation() as nav:
        page.keyboard.press("Enter")
    assert nav.value.status == 200 and "q=kohtaamispaikka" in page.url
    expect(result(page, HELMI)).to_have_count(1)


def test_search_works_without_javascript_and_bad_values_are_explained(parish, new_page, artifacts):
    page = new_page(java_script_enabled=False)
    page.goto(parish + "/palvelut?lang=sv")
    page.set_viewport_size(PHONE)
    expect(page.get_by_role("heading", level=1)).to_have_text("Hitta din tjänst")
    page.get_by_label("Vad söker du?").fill("kohtaamispaikka")
    page.get_by_text("Avgränsa sökningen", exact=True).click()   # <details> opens without scripts
    page.get_by_label("Ålder", exact=True).fill("abc")
    assert submit(page, "Visa tjänster", exact=True) == 400
    expect(page.get_by_role("alert")).to_contain_text("Ange åldern som ett heltal")
    expect(page.locator("#age-error")).to_contain_text("Ange åldern som ett heltal")
    screenshots(page, "public-error-nojs-phone", artifacts)
    page.get_by_label("Ålder", exact=True).fill("20")
    assert submit(page, "Sök", exact=True) == 200
    card = result(page, "Yhdistämös mötesplats i café HELMI")
    expect(card).to_contain_text("mån 13–17")
    expect(card).to_contain_text("Uleåborgs Diakonissanstalts stiftelse")
    page.screenshot(path=str(artifacts / "public-results-nojs-phone.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
