"""Attendance pages in a real headless Chromium against the stack's real processes: the tally on a phone (three
taps, an undo), a tap repeated after a dropped connection counted once, a session's attendance list done with
the keyboard alone, and an axe-core scan and screenshots of every page. The data each test needs is made through
the APIs (a catalogue service of ODL's own, clients at ODL's referrals), never taken from the demo data."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from devstack.client import eventually
from tests.browser.pages import PHONE, assert_accessible, screenshots, submit
from tests.support.people import synthetic_client

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture reports it: a failure under CI=true, a skip elsewhere
    expect = None

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
ORG = "odl"


def ago(**kw) -> str:
    return (datetime.now(timezone.utc) - timedelta(**kw)).isoformat()


def own_service(stack) -> str:
    """A new catalogue service of ODL, once ODL's attendance has read it from the catalogue's event."""
    sid = stack.publish_service(ORG, {"name": {"fi": f"Selainkohtaamo {uuid.uuid4().hex[:6]}"},
                                      "categories": ["individual-guidance"], "areas": ["oulu"]})["id"]
    eventually(lambda: any(s["service_id"] == sid for s in stack.ok(ORG, "attendance", "GET", "/api/v1/services")),
               60, what="the service at ODL's attendance")
    return sid


def new_client(stack, first: str) -> tuple[str, str]:
    name = f"{first} Selain{uuid.uuid4().hex[:5]}"
    return stack.register_client(ORG, {**synthetic_client(), "name": name})["id"], name


def log_in(page, stack, role="caseworker"):
    u = stack.user(ORG, role)
    page.goto(stack.url(ORG, "attendance", "/login"))
    page.get_by_label("Käyttäjätunnus").fill(u["username"])
    page.get_by_label("Salasana").fill(u["password"])
    page.get_by_role("button", name="Kirjaudu", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Läsnäolo ja kohtaamiset")


def total(page) -> str:
    return page.locator("#total").inner_text()


# -- the tally ----------------------------------------------------------------------------------------------
def test_the_tally_on_a_phone_three_taps_and_an_undo_leave_two(stack, new_page, artifacts):
    sid = own_service(stack)
    page = new_page()
    page.set_viewport_size(PHONE)
    log_in(page, stack)
    page.get_by_role("link", name="Kävijälaskuri").first.click()
    page.get_by_label("Palvelu ja paikka").select_option(sid)
    page.get_by_role("button", name="Näytä laskuri").click()
    expect(page.locator("#total")).to_have_text("0")
    tap = page.get_by_role("button", name="+1 kävijä")
    assert tap.bounding_box()["height"] >= 80 and tap.bounding_box()["width"] >= 300   # a big target
    page.get_by_label("18–24", exact=True).check()          # the optional toggles, before the tap
    page.get_by_label("nainen", exact=True).check()
    for n in (1, 2, 3):
        assert submit(page, "+1 kävijä") == 200
        expect(page.locator("#total")).to_have_text(str(n))
        expect(page.get_by_role("status")).to_contain_text("Kävijä kirjattu")
    expect(page.get_by_label("alle 15")).not_to_be_checked()   # the toggles start again for the next visitor
    assert_accessible(page, "attendance-tally-phone", artifacts)
    screenshots(page, "attendance-tally", artifacts, phone=True)
    assert submit(page, "Kumoa viimeisin") == 200
    expect(page.locator("#total")).to_have_text("2")
    expect(page.get_by_role("status")).to_contain_text("kumottu")
    tally = stack.ok(ORG, "attendance", "GET", "/api/v1/tally", params={"service_id": sid})
    assert tally["total"] == 2 and tally["by_age_band"] == {"18-24": 1, "unknown": 1}


def test_a_tap_repeated_after_a_dropped_connection_counts_once(stack, new_page, artifacts):
    sid = own_service(stack)
    page = new_page()
    page.set_viewport_size(PHONE)
    log_in(page, stack)
    page.goto(stack.url(ORG, "attendance", f"/tally?place={sid}"))
    key = page.locator('form.tap input[name="key"]').input_value()
    dropped = []

    def drop_the_answer(route):
        """The server gets the tap and answers; the answer never reaches the phone."""
        if route.request.method == "POST" and not dropped:
            route.fetch()
            dropped.append(route.request.post_data)
            route.abort("aborted")
        else:
            route.continue_()
    page.route("**/tally", drop_the_answer)
    page.get_by_role("button", name="+1 kävijä").click()
    eventually(lambda: dropped, 15, what="the tap reaching the server")
    assert f"key={key}" in dropped[0]
    assert stack.ok(ORG, "attendance", "GET", "/api/v1/tally", params={"service_id": sid})["total"] == 1
    expect(page.locator("#total")).to_have_text("0")           # the phone never heard back: the old page
    assert page.locator('form.tap input[name="key"]').input_value() == key
    assert submit(page, "+1 kävijä") == 200                    # so the worker taps again: the same form, the same key
    expect(page.locator("#total")).to_have_text("1")
    expect(page.get_by_role("status")).to_contain_text("laskettu kahdesti")
    screenshots(page, "attendance-tally-resubmitted", artifacts)
    assert page.locator('form.tap input[name="key"]').input_value() != key
    assert submit(page, "+1 kävijä") == 200                    # a new visitor on the new page counts
    expect(page.locator("#total")).to_have_text("2")
    assert stack.ok(ORG, "attendance", "GET", "/api/v1/tally", params={"service_id": sid})["total"] == 2


# -- the attendance list, by keyboard -------------------------------------------------------------------------
def group_with_session(stack, sid) -> tuple[dict, dict, list[tuple[str, str]]]:
    clients = [new_client(stack, first) for first in ("Aino", "Eetu")]
    g = stack.ok(ORG, "attendance", "POST", "/api/v1/groups",
                 json={"service_id": sid, "name": f"Selainryhmä {uuid.uuid4().hex[:4]}", "starts_on": ago(days=30)[:10]})
    for cid, _ in clients:
        stack.ok(ORG, "attendance", "POST", f"/api/v1/groups/{g['id']}/participants",
                 json={"client_id": cid, "enrolled_on": ago(days=10)[:10]})
    s = stack.ok(ORG, "attendance", "POST", f"/api/v1/groups/{g['id']}/sessions", json={"starts_at": ago(hours=1)})
    return g, s, clients


def test_a_sessions_attendance_list_is_done_with_the_keyboard_alone(stack, new_page, artifacts):
    g, s, clients = group_with_session(stack, own_service(stack))
    page = new_page()
    log_in(page, stack)
    page.goto(stack.url(ORG, "attendance", f"/sessions/{s['id']}"))
    (aino, aino_name), (eetu, eetu_name) = sorted(clients, key=lambda c: c[1])   # the rows are in name order
    rows = page.locator(".mark-row legend").all_inner_texts()
    assert rows == [aino_name, eetu_name]
    assert_accessible(page, "attendance-session", artifacts)
    first = f"mark-{aino}-attended"
    for _ in range(40):                                         # Tab from the top of the page to the first row
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == first:
            break
    expect(page.locator(f"#{first}")).to_be_focused()
    page.keyboard.press("Space")                                # Aino attended
    page.keyboard.press("Tab")
    expect(page.locator(f"#reason-{aino}")).to_be_focused()     # the row's reason, then the next row
    page.keyboard.press("Tab")
    expect(page.locator(f"#mark-{eetu}-attended")).to_be_focused()
    page.keyboard.press("ArrowRight")                           # within the row's radio group: excused
    expect(page.locator(f"#mark-{eetu}-excused")).to_be_checked()
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowDown")                            # the reason: illness
    expect(page.locator(f"#reason-{eetu}")).to_have_value("illness")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Vieraita (ei rekisteröityjä)")).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.type("2")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Läsnäolot tallennettu")
    screenshots(page, "attendance-session-saved", artifacts, phone=True)
    att = stack.ok(ORG, "attendance", "GET", f"/api/v1/sessions/{s['id']}/attendance")
    assert {m["client_id"]: (m["mark"], m["excuse_reason"]) for m in att["marks"]} == {
        aino: ("attended", None), eetu: ("excused", "illness")}
    assert att["session"]["guests"] == 2


# -- every page: axe and screenshots -----------------------------------------------------------------------------
def test_every_attendance_page_passes_axe_and_is_photographed(stack, new_page, artifacts):
    sid = own_service(stack)
    g, s, [(aino, aino_name), _] = group_with_session(stack, sid)
    for point, days, housing in (("baseline", 20, 3), ("follow-up", 1, 8)):
        stack.ok(ORG, "attendance", "POST", f"/api/v1/clients/{aino}/measurements",
                 json={"instrument": "life-domains.v1", "point": point, "measured_at": ago(days=days),
                       "scores": {"housing": housing, "money": 5, "future": 6}})
    stack.ok(ORG, "attendance", "POST", f"/api/v1/clients/{aino}/guidance", json={"since": ago(days=40)[:10]})
    page = new_page()
    page.goto(stack.url(ORG, "attendance", "/login"))
    assert_accessible(page, "attendance-login", artifacts)
    screenshots(page, "attendance-login", artifacts, phone=True)
    log_in(page, stack)
    pages = {"home": "/", "encounter-kinds": "/encounters/new", "contact": "/encounters/new/contact",
             "network-meeting": "/encounters/new/network-meeting", "aid": "/encounters/new/aid",
             "groups": "/groups", "group": f"/groups/{g['id']}", "clients": f"/clients?search={aino_name.split()[1]}",
             "client": f"/clients/{aino}", "no-contact": "/guidance/no-contact?days=3"}
    for name, path in pages.items():
        page.goto(stack.url(ORG, "attendance", path))
        assert page.locator("html").get_attribute("lang") == "fi"
        assert_accessible(page, f"attendance-{name}", artifacts)
        screenshots(page, f"attendance-{name}", artifacts, phone=True)
    page.goto(stack.url(ORG, "attendance", f"/clients/{aino}"))
    expect(page.get_by_role("heading", level=1)).to_have_text(aino_name)
    expect(page.get_by_role("img", name="Pylväskaavio")).to_be_visible()
    expect(page.get_by_role("table", name="Elämäntilanteen osa-alueet: pisteet osa-alueittain")).to_contain_text("+5")

    # a guidance with the client picked by a search, an error first: in Finnish, the values kept
    page.goto(stack.url(ORG, "attendance", "/encounters/new/guidance"))
    page.get_by_label("Hae asiakasta nimellä").fill(aino_name.split()[1])
    page.get_by_label("Toteutustapa").select_option(label="Videoyhteys")
    page.get_by_label("Kesto (minuuttia)").fill("0")
    assert submit(page, "Hae", exact=True) == 200
    page.get_by_label(aino_name).check()
    assert submit(page, "Tallenna", exact=True) == 422
    expect(page.get_by_role("alert").first).to_contain_text("Anna kesto minuutteina")
    expect(page.get_by_label("Toteutustapa")).to_have_value("video")
    expect(page.get_by_label(aino_name)).to_be_checked()
    assert_accessible(page, "attendance-guidance-error", artifacts)
    screenshots(page, "attendance-guidance-error", artifacts, phone=True)
    page.get_by_label("Kesto (minuuttia)").fill("45")
    assert submit(page, "Tallenna", exact=True) == 200
    expect(page.get_by_role("heading", level=1)).to_have_text(aino_name)
    expect(page.get_by_role("status")).to_contain_text("Kirjattu: Yksilöohjaus")

    # Swedish and English
    for lang, heading in (("sv", "Besöksräknare"), ("en", "Visitor tally")):
        page.goto(stack.url(ORG, "attendance", f"/tally?place={sid}&lang={lang}"))
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        assert_accessible(page, f"attendance-tally-{lang}", artifacts)
        screenshots(page, f"attendance-tally-{lang}", artifacts)


def test_a_registrar_is_refused_with_the_error_page(stack, new_page, artifacts):
    page = new_page()
    u = stack.user(ORG, "registrar")
    page.goto(stack.url(ORG, "attendance", "/login"))
    page.get_by_label("Käyttäjätunnus").fill(u["username"])
    page.get_by_label("Salasana").fill(u["password"])
    with page.expect_navigation():
        page.get_by_role("button", name="Kirjaudu", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sivua ei voitu näyttää")
    expect(page.get_by_role("alert")).to_contain_text("Sinulla ei ole oikeutta")
    assert_accessible(page, "attendance-refused", artifacts)
