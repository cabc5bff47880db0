"""The public catalogue pages without a database: texts in three languages, hours in human form, the
search form's parsing ("open now" is SQL: tests/integration/test_catalogue_search.py)."""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from werkzeug.datastructures import MultiDict

from services.catalogue import web
from services.catalogue.web import filters, hours, present
from services.catalogue.web.messages import CATALOGUE

WEB = Path(web.__file__).parent
HELSINKI = ZoneInfo("Europe/Helsinki")
MONDAY = date(2026, 11, 23)


def test_every_message_has_finnish_swedish_and_english():
    assert CATALOGUE.languages == ("fi", "sv", "en")
    assert CATALOGUE.missing() == []


def test_every_message_id_the_pages_use_is_in_the_catalogue():
    used = set()
    for path in list(WEB.rglob("*.html")) + list(WEB.glob("*.py")):
        used |= set(re.findall(r"""\bt\(\s*["']([a-z0-9_.-]+)["']""", path.read_text(encoding="utf-8")))
    used |= {f"day.{kind}.{d}" for kind in ("short", "long") for d in hours.DAYS}
    used |= set(filters.parse(MultiDict({"q": "x" * 300, "age": "x", "date": "x", "day": "x", "category": "x",
                                         "area": "x", "mode": "x", "language": "x"}), MONDAY).errors.values())
    used |= {"field-error.day-and-date", "results.count.one", "results.count.many"}
    assert sorted(k for k in used if not k.endswith(".") and k not in CATALOGUE) == []


def test_weekly_hours_read_like_a_person_writes_them():
    week = [{"days": ["MO", "TU", "WE", "TH", "FR"], "opens_at": "09:00", "closes_at": "16:00"},
            {"days": ["SA"], "opens_at": "10:30", "closes_at": "14:00"}]
    assert hours.summary(week, "fi") == "ma–pe 9–16, la 10.30–14"
    assert hours.summary(week, "sv") == "mån–fre 9–16, lör 10.30–14"
    assert hours.summary(week, "en") == "Mon–Fri 9–16, Sat 10:30–14"
    assert hours.summary([{"days": ["MO"], "opens_at": "13:00", "closes_at": "17:00"}], "fi") == "ma 13–17"
    assert hours.summary([{"days": ["WE", "MO"], "opens_at": "13:00", "closes_at": "17:00"}], "fi") == "ma, ke 13–17"
    split = [{"days": ["MO", "TU"], "opens_at": "09:00", "closes_at": "12:00"},
             {"days": ["MO", "TU"], "opens_at": "13:00", "closes_at": "16:00"}]
    assert hours.summary(split, "fi") == "ma, ti 9–12 & 13–16"
    assert hours.summary([{"days": ["SU"], "opens_at": "18:00", "closes_at": "24:00"}], "en") == "Sun 18–24"


def test_hours_of_a_later_period_say_when_they_start():
    doc = {"opening_hours": [{"days": ["MO"], "opens_at": "13:00", "closes_at": "17:00", "valid_from": "2027-01-04"},
                             {"days": ["TU"], "opens_at": "10:00", "closes_at": "12:00", "valid_to": "2026-11-01"}]}
    assert present.hours_lines(doc, {}, "fi", MONDAY) == [(None, "4.1.2027 alkaen: ma 13–17")]
    assert present.hours_lines(doc, {}, "en", MONDAY) == [(None, "from 2027-01-04: Mon 13–17")]


def test_the_form_becomes_a_search_query():
    wednesday = date(2026, 11, 25)
    f = filters.parse(MultiDict([("q", " kohtaamispaikka "), ("category", "drop-in"), ("area", "oulu"),
                                 ("age", "20"), ("free", "1"), ("no_referral", "on"), ("day", "MO"),
                                 ("mode", "in-person"), ("mode", "digital"), ("page", "2")]), wednesday)
    q = f.query
    assert f.errors == {} and q.text == "kohtaamispaikka" and q.categories == ("drop-in",) and q.areas == ("oulu",)
    assert q.age == 20 and q.free is True and q.no_referral and not q.open_now and q.page == 2
    assert q.delivery_modes == ("in-person", "digital") and q.open_on == date(2026, 11, 30)   # the next Monday
    assert f.narrowing == 7


def test_day_choices_and_dates():
    def on(**args):
        return filters.parse(MultiDict(args), MONDAY).query.open_on
    assert on(day="MO") == MONDAY and on(day="today") == MONDAY and on(day="tomorrow") == date(2026, 11, 24)
    assert on(day="SU") == date(2026, 11, 29)
    assert on(date="2026-12-24") == on(date="24.12.2026") == date(2026, 12, 24)
    assert on() is None and filters.parse(MultiDict(), MONDAY).query.free is None


def test_bad_values_are_named_by_field_and_nothing_is_searched():
    f = filters.parse(MultiDict({"age": "abc", "date": "2026-13-45", "category": "horoscopes", "day": "someday"}),
                      MONDAY)
    assert f.query is None
    assert f.errors == {"age": "field-error.age", "date": "field-error.date", "category": "field-error.category",
                        "day": "field-error.day"}
    assert filters.parse(MultiDict({"age": "121"}), MONDAY).errors == {"age": "field-error.age"}
    assert filters.parse(MultiDict({"age": "-3"}), MONDAY).errors == {"age": "field-error.age"}
    assert filters.parse(MultiDict({"date": "1.1.1900"}), MONDAY).errors == {"date": "field-error.date"}
    assert filters.parse(MultiDict({"day": "MO", "date": "2026-12-24"}), MONDAY).errors == {
        "date": "field-error.day-and-date"}
    assert filters.parse(MultiDict({"page": "x"}), MONDAY).query.page == 1


def test_a_finnish_text_on_a_swedish_page_says_it_is_finnish():
    assert str(present.localized({"fi": "Kahvila", "sv": "Kafé"}, "sv").__html__()) == "Kafé"
    assert present.localized({"fi": "Kahvila <3"}, "sv").__html__() == '<span lang="fi">Kahvila &lt;3</span>'
    assert present.localized(None, "sv") is None


def test_map_links_use_coordinates_or_the_address():
    with_coordinates = {"latitude": 65.0118, "longitude": 25.472,
                        "address": {"street": "Isokatu 47", "postal_code": "90100", "city": "Oulu"}}
    assert present.map_url(with_coordinates).startswith("https://www.openstreetmap.org/?mlat=65.0118&mlon=25.472")
    without = {"address": {"street": "Isokatu 47", "postal_code": "90100", "city": "Oulu"}}
    assert present.map_url(without) == "https://www.openstreetmap.org/search?query=Isokatu%2047%2C%2090100%20Oulu"
    assert present.tel("+358 40 000 0047") == "tel:+358400000047"
    assert present.web_address("https://chat.example.fi/x") == "https://chat.example.fi/x"
    assert present.web_address("javascript:alert(1)") is None and present.web_address(None) is None
