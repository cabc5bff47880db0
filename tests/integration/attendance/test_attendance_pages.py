"""The attendance caseworker pages in-process, logged in with the pages' own form as a browser would: every page
in Finnish, Swedish and English; the tally never counts a form twice; errors in Finnish with the values kept;
the attendance list; measurements with their chart; who may see the pages; CSRF; a client directory that
cannot answer."""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from services.attendance.directory import DirectoryUnavailable
from services.attendance.tables import incoming_referral
from services.kernel.auth import upsert_user
from services.kernel.tables import access_log

from .conftest import ROLES, attendance_of

pytestmark = pytest.mark.integration
PASSWORD = "läsnäolosivujen-salasana"


def days_ago(n: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(days=n)).isoformat()


@pytest.fixture
def odl(pg, kafka):
    org = attendance_of(pg, kafka, "odl")
    eng = org.engine()
    with eng.begin() as conn:
        for role in ROLES:
            upsert_user(conn, f"{role}@odl", role, org.tokens[role], password=PASSWORD)
    eng.dispose()
    return org


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def hidden(html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', html).group(1)


def logged_in(org, role="caseworker"):
    client = org.app.test_client()
    r = client.post("/login", data={"username": f"{role}@odl", "password": PASSWORD,
                                    "csrf_token": csrf(client.get("/login").get_data(as_text=True))})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    return client


def page(client, path: str, status: int = 200) -> str:
    r = client.get(path)
    assert r.status_code == status, (path, r.status_code, r.get_data(as_text=True)[:800])
    return r.get_data(as_text=True)


def post(client, path: str, data: dict, status: int = 302, form_at: str | None = None):
    """Post a form of the page at `form_at` (default: the same path), with that page's CSRF token."""
    token = csrf(page(client, form_at or path))
    r = client.post(path, data={"csrf_token": token, **data})
    assert r.status_code == status, (path, r.status_code, r.get_data(as_text=True)[:1500])
    return r


def group_with_session(odl, names=("Aino Esimerkki", "Benjamin Testinen")):
    clients = [odl.clients.add(n) for n in names]
    g = odl.ok("POST", "/api/v1/groups", json={"service_id": str(odl.service_id), "name": "Tiistain ryhmä",
                                               "starts_on": days_ago(30)[:10]})
    for c in clients:
        odl.ok("POST", f"/api/v1/groups/{g['id']}/participants", json={"client_id": str(c),
                                                                       "enrolled_on": days_ago(20)[:10]})
    s = odl.ok("POST", f"/api/v1/groups/{g['id']}/sessions", json={"starts_at": days_ago(1 / 24)})
    return g, s, clients


def measure(odl, client, point, days, **scores):
    odl.ok("POST", f"/api/v1/clients/{client}/measurements",
           json={"instrument": "life-domains.v1", "point": point, "measured_at": days_ago(days), "scores": scores})


def tally_total(odl) -> int:
    return odl.ok("GET", f"/api/v1/tally?service_id={odl.service_id}")["total"]


# -- every page, in every language --------------------------------------------------------------------------
WORDS = {"fi": ("Kävijälaskuri", "Kirjaudu ulos"), "sv": ("Besöksräknare", "Logga ut"),
         "en": ("Visitor tally", "Log out")}


def test_every_page_renders_in_finnish_swedish_and_english(odl):
    g, s, (aino, _) = group_with_session(odl)
    measure(odl, aino, "baseline", 20, housing=3, money=5)
    measure(odl, aino, "follow-up", 2, housing=7, money=4)
    odl.ok("POST", f"/api/v1/clients/{aino}/guidance", json={"since": days_ago(30)[:10]})
    paths = ["/", "/tally", f"/tally?place={odl.service_id}", f"/tally?place={odl.service_id}:{odl.location_id}",
             "/encounters/new", *(f"/encounters/new/{k}" for k in ("contact", "guidance", "home-visit",
                                                                 "network-meeting", "aid", "professional-event")),
             "/groups", f"/groups/{g['id']}", f"/sessions/{s['id']}", "/clients", "/clients?search=aino",
             f"/clients/{aino}", "/guidance/no-contact"]
    client = logged_in(odl)
    for lang, words in WORDS.items():
        page(client, f"/?lang={lang}")      # the session remembers the choice
        for path in paths:
            html = page(client, path)
            assert f'<html lang="{lang}">' in html, (lang, path)
            assert all(w in html for w in words), (lang, path)
            assert not re.search(r">\s*[a-z-]+\.[a-z-]+(\.[a-z-]+)?\s*<", html), (lang, path, "a message id shown")
    html = page(client, f"/clients/{aino}?lang=fi")
    assert "Aino Esimerkki" in html and "<svg" in html and "Alkumittaus" in html
    assert "+4" in html and "Miten asumiseesi liittyvät asiat ovat?" in html   # housing 3 -> 7, as chart and table


def test_anonymous_is_sent_to_the_login_page_and_the_login_page_renders(odl):
    client = odl.app.test_client()
    r = client.get("/tally")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login?next=")
    assert "Kirjaudu sisään" in page(client, "/login")


# -- the tally ----------------------------------------------------------------------------------------------
def test_the_same_tally_form_posted_twice_counts_once(odl):
    client = logged_in(odl)
    html = page(client, f"/tally?place={odl.service_id}")
    form = {"csrf_token": csrf(html), "key": hidden(html, "key"), "place": str(odl.service_id),
            "age_band": "18-24", "gender": "woman"}
    first, again = client.post("/tally", data=form), client.post("/tally", data=form)
    assert first.status_code == again.status_code == 302
    assert tally_total(odl) == 1
    shown = page(client, f"/tally?place={odl.service_id}")
    assert "sitä laskettu kahdesti" in shown and 'id="total">1<' in shown
    assert hidden(shown, "key") != form["key"]                  # the next tap has a key of its own
    client.post("/tally", data={**form, "key": hidden(shown, "key")})
    assert tally_total(odl) == 2


def test_undo_takes_back_the_last_tap(odl):
    client = logged_in(odl)
    for _ in range(3):
        html = page(client, f"/tally?place={odl.service_id}")
        client.post("/tally", data={"csrf_token": csrf(html), "key": hidden(html, "key"), "place": str(odl.service_id)})
    html = page(client, f"/tally?place={odl.service_id}")
    post(client, "/tally/undo", {"encounter": hidden(html, "encounter"), "place": str(odl.service_id)},
         form_at=f"/tally?place={odl.service_id}")
    assert tally_total(odl) == 2
    assert 'id="total">2<' in page(client, f"/tally?place={odl.service_id}")


# -- recording encounters -----------------------------------------------------------------------------------
def test_a_form_error_shows_the_finnish_message_and_keeps_the_values(odl):
    client = logged_in(odl)
    r = post(client, "/encounters/new/contact", {"channel": "phone", "duration_minutes": "45", "on": days_ago(1)[:10],
                                                 "at": "10:15", "new_matter": "1", "action": "save"}, status=422,
             form_at="/encounters/new/contact")
    html = r.get_data(as_text=True)
    assert "Korjaa nämä kohdat" in html and "Valitse vähintään yksi asia" in html
    assert re.search(r'<option value="phone" selected>', html)
    assert 'value="45"' in html and 'value="10:15"' in html and 'id="new_matter" name="new_matter" value="1" checked' in html
    future = (datetime.now(timezone.utc) + timedelta(days=3)).date().isoformat()
    r = post(client, "/encounters/new/aid", {"aid_kind": "food", "count": "12", "count_unit": "households", "on": future,
                                             "at": "12:00", "action": "save"}, status=422, form_at="/encounters/new/aid")
    assert "ei voi kirjata tulevaisuuteen" in r.get_data(as_text=True) and 'value="12"' in r.get_data(as_text=True)
    assert odl.ok("GET", "/api/v1/encounters")["total"] == 0


def test_a_client_is_found_in_the_directory_and_their_guidance_recorded(odl):
    aino = odl.clients.add("Aino Esimerkki")
    client = logged_in(odl)
    form = {"client_search": "aino", "channel": "video", "status": "attended", "on": days_ago(0.1)[:10], "at": "09:00"}
    found = post(client, "/encounters/new/guidance", {**form, "action": "search"}, status=200,
                 form_at="/encounters/new/guidance").get_data(as_text=True)
    assert f'value="{aino}"' in found and "Aino Esimerkki" in found and 'value="video" selected' in found
    r = post(client, "/encounters/new/guidance", {**form, "client_id": str(aino), "action": "save",
                                                  "key": hidden(found, "key")}, form_at="/encounters/new/guidance")
    assert r.headers["Location"] == f"/clients/{aino}"
    listed = odl.ok("GET", f"/api/v1/encounters?client_id={aino}")
    assert listed["total"] == 1 and listed["items"][0]["channel"] == "video"
    assert odl.clients.asked and all(who == "caseworker@odl" for who, *_ in odl.clients.asked)


# -- groups and the attendance list ---------------------------------------------------------------------------
def test_the_attendance_list_saves_marks_and_saving_again_corrects_them(odl):
    _, s, (aino, benjamin) = group_with_session(odl)
    client = logged_in(odl)
    path = f"/sessions/{s['id']}"
    html = page(client, path)
    assert "Aino Esimerkki" in html and "Benjamin Testinen" in html
    unmarked = post(client, path, {f"mark-{aino}": "attended"}, status=422).get_data(as_text=True)
    assert "Valitse merkintä jokaiselle osallistujalle" in unmarked and f'href="#mark-{benjamin}"' in unmarked
    no_reason = post(client, path, {f"mark-{aino}": "attended", f"mark-{benjamin}": "excused"},
                     status=422).get_data(as_text=True)
    assert "Valitse poissaolon syy" in no_reason and f'id="mark-{aino}-attended" name="mark-{aino}" value="attended" checked' in no_reason
    post(client, path, {f"mark-{aino}": "attended", f"mark-{benjamin}": "excused", f"reason-{benjamin}": "illness",
                        "guests": "3"})
    marks = {m["client_id"]: (m["mark"], m["excuse_reason"])
             for m in odl.ok("GET", f"/api/v1/sessions/{s['id']}/attendance")["marks"]}
    assert marks == {str(aino): ("attended", None), str(benjamin): ("excused", "illness")}
    post(client, path, {f"mark-{aino}": "attended", f"mark-{benjamin}": "absent", f"reason-{benjamin}": "illness",
                        "guests": "3"})
    att = odl.ok("GET", f"/api/v1/sessions/{s['id']}/attendance")
    assert {m["client_id"]: m["mark"] for m in att["marks"]}[str(benjamin)] == "absent"
    assert att["session"]["guests"] == 3 and att["session"]["status"] == "held"
    assert f'value="absent" checked' in page(client, path)


def test_a_group_is_made_a_client_enrolled_by_referral_and_a_session_planned_on_the_pages(odl):
    rid = uuid.uuid4()
    eng = odl.engine()
    with eng.begin() as c:
        c.execute(incoming_referral.insert().values(referral_id=rid, from_org="oulu-social", service_id=odl.service_id,
                                                    age_band="18-24", requested_at=datetime.now(timezone.utc),
                                                    status="accepted", updated_at=datetime.now(timezone.utc)))
    eng.dispose()
    aino = odl.clients.add("Aino Esimerkki")
    client = logged_in(odl)
    r = post(client, "/groups", {"name": "Torstain kokkikerho", "place": str(odl.service_id),
                                 "starts_on": days_ago(7)[:10]}, form_at="/groups")
    group_path = r.headers["Location"]
    html = page(client, group_path)
    assert "Oulun kaupunki" in html and "18–24" in html         # the referral: sender, day, age band only
    post(client, f"{group_path}/participants", {"client_id": str(aino), "referral_id": str(rid),
                                                "enrolled_on": days_ago(1)[:10], "action": "enrol"}, form_at=group_path)
    assert odl.ok("GET", "/api/v1/referrals/incoming")[0]["linked_client_id"] == str(aino)
    post(client, f"{group_path}/sessions", {"session_on": days_ago(0)[:10], "session_at": "00:05",
                                            "duration_minutes": "90"}, form_at=group_path)
    html = page(client, group_path)
    assert "Aino Esimerkki" in html and "suunniteltu" in html
    missing = post(client, "/groups", {"name": "", "starts_on": "eilen"}, status=422, form_at="/groups").get_data(as_text=True)
    assert "Anna ryhmälle nimi" in missing and "Valitse palvelu ja paikka" in missing and 'value="eilen"' in missing


# -- a client: measurements and the no-contact list -------------------------------------------------------------
def test_a_measurement_is_recorded_on_the_page_and_its_change_drawn(odl):
    aino = odl.clients.add("Aino Esimerkki")
    client = logged_in(odl)
    path = f"/clients/{aino}"
    post(client, f"{path}/measurements", {"instrument": "life-domains.v1", "point": "baseline",
                                          "measured_on": days_ago(10)[:10], "score-housing": "2", "score-future": "6"},
         form_at=path)
    bad = post(client, f"{path}/measurements", {"instrument": "life-domains.v1", "point": "follow-up",
                                                "measured_on": days_ago(1)[:10], "score-housing": "11"},
               status=422, form_at=path).get_data(as_text=True)
    assert "Anna kokonaisluku 0–10" in bad and 'value="11"' in bad
    post(client, f"{path}/measurements", {"instrument": "life-domains.v1", "point": "follow-up",
                                          "measured_on": days_ago(1)[:10], "score-housing": "8", "score-future": "6"},
         form_at=path)
    html = page(client, path)
    assert html.count("<svg") == 1 and "bar-later" in html and "+6" in html and "Tuen tarve → Hyvä" in html
    assert ("caseworker@odl", "page.client.timeline") in logged(odl, f"client:{aino}")


def logged(odl, subject: str) -> list[tuple]:
    eng = odl.engine()
    with eng.connect() as c:
        rows = c.execute(select(access_log.c.username, access_log.c.action).where(access_log.c.subject == subject)).all()
    eng.dispose()
    return [tuple(r) for r in rows]


def test_the_no_contact_list_names_who_has_waited_and_takes_the_days(odl):
    aino = odl.clients.add("Aino Esimerkki")
    odl.ok("POST", "/api/v1/encounters", json={"kind": "guidance", "channel": "phone", "occurred_at": days_ago(12),
                                               "client_id": str(aino)})
    client = logged_in(odl)
    html = page(client, "/guidance/no-contact")
    assert "Aino Esimerkki" in html and f'href="/clients/{aino}"' in html and ">12<" in html
    assert "Aino Esimerkki" not in page(client, "/guidance/no-contact?days=20")
    assert "Anna päivien määrä" in page(client, "/guidance/no-contact?days=nolla", status=422)
    assert ("caseworker@odl", "page.guidance.no-contact") in logged(odl, f"client:{aino}")


# -- who may, CSRF, a directory that cannot answer ----------------------------------------------------------------
@pytest.mark.parametrize("path", ["/", "/tally", "/encounters/new", "/groups", "/clients", "/guidance/no-contact",
                                  f"/clients/{uuid.uuid4()}"])
def test_a_registrar_is_refused_with_the_kits_error_page(odl, path):
    html = page(logged_in(odl, "registrar"), path, status=403)
    assert "Sinulla ei ole oikeutta" in html and "Palaa etusivulle" in html


def test_a_form_without_the_csrf_token_is_refused_and_nothing_counted(odl):
    client = logged_in(odl)
    html = page(client, f"/tally?place={odl.service_id}")
    r = client.post("/tally", data={"key": hidden(html, "key"), "place": str(odl.service_id)})
    assert r.status_code == 403 and "suojaustunniste puuttuu" in r.get_data(as_text=True)
    r = client.post("/tally", data={"key": hidden(html, "key"), "place": str(odl.service_id), "csrf_token": "väärä"})
    assert r.status_code == 403
    assert tally_total(odl) == 0


class Unreachable:
    def search(self, text, *, acting_for, purpose="casework", limit=20):
        raise DirectoryUnavailable("The organisation's referrals service cannot be reached.")

    def cards(self, ids, *, acting_for, purpose="casework"):
        raise DirectoryUnavailable("The organisation's referrals service cannot be reached.")


def test_a_directory_that_cannot_answer_gives_readable_pages_not_errors(odl):
    g, s, (aino, _) = group_with_session(odl)
    odl.app.extensions["yhd.directory"] = Unreachable()
    client = logged_in(odl)
    unreachable = "Asiakastietoja ei juuri nyt saada asiakasrekisteristä"
    assert unreachable in page(client, "/clients?search=aino")
    for path in (f"/groups/{g['id']}", f"/sessions/{s['id']}", f"/clients/{aino}"):
        html = page(client, path)
        assert "Asiakkaiden nimiä ei nyt saatu" in html and unreachable in html and "Nimi ei saatavilla" in html
    new = uuid.uuid4()
    r = post(client, "/encounters/new/guidance", {"client_id": str(new), "channel": "phone", "status": "attended",
                                                  "on": days_ago(0.1)[:10], "at": "08:00", "action": "save"},
             status=503, form_at="/encounters/new/guidance")
    assert unreachable in r.get_data(as_text=True)
    del odl.app.extensions["yhd.directory"]
    assert "Asiakasrekisteriä ei ole liitetty" in page(client, "/clients?search=aino")


# -- every page × who asks ------------------------------------------------------------------------------------
OPEN = {"login", "logout", "static"}


def page_calls(app, ids):
    from flask import url_for
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("pages.") or rule.endpoint.split(".")[-1] in OPEN:
            continue
        with app.test_request_context():
            url = url_for(rule.endpoint, **{a: ids[a] for a in rule.arguments if a in ids},
                          **({"kind": "contact"} if "kind" in rule.arguments else {}))
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, url


def test_every_page_lets_in_only_caseworkers_and_managers(odl):
    g, s, (aino, _) = group_with_session(odl)
    ids = {"group_id": g["id"], "session_id": s["id"], "client_id": aino}
    calls = list(page_calls(odl.app, ids))
    assert len(calls) >= 20
    clients = {role: logged_in(odl, role) for role in ROLES}
    clients["anonymous"] = odl.app.test_client()
    wrong = []
    for who, client in clients.items():
        for endpoint, method, url in calls:
            token = csrf(page(client, "/login"))
            r = client.open(url, method=method, data={"csrf_token": token} if method == "POST" else None)
            if who == "anonymous":
                ok = r.status_code == 302 and r.headers["Location"].startswith("/login")
            elif who == "registrar":
                ok = r.status_code == 403 and r.mimetype == "text/html"
            else:
                ok = r.status_code not in (401, 403, 500) and r.mimetype == "text/html"
            if not ok:
                wrong.append((who, endpoint, method, url, r.status_code))
    assert wrong == []
