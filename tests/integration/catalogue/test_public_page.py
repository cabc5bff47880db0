"""The public page "Löydä oma palvelusi" through Flask's test client, on a real database (no broker needed):
the federation directory is filled as the catalogue's consumer fills it, then searched through the pages."""
from __future__ import annotations

import re
import uuid

import pytest

from services.catalogue.app import create_app
from services.catalogue.web import filters
from services.kernel.config import Settings

pytestmark = pytest.mark.integration

HELMI_ID, FOOD_ID, DUTY_ID, CLOSED_ID, KOUVOLA_ID, GONE_ID = (str(uuid.uuid4()) for _ in range(6))
HELMI_PLACE = {"id": str(uuid.uuid4()), "version": 1, "name": {"fi": "HELMI-kahvila", "en": "HELMI café"},
               "address": {"street": "Isokatu 47", "postal_code": "90100", "city": "Oulu"},
               "area": "oulu-keskusta", "latitude": 65.0118, "longitude": 25.472,
               "accessibility": {"fi": "Esteetön sisäänkäynti Isokadun puolelta."}}
PARISH_PLACE = {"id": str(uuid.uuid4()), "version": 1, "name": {"fi": "Diakoniakeskus", "sv": "Diakonicentret"},
                "address": {"street": "Asemakatu 5", "postal_code": "90100", "city": "Oulu"}, "area": "oulu-keskusta"}


def service(**doc) -> dict:
    return {"delivery_modes": ["in-person"], "languages": ["fi"], "areas": ["oulu"], "referral_required": False,
            "free": True, "phones": [], "contacts": [], "location_ids": [], "opening_hours": [], "exceptions": [],
            **doc}


SERVICES = [
    (HELMI_ID, "odl", "active", None, [HELMI_PLACE], service(
        name={"fi": "Yhdistämön kohtaamispaikka HELMI-kahvilassa", "en": "Yhdistämö drop-in at HELMI café"},
        description={"fi": "Avoin kohtaamispaikka maanantaisin, ei ajanvarausta.",
                     "en": "Open drop-in on Mondays, no appointment."},
        categories=["drop-in"], areas=["oulu-keskusta"], min_age=15, max_age=35, location_ids=[HELMI_PLACE["id"]],
        opening_hours=[{"days": ["MO"], "opens_at": "13:00", "closes_at": "17:00"}],
        exceptions=[{"starts_on": "2099-12-21", "ends_on": "2099-12-21", "closed": True,
                     "reason": {"fi": "Joulutauko"}},
                    {"starts_on": "2099-12-28", "ends_on": "2099-12-28", "closed": False, "opens_at": "10:00",
                     "closes_at": "12:30"}],
        phones=[{"number": "+358 40 000 0047", "description": {"fi": "Kahvilan puhelin"}}],
        email="helmi@example.invalid", capacity={"available": 5, "maximum": 20, "waitlist": 2},
        application_process={"fi": "Tule paikalle, ilmoittautumista ei tarvita."},
        eligibility={"fi": "18–35-vuotiaat oululaiset."},
        contacts=[{"name": "Ohjaaja Testinen", "title": {"fi": "Yhteisöohjaaja"}, "phone": "+358 40 000 0048"}])),
    (FOOD_ID, "oulu-parish", "active", None, [PARISH_PLACE], service(
        name={"fi": "Ruoka-apu", "sv": "Mathjälp", "en": "Food aid"},
        description={"fi": "Ruokakassit ja yhteinen ateria."}, categories=["food-aid"],
        location_ids=[PARISH_PLACE["id"]],
        opening_hours=[{"days": ["TU", "WE", "TH"], "opens_at": "09:30", "closes_at": "12:00"}])),
    (DUTY_ID, "oulu-social", "active", None, [], service(
        name={"fi": "Sosiaalipäivystys"}, categories=["social-services"], referral_required=True, free=False,
        fees={"fi": "Asiakasmaksu tulojen mukaan"},
        opening_hours=[{"days": ["MO", "TU", "WE", "TH", "FR", "SA", "SU"], "opens_at": "00:00",
                        "closes_at": "24:00"}])),
    (CLOSED_ID, "nuorten-polku", "temporarily-closed", {"fi": "Remontti", "sv": "Renovering"}, [], service(
        name={"fi": "Nuorten iltakahvila"}, categories=["drop-in"],
        opening_hours=[{"days": ["MO"], "opens_at": "16:00", "closes_at": "20:00"}])),
    (KOUVOLA_ID, "odl", "active", None, [], service(
        name={"fi": "Kouvolan kohtaamispaikka"}, categories=["drop-in"], areas=["kouvola"],
        opening_hours=[{"days": ["MO"], "opens_at": "13:00", "closes_at": "17:00"}])),
    (GONE_ID, "odl", "active", None, [], service(name={"fi": "Lopetettu palvelu"}, categories=["leisure"])),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory, request):
    """A catalogue instance of the parish whose directory holds the other organisations' services."""
    pg = request.getfixturevalue("pg")
    url = pg.create_database(f"public_{uuid.uuid4().hex[:10]}")
    settings = Settings(org_id="oulu-parish", service="catalogue", database_url=url.replace(
        "postgresql://", "postgresql+psycopg://"), kafka_bootstrap_servers="127.0.0.1:9")
    app = create_app(settings)
    ctx = app.extensions["yhd"]
    with ctx.uow() as uow:
        for sid, org, status, reason, places, doc in SERVICES:
            data = {"service_id": sid, "organization_id": org, "version": 1, "status": status,
                    "published_at": "2026-11-25T10:00:00Z", "service": doc, "locations": places}
            if reason:
                data["closed_reason"] = reason
            uow.directory.apply_published(data, f"ev-{sid}")
        uow.directory.apply_withdrawn({"service_id": GONE_ID, "organization_id": "odl", "version": 2,
                                       "withdrawn_at": "2026-11-26T10:00:00Z"}, f"ev-{GONE_ID}-2")
        uow.commit()
    yield app.test_client()
    ctx.dispose()


def page(client, url, status=200) -> str:
    r = client.get(url)
    assert r.status_code == status, r.get_data(as_text=True)[:2000]
    assert r.mimetype == "text/html"
    return r.get_data(as_text=True)


def cards(html: str) -> list[str]:
    return re.findall(r'<article class="card".*?</article>', html, re.S)


def text_of(html: str) -> str:
    """The words a reader sees (tags as spaces, no space before punctuation)."""
    return re.sub(r" ([:,.])", r"\1", re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def test_front_page_is_the_search(site):
    r = site.get("/?lang=sv")
    assert r.status_code == 302 and r.headers["Location"].endswith("/palvelut?lang=sv")


def test_without_criteria_every_organisations_public_services_are_listed(site):
    html = page(site, "/palvelut")
    assert '<html lang="fi">' in html and "Löytyi 5 palvelua" in html
    found = text_of(html)
    for name in ("Yhdistämön kohtaamispaikka", "Ruoka-apu", "Sosiaalipäivystys", "Nuorten iltakahvila"):
        assert name in found
    assert "Lopetettu palvelu" not in found  # withdrawn
    for org in ("Oulun Diakonissalaitoksen Säätiö", "Oulun kaupunki, aikuissosiaalityö", "Nuorten Polku ry"):
        assert org in found


def test_the_drop_in_is_found_with_text_and_filters(site):
    html = page(site, "/palvelut?q=kohtaamispaikka&category=drop-in&area=oulu&age=20&free=1&no_referral=1&day=MO")
    [card] = cards(html)
    found = text_of(card)
    assert "Yhdistämön kohtaamispaikka HELMI-kahvilassa" in found and "Oulun Diakonissalaitoksen Säätiö" in found
    assert "ma 13–17" in found and "Isokatu 47, 90100 Oulu" in found and "15–35-vuotiaille" in found
    assert "Maksuton" in found and "Ei lähetettä, tule suoraan" in found and "Kohtaamispaikka" in found
    assert "https://www.openstreetmap.org/?mlat=65.0118&amp;mlon=25.472" in card
    assert 'href="tel:+358400000047"' in card and 'href="mailto:helmi@example.invalid"' in card
    assert f'href="/palvelut/{HELMI_ID}?q=kohtaamispaikka&amp;category=drop-in' in card  # the search travels along
    assert "Löytyi 1 palvelu" in html
    assert ("Rajaukset: Kohtaamispaikka · Koko Oulu · Ikä: 20 · Avoinna päivänä: maanantai · Maksuton · "
            "Ei tarvitse lähetettä") in text_of(html)
    assert '<details class="filters">' in html   # closed: on a phone the results follow the search box


def test_filters_narrow_the_results(site):
    assert "Kouvolan" not in page(site, "/palvelut?area=oulu&category=drop-in")
    assert len(cards(page(site, "/palvelut?area=kouvola"))) == 1
    assert len(cards(page(site, "/palvelut?age=40&category=drop-in"))) == 2   # ages 15–35 left out
    assert "Sosiaalipäivystys" not in page(site, "/palvelut?no_referral=1")
    assert "Sosiaalipäivystys" not in page(site, "/palvelut?free=1")
    assert "Ruoka-apu" in page(site, "/palvelut?day=WE") and "HELMI" not in page(site, "/palvelut?day=WE")
    assert "Ruoka-apu" in page(site, "/palvelut?date=2099-12-23")   # a Wednesday
    assert "HELMI" not in page(site, "/palvelut?date=21.12.2099")    # a Monday, but closed that day


def open_at_this_moment() -> set[str]:
    """The active fixture services whose weekly hours include now, Helsinki time (food aid and the Monday
    drop-ins are open at some hours of the week, the social duty always): the test holds at any hour."""
    from datetime import datetime
    from zoneinfo import ZoneInfo
    now = datetime.now(ZoneInfo("Europe/Helsinki"))
    day, hm = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")[now.weekday()], now.strftime("%H:%M")
    return {doc["name"]["fi"] for _, _, status, _, _, doc in SERVICES if status == "active"
            and any(day in h["days"] and h["opens_at"] <= hm < h["closes_at"] for h in doc["opening_hours"])}


def test_open_now_badge_and_temporarily_closed_notice(site):
    html = page(site, "/palvelut")
    duty = next(c for c in cards(html) if "Sosiaalipäivystys" in c)
    assert "Avoinna nyt" in duty and "ma–su 0–24" in text_of(duty)
    assert "Vaatii lähetteen" in duty and "Maksullinen: Asiakasmaksu tulojen mukaan" in text_of(duty)
    closed = next(c for c in cards(html) if "Nuorten iltakahvila" in c)
    assert "Tilapäisesti suljettu: Remontti" in text_of(closed) and "Avoinna nyt" not in closed
    open_now = cards(page(site, "/palvelut?open_now=1"))
    assert len(open_now) == len(open_at_this_moment()) and "Sosiaalipäivystys" in "".join(open_now)
    assert {n for n in open_at_this_moment() if any(n in c for c in open_now)} == open_at_this_moment()
    # the service pages say the same (the same SQL decides)
    detail = lambda card: page(site, re.search(r'href="(/palvelut/[0-9a-f-]{36})', card).group(1))  # noqa: E731
    assert "Avoinna nyt" in detail(duty) and "Avoinna nyt" not in detail(closed)


def test_nothing_found_says_so_with_a_hint(site):
    html = page(site, "/palvelut?q=horoskooppipalvelu")
    assert "Hakuehdoilla ei löytynyt palveluja." in html and "Kokeile näitä" in html and not cards(html)
    assert "Löytyi 0 palvelua" in html and '<details class="filters">' in html
    narrowed = page(site, "/palvelut?q=kohtaamispaikka&area=rovaniemi")
    assert "Hakuehdoilla ei löytynyt palveluja." in narrowed and '<details class="filters" open>' in narrowed


def test_paging_goes_back_and_forth(site, monkeypatch):
    monkeypatch.setattr(filters, "PER_PAGE", 2)
    first = page(site, "/palvelut?category=drop-in&category=food-aid&category=social-services")
    assert len(cards(first)) == 2 and "Sivu 1/3" in first and 'rel="next"' in first and 'rel="prev"' not in first
    second = page(site, "/palvelut?category=drop-in&category=food-aid&category=social-services&page=2")
    assert 'rel="prev"' in second and 'rel="next"' in second and "Sivu 2/3" in second
    past = page(site, "/palvelut?page=99")
    assert "Tällä sivulla ei ole enempää tuloksia." in past


def test_bad_filter_values_are_explained_next_to_their_fields(site):
    r = site.get("/palvelut?age=abc&date=2026-13-45&category=horoscopes&area=atlantis&mode=teleport")
    assert r.status_code == 400 and r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    assert "Tarkista hakuehdot" in html and 'role="alert"' in html and '<details class="filters" open>' in html
    for field, message in (("age", "Anna ikä kokonaislukuna"), ("date", "Anna päivämäärä muodossa 24.12.2026"),
                           ("category", "Valitse palvelun tyyppi listasta"), ("area", "Valitse alue listasta"),
                           ("mode", "Valitse toteutustapa")):
        assert re.search(rf'id="{field}-error">.*?{message}', html, re.S), field
        assert f'href="#{field}"' in html
    assert ('id="age" name="age" type="text" value="abc" aria-describedby="age-hint age-error" '
            'aria-invalid="true"') in html
    assert "Löytyi" not in html and not cards(html)   # nothing is searched with half the criteria


def test_a_day_and_a_date_together_are_refused_and_messages_follow_the_language(site):
    html = page(site, "/palvelut?day=MO&date=2026-12-24&age=-1&lang=sv", 400)
    assert '<html lang="sv">' in html
    assert "Välj antingen en dag i listan eller ett datum" in html and "Ange åldern som ett heltal" in html


def test_swedish_and_english_pages_show_the_publishers_texts_or_finnish_marked_as_finnish(site):
    sv = page(site, "/palvelut?q=kohtaamispaikka&lang=sv")
    assert '<html lang="sv">' in sv and "Hitta din tjänst" in sv
    assert '<span lang="fi">Yhdistämön kohtaamispaikka HELMI-kahvilassa</span>' in sv   # no Swedish name given
    assert "mån 13–17" in sv and "Mötesplats" in sv and 'name="lang" value="sv"' in sv
    food = page(site, "/palvelut?q=ruoka&lang=sv")
    assert "Mathjälp" in food and "tis–tors 9.30–12" in food
    en = page(site, "/palvelut?q=kohtaamispaikka&lang=en")
    assert "Yhdistämö drop-in at HELMI café" in en and "Mon 13–17" in en and "Open drop-in on Mondays" in en
    assert "Oulu Deaconess Institute Foundation" in en


def test_language_links_keep_the_search(site):
    html = page(site, "/palvelut?q=kohtaamispaikka&age=20&lang=en")
    links = dict(re.findall(r'<a href="([^"]+)" lang="(\w\w)" hreflang', html))
    by_lang = {v: k for k, v in links.items()}
    assert by_lang["fi"] == "/palvelut?q=kohtaamispaikka&amp;age=20"
    assert by_lang["sv"] == "/palvelut?q=kohtaamispaikka&amp;age=20&amp;lang=sv"
    assert 'aria-current="true">In English' in html


def test_service_page_tells_everything_with_provenance(site):
    html = page(site, f"/palvelut/{HELMI_ID}?q=kohtaamispaikka")
    found = text_of(html)
    assert "<h1" in html and "Yhdistämön kohtaamispaikka HELMI-kahvilassa" in found
    assert re.search(r'<th scope="row">maanantai</th><td>13–17</td>', html)
    assert re.search(r'<th scope="row">tiistai</th><td>suljettu</td>', html)
    assert "21.12.2099: suljettu – Joulutauko" in found and "poikkeuksellisesti avoinna 10–12.30" in found
    assert "HELMI-kahvila" in found and "Esteetön sisäänkäynti" in found and "Isokatu 47" in found
    assert "Ohjaaja Testinen" in found and 'href="tel:+358400000048"' in html
    assert "Vapaita paikkoja 5 / 20" in found and "Jonossa 2 henkilöä" in found
    assert "Tule paikalle, ilmoittautumista ei tarvita." in found and "18–35-vuotiaat oululaiset." in found
    assert "Julkaissut: Oulun Diakonissalaitoksen Säätiö, päivitetty 25.11.2026" in found
    assert 'href="/palvelut?q=kohtaamispaikka">Takaisin hakutuloksiin' in html


def test_service_page_in_swedish_marks_finnish_texts(site):
    html = page(site, f"/palvelut/{HELMI_ID}?lang=sv")
    assert '<html lang="sv">' in html and "måndag" in html and "Publicerad av:" in html
    assert '<span lang="fi">Esteetön sisäänkäynti Isokadun puolelta.</span>' in html
    food = page(site, f"/palvelut/{FOOD_ID}?lang=sv")
    assert "Mathjälp" in food and "Diakonicentret" in food and "openstreetmap.org/search?query=Asemakatu%205" in food


def test_unknown_withdrawn_and_malformed_service_ids_are_404_pages_in_the_language(site):
    for url in (f"/palvelut/{uuid.uuid4()}", f"/palvelut/{GONE_ID}", "/palvelut/not-a-uuid", "/palvelut/x/y"):
        html = page(site, url, 404)
        assert "Sivua ei voitu näyttää" in html and "application/problem+json" not in html
    assert "The service was not found" in page(site, f"/palvelut/{uuid.uuid4()}?lang=en", 404)


def test_public_pages_are_cacheable_and_protected(site):
    r = site.get("/palvelut")
    assert r.headers["Cache-Control"] == "public, max-age=60"
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert site.get("/assets/public.css").status_code == 200
    assert site.get("/api/v1/services").status_code == 401   # the publishing API is untouched

