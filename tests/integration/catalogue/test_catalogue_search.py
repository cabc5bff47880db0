"""Searching the federation directory on the real PostgreSQL: Finnish relevance, typos, filters, "open now"
in Europe/Helsinki time across the daylight-saving changes, paging.

The directory rows are made the way the consumer makes them: Directory.apply_published with the data of a
catalogue.service-published.v2 event (checked against its contract). Each test seeds its own services in a
transaction that is rolled back at the end, on one migrated database for the module.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, func, select

from services import catalogue
from services.catalogue.directory.repository import Directory
from services.catalogue.directory.search import SearchQuery, search
from services.catalogue.profile import profile
from services.catalogue.publishing.domain import jsonable
from services.catalogue.publishing.schemas import ServiceIn
from services.catalogue.tables import directory_service
from services.kernel.config import PROJECT_ROOT, sqlalchemy_url
from services.kernel.contracts import registry
from services.kernel.db import make_engine, migrate

pytestmark = pytest.mark.integration
PUBLISHED = "fi.yhdistamo.catalogue.service-published.v2"
HELSINKI = ZoneInfo("Europe/Helsinki")
MONDAYS_13_17 = [{"days": ["MO"], "opens_at": "13:00", "closes_at": "17:00"}]
ALWAYS = [{"days": ["MO", "TU", "WE", "TH", "FR", "SA", "SU"], "opens_at": "00:00", "closes_at": "24:00"}]


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def engine(pg):
    name = f"search_{uuid.uuid4().hex[:12]}"
    url = sqlalchemy_url(pg.create_database(name))
    migrate(url, catalogue.DEFINITION.migrations)
    eng = make_engine(url, pool_size=1)
    yield eng
    eng.dispose()
    pg.drop_database(name)


@pytest.fixture
def conn(engine):
    with engine.connect() as c:
        tx = c.begin()
        yield c
        tx.rollback()


class Seed:
    """Publishes services into the directory as the consumer does, from valid event data."""

    def __init__(self, conn):
        self.directory = Directory(conn)

    def __call__(self, name: str, *, sv: str | None = None, en: str | None = None, org: str = "odl",
                 status: str = "active", category: str = "individual-guidance", areas=("oulu-keskusta",),
                 locations=(), published_at: str = "2026-11-25T10:00:00Z", service_id: str | None = None,
                 version: int = 1, **service) -> str:
        doc = {"name": {"fi": name, **({"sv": sv} if sv else {}), **({"en": en} if en else {})},
               "categories": [category], "areas": list(areas), **service}
        if doc.get("free") is False:
            doc.setdefault("fees", {"fi": "5 € kerta"})
        data = {"service_id": service_id or str(uuid.uuid4()), "organization_id": org, "version": version,
                "status": status, "published_at": published_at, "service": jsonable(ServiceIn().load(doc)),
                "locations": list(locations)}
        registry(str(PROJECT_ROOT / "contracts")).validate(PUBLISHED, data)
        assert self.directory.apply_published(data, f"test-{data['service_id']}")
        return data["service_id"]

    def withdraw(self, service_id: str, org: str = "odl") -> None:
        assert self.directory.apply_withdrawn({"service_id": service_id, "organization_id": org, "version": 2,
                                               "withdrawn_at": "2026-11-26T10:00:00Z"}, f"withdrawn-{service_id}")


@pytest.fixture
def seed(conn):
    return Seed(conn)


def names(conn, **query) -> list[str]:
    return [h.row["name_fi"] for h in search(conn, SearchQuery(**query)).hits]


def open_now(conn, at, **query) -> dict[str, bool]:
    """Every listed service's open-now badge at `at`, and which the open-now filter keeps."""
    badges = {h.row["name_fi"]: h.open_now for h in search(conn, SearchQuery(at=at, **query)).hits}
    kept = set(names(conn, at=at, open_now=True, **query))
    assert kept == {n for n, is_open in badges.items() if is_open}, "the filter and the badge disagree"
    return badges


# -- Finnish relevance --------------------------------------------------------------------------------------------
def test_a_word_finds_the_compound_it_begins(conn, seed):
    seed("Mielenterveyspalvelut nuorille", category="mental-health-support")
    seed("Ruoka-apu Tuira", category="food-aid")
    seed("Ruokajakelu Kaakkuri")
    assert names(conn, text="mielenterveys") == ["Mielenterveyspalvelut nuorille"]
    assert names(conn, text="Mielenterveyspalvelut") == ["Mielenterveyspalvelut nuorille"]
    assert names(conn, text="ruoka") == ["Ruoka-apu Tuira", "Ruokajakelu Kaakkuri"]
    assert names(conn, text="mielen") == ["Mielenterveyspalvelut nuorille"]


def test_food_aid_is_found_by_its_hyphenated_name_and_by_its_first_part(conn, seed):
    seed("Ruoka-apu Tuira", category="food-aid")
    seed("Kohtaamispaikka HELMI", category="drop-in")
    assert names(conn, text="ruoka-apu") == ["Ruoka-apu Tuira"]
    assert names(conn, text="ruoka") == ["Ruoka-apu Tuira"]
    assert names(conn, text="Ruoka-avun jakelu") == [], "every word must match"


def test_typos_still_find_the_service(conn, seed):
    seed("Kohtaamispaikka HELMI", category="drop-in")
    seed("Mielenterveyspalvelut nuorille", category="mental-health-support")
    seed("Velkaneuvonta", category="financial-advice")
    assert names(conn, text="kohtaamispaika") == ["Kohtaamispaikka HELMI"]
    assert names(conn, text="kohtamispaikka") == ["Kohtaamispaikka HELMI"]       # no stem in common: trigrams
    assert names(conn, text="mielenterveis") == ["Mielenterveyspalvelut nuorille"]
    assert names(conn, text="velkaneuvnta") == ["Velkaneuvonta"]


def test_a_republished_service_is_found_by_a_typo_of_its_new_name(conn, seed):
    sid = seed("Nuorten olohuone")
    seed("Kohtaamispaikka Verso", service_id=sid, version=2)
    assert names(conn, text="kohtamispaikka verso") == ["Kohtaamispaikka Verso"]
    assert names(conn, text="olohuone") == []


def test_the_end_of_a_compound_finds_it(conn, seed):
    seed("Mielenterveyspalvelut nuorille", category="mental-health-support")
    seed("Kohtaamispaikka HELMI", category="drop-in")
    assert names(conn, text="palvelut") == ["Mielenterveyspalvelut nuorille"]


def test_a_name_match_ranks_above_a_description_match_and_an_exact_above_a_fuzzy_one(conn, seed):
    seed("Aikuisten keskusteluapu", description={"fi": "Tukea, kun mielenterveys horjuu."})
    seed("Mielenterveyspalvelut nuorille", category="mental-health-support")
    seed("Aikuisten mielentervyspalvelu")         # a typo in the name: only similar to "mielenterveys"
    page = search(conn, SearchQuery(text="mielenterveys"))
    assert [h.row["name_fi"] for h in page.hits] == [
        "Mielenterveyspalvelut nuorille", "Aikuisten keskusteluapu", "Aikuisten mielentervyspalvelu"]
    assert page.hits[0].rank > page.hits[1].rank > page.hits[2].rank > 0


def test_a_fuzzy_match_in_a_name_ranks_above_one_in_a_description(conn, seed):
    seed("Ohjaamo", description={"fi": "Ohjaamon kohtaamispaikka on avoinna arkisin."})
    seed("Yhteinen kohtaamispaikka")
    page = search(conn, SearchQuery(text="kohtamispaikka"))
    assert [h.row["name_fi"] for h in page.hits] == ["Yhteinen kohtaamispaikka", "Ohjaamo"]
    assert page.hits[0].rank > page.hits[1].rank


def test_equal_matches_are_ordered_by_name(conn, seed):
    for name in ("Ohjaamo Oulu", "Ohjaamo Kouvola", "ohjaamo Haukipudas"):
        seed(name, category="one-stop-guidance")
    assert names(conn, text="ohjaamo") == ["ohjaamo Haukipudas", "Ohjaamo Kouvola", "Ohjaamo Oulu"]


def test_swedish_and_english_names_find_the_service(conn, seed):
    seed("Ruoka-apu Tuira", sv="Mathjälp i Tuira", en="Food aid in Tuira", category="social-services")
    seed("Kohtaamispaikka HELMI", sv="Mötesplats HELMI", en="HELMI drop-in", category="drop-in")
    assert names(conn, text="mathjälp") == ["Ruoka-apu Tuira"]
    assert names(conn, text="food") == ["Ruoka-apu Tuira"]
    assert names(conn, text="Mötesplats") == ["Kohtaamispaikka HELMI"]


def test_a_word_that_matches_nothing_finds_nothing(conn, seed):
    seed("Ruoka-apu Tuira", category="food-aid")
    page = search(conn, SearchQuery(text="xyzzyplugh"))
    assert (page.hits, page.total, page.total_pages) == ([], 0, 1)


@pytest.mark.parametrize("text", [
    "a & | ! ( ) : *", "'", "''", '"', "\\", "\\'", "ruoka:*", "ruoka & !apu", "(ruoka | apu", "<->", "<2>",
    "ruoka'apu", "'; DROP TABLE directory_service; --", "\x00", "ruoka\x00apu", "*:A", "!!!!", "ä" * 5000,
    " ".join(["sana"] * 200), "日本語 テキスト", "🙂 ruoka",
])
def test_tsquery_syntax_in_the_text_never_raises(conn, seed, text):
    seed("Ruoka-apu Tuira", category="food-aid")
    page = search(conn, SearchQuery(text=text))
    assert page.total == len(page.hits) <= 1


def test_operators_in_the_text_are_read_as_word_breaks(conn, seed):
    seed("Ruoka-apu Tuira", category="food-aid")
    assert names(conn, text="ruoka & !apu") == ["Ruoka-apu Tuira"]
    assert names(conn, text="'ruoka':* | (apu)") == ["Ruoka-apu Tuira"]


@pytest.mark.parametrize("text", [None, "", "   ", "\t\n", "&|!"])
def test_empty_text_is_no_text_filter(conn, seed, text):
    seed("Ruoka-apu Tuira", category="food-aid")
    seed("Kohtaamispaikka HELMI", category="drop-in")
    page = search(conn, SearchQuery(text=text))
    assert [h.row["name_fi"] for h in page.hits] == ["Kohtaamispaikka HELMI", "Ruoka-apu Tuira"]
    assert {h.rank for h in page.hits} == {0.0}


def test_stop_words_do_not_hide_matches(conn, seed):
    seed("Ruoka-apu ja kohtaamispaikka", category="food-aid")
    assert names(conn, text="ruoka ja kohtaamispaikka") == ["Ruoka-apu ja kohtaamispaikka"]


def test_location_names_and_streets_are_searchable(conn, seed):
    seed("Keskusteluapu", locations=[{"id": str(uuid.uuid4()), "version": 1, "name": {"fi": "HELMI-kahvila"},
                                      "address": {"street": "Isokatu 47", "postal_code": "90100", "city": "Oulu"},
                                      "area": "oulu-keskusta"}])
    seed("Ruoka-apu Tuira", category="food-aid")
    assert names(conn, text="isokatu") == ["Keskusteluapu"]
    assert names(conn, text="helmi kahvila") == ["Keskusteluapu"]


# -- filters ------------------------------------------------------------------------------------------------------
@pytest.fixture
def varied(seed):
    """Five services that differ in every filtered attribute."""
    seed("A Ohjaamo", category="one-stop-guidance", areas=["oulu-keskusta"], min_age=15, max_age=29,
         delivery_modes=["in-person", "digital"], languages=["fi", "en"], free=True, referral_required=False,
         org="oulu-social", published_at="2026-11-20T10:00:00Z")
    seed("B Kohtaamispaikka", category="drop-in", areas=["kiiminki"], min_age=18, languages=["fi", "sv"],
         free=True, referral_required=False, published_at="2026-11-22T10:00:00Z")
    seed("C Ruoka-apu", category="food-aid", areas=["kouvola"], free=False, referral_required=True,
         published_at="2026-11-24T10:00:00Z")
    seed("D Päihdetyö", category="substance-abuse-support", areas=["koko-suomi"], max_age=17,
         delivery_modes=["digital"], free=True, referral_required=True, published_at="2026-11-25T10:00:00Z")
    seed("E Asuminen", category="housing", areas=["rovaniemi", "tuira"], min_age=16, max_age=25,
         delivery_modes=["outreach"], languages=["fi-plain"], free=False, referral_required=False,
         org="oulu-social", published_at="2026-11-26T10:00:00Z")


@pytest.mark.parametrize("query, expected", [
    ({}, "ABCDE"),
    ({"categories": ("drop-in",)}, "B"),
    ({"categories": ("drop-in", "food-aid")}, "BC"),
    ({"areas": ("oulu",)}, "ABDE"),                     # a municipality matches its districts, and online
    ({"areas": ("kiiminki",)}, "BD"),                   # a district: not its neighbours (A in the centre)
    ({"areas": ("tuira", "kouvola")}, "CDE"),
    ({"delivery_modes": ("digital",)}, "AD"),
    ({"delivery_modes": ("outreach", "digital")}, "ADE"),
    ({"languages": ("sv",)}, "B"),
    ({"languages": ("en", "fi-plain")}, "AE"),
    ({"age": 15}, "ACD"),                               # no limit counts as no limit
    ({"age": 16}, "ACDE"),
    ({"age": 17}, "ACDE"),
    ({"age": 18}, "ABCE"),
    ({"age": 29}, "ABC"),
    ({"age": 30}, "BC"),
    ({"free": True}, "ABD"),
    ({"free": False}, "CE"),
    ({"no_referral": True}, "ABE"),
    ({"organization_id": "oulu-social"}, "AE"),
    ({"organization_id": "nobody"}, ""),
    ({"modified_after": utc(2026, 11, 24, 10, 0)}, "CDE"),         # HSDS: modified on or after
    ({"modified_after": utc(2026, 11, 24, 10, 0, 1)}, "DE"),
    ({"modified_after": datetime(2026, 11, 24, 12, 0)}, "CDE"),    # naive: Helsinki wall-clock time (UTC+2)
    ({"modified_after": datetime(2026, 11, 24, 12, 1)}, "DE"),
    ({"categories": ("drop-in", "one-stop-guidance"), "areas": ("oulu",), "age": 16}, "A"),
])
def test_each_filter_alone_and_with_others(conn, varied, query, expected):
    assert "".join(n[0] for n in names(conn, **query)) == expected


def test_a_city_wide_service_serves_every_district_and_an_online_one_everyone(conn, seed):
    seed("Kaupunginlaajuinen ohjaus", areas=["oulu"])
    seed("Verkko-ohjaus", areas=["koko-suomi"])
    seed("Kiimingin nuorisotila", areas=["kiiminki"])
    seed("Kouvolan Ohjaamo", areas=["kouvola"])
    assert sorted(names(conn, areas=("kiiminki",))) == ["Kaupunginlaajuinen ohjaus", "Kiimingin nuorisotila",
                                                         "Verkko-ohjaus"]
    assert sorted(names(conn, areas=("kouvola",))) == ["Kouvolan Ohjaamo", "Verkko-ohjaus"]


def term(taxonomy: str, code: str) -> str:
    return str(profile().term(taxonomy, code).id)


@pytest.mark.parametrize("terms, expected", [
    ([("service-category", "drop-in")], "B"),
    ([("service-category", "drop-in"), ("service-category", "food-aid")], "BC"),        # any of one taxonomy
    ([("area", "oulu")], "ABE"),
    ([("area", "oulu"), ("service-category", "drop-in")], "B"),                      # every taxonomy named
    ([("delivery-mode", "digital")], "AD"),
    ([("language", "sv")], "B"),
    ([("referral", "no-referral")], "ABE"),
    ([("referral", "referral-required")], "CD"),
    ([("cost", "free")], "ABD"),
    ([("cost", "fee")], "CE"),
    ([("cost", "fee"), ("cost", "free")], "ABCDE"),
])
def test_taxonomy_term_ids_filter_by_their_taxonomys_column(conn, varied, terms, expected):
    ids = tuple(term(*t) for t in terms)
    assert "".join(n[0] for n in names(conn, taxonomy_term_ids=ids)) == expected


@pytest.mark.parametrize("ids", [(str(uuid.uuid4()),), ("not-a-uuid",), ("",), ("\x00",)])
def test_an_unknown_taxonomy_term_matches_nothing(conn, varied, ids):
    assert names(conn, taxonomy_term_ids=ids) == []


def test_an_unknown_term_beside_a_known_one_adds_nothing(conn, varied):
    assert names(conn, taxonomy_term_ids=(str(uuid.uuid4()), term("service-category", "drop-in"))) == [
        "B Kohtaamispaikka"]


@pytest.mark.parametrize("query", [
    {"categories": ("no-such-category",)}, {"areas": ("atlantis",)}, {"delivery_modes": ("teleport",)},
    {"languages": ("klingon",)}, {"categories": ("drop-in\x00",)}, {"areas": ("oulu\x00",)},
    {"organization_id": "odl\x00"}, {"organization_id": "x" * 1000}, {"categories": ("",)},
])
def test_unknown_codes_match_nothing_rather_than_fail(conn, varied, query):
    assert names(conn, **query) == []


@pytest.mark.parametrize("query", [{"age": 10 ** 12}, {"age": -(10 ** 12)}, {"page": 10 ** 30},
                                   {"per_page": -5}, {"per_page": 10 ** 12}, {"open_on": date(1, 1, 1)},
                                   {"at": datetime(9999, 12, 31, 23, 0, tzinfo=timezone.utc), "open_now": True},
                                   {"modified_after": datetime(1, 1, 2, tzinfo=timezone.utc)}])
def test_extreme_values_do_not_crash(conn, varied, query):
    search(conn, SearchQuery(**query))


def test_free_drop_in_open_today_in_oulu_for_a_20_year_old(conn, seed):
    today = datetime.now(HELSINKI).date()
    drop_in = dict(category="drop-in", areas=["oulu-keskusta"], min_age=15, max_age=29, free=True,
                   opening_hours=ALWAYS)
    seed("Kohtaamispaikka HELMI", **drop_in)
    seed("Kohtaamispaikka maksullinen", **{**drop_in, "free": False})
    seed("Kohtaamispaikka Kouvola", **{**drop_in, "areas": ["kouvola"]})
    seed("Kohtaamispaikka alaikäisille", **{**drop_in, "min_age": 12, "max_age": 17})
    seed("Kohtaamispaikka kiinni tänään", **drop_in, exceptions=[
        {"starts_on": (today - timedelta(days=1)).isoformat(), "ends_on": (today + timedelta(days=1)).isoformat(),
         "closed": True}])
    seed("Kohtaamispaikka ilman aukioloja", **{**drop_in, "opening_hours": []})
    seed("Ohjaamo Oulu", **{**drop_in, "category": "one-stop-guidance"})
    seed("Kohtaamispaikka tauolla", **drop_in, status="temporarily-closed")
    assert names(conn, categories=("drop-in",), areas=("oulu",), age=20, free=True, open_on=today) == [
        "Kohtaamispaikka HELMI"]


def test_temporarily_closed_services_are_listed_unless_asked_not_to(conn, seed):
    seed("Kohtaamispaikka tauolla", category="drop-in", status="temporarily-closed", opening_hours=ALWAYS)
    seed("Kohtaamispaikka HELMI", category="drop-in", opening_hours=ALWAYS)
    page = search(conn, SearchQuery(text="kohtaamispaikka"))
    assert {h.row["name_fi"]: h.row["status"] for h in page.hits} == {
        "Kohtaamispaikka HELMI": "active", "Kohtaamispaikka tauolla": "temporarily-closed"}
    assert names(conn, text="kohtaamispaikka", include_closed=False) == ["Kohtaamispaikka HELMI"]


def test_a_withdrawn_service_is_never_listed(conn, seed):
    gone = seed("Kohtaamispaikka lopetettu", category="drop-in", opening_hours=ALWAYS)
    seed("Kohtaamispaikka HELMI", category="drop-in", opening_hours=ALWAYS)
    seed.withdraw(gone)
    assert conn.execute(select(directory_service.c.status).where(
        directory_service.c.service_id == gone)).scalar() == "withdrawn"   # the tombstone is there
    for query in ({}, {"text": "lopetettu"}, {"organization_id": "odl"}, {"include_closed": True},
                  {"open_now": True}, {"open_on": date(2026, 11, 30)}):
        assert "Kohtaamispaikka lopetettu" not in names(conn, **query)
    assert search(conn, SearchQuery()).total == 1


# -- open now and open on a day, in Europe/Helsinki time ----------------------------------------------------------
@pytest.mark.parametrize("at, is_open", [
    (utc(2026, 3, 23, 10, 30), False),     # Monday 12:30 EET (UTC+2)
    (utc(2026, 3, 23, 11, 0), True),       # 13:00 EET: opening time is open
    (utc(2026, 3, 23, 11, 30), True),      # 13:30 EET
    (utc(2026, 3, 23, 15, 0), False),      # 17:00 EET: closing time is closed
    (utc(2026, 3, 30, 10, 30), True),      # 13:30 EEST (UTC+3), the day after summer time began
    (utc(2026, 3, 30, 9, 30), False),      # 12:30 EEST
    (utc(2026, 3, 30, 14, 30), False),     # 17:30 EEST, though 15:30 in EET
    (utc(2026, 10, 19, 10, 30), True),     # 13:30 EEST, the Monday before winter time
    (utc(2026, 10, 26, 10, 30), False),    # 12:30 EET, the day after winter time began (2026-10-25)
    (utc(2026, 10, 26, 11, 30), True),     # 13:30 EET
    (utc(2026, 3, 24, 11, 30), False),     # Tuesday
    (datetime(2026, 3, 30, 13, 30), True),  # naive: Helsinki wall-clock time
    (datetime(2026, 3, 30, 12, 59), False),
])
def test_open_now_follows_helsinki_time_across_daylight_saving(conn, seed, at, is_open):
    seed("Kohtaamispaikka HELMI", category="drop-in", opening_hours=MONDAYS_13_17)
    assert open_now(conn, at) == {"Kohtaamispaikka HELMI": is_open}


def test_open_now_on_the_night_summer_time_begins(conn, seed):
    seed("Yöpäivystys", opening_hours=[{"days": ["SU"], "opens_at": "03:00", "closes_at": "05:00"}])
    assert open_now(conn, utc(2026, 3, 29, 0, 30)) == {"Yöpäivystys": False}   # 02:30 EET
    assert open_now(conn, utc(2026, 3, 29, 1, 30)) == {"Yöpäivystys": True}    # 04:30 EEST (03:00–04:00 never was)
    assert open_now(conn, utc(2026, 3, 29, 2, 0)) == {"Yöpäivystys": False}    # 05:00 EEST


def test_a_closed_exception_closes_a_holiday(conn, seed):
    seed("Kohtaamispaikka HELMI", category="drop-in", opening_hours=MONDAYS_13_17,
         exceptions=[{"starts_on": "2026-04-06", "ends_on": "2026-04-06", "closed": True,
                      "reason": {"fi": "Toinen pääsiäispäivä"}}])
    assert open_now(conn, utc(2026, 4, 6, 11, 0)) == {"Kohtaamispaikka HELMI": False}    # Easter Monday 14:00
    assert open_now(conn, utc(2026, 4, 13, 11, 0)) == {"Kohtaamispaikka HELMI": True}
    assert names(conn, open_on=date(2026, 4, 6)) == []
    assert names(conn, open_on=date(2026, 4, 13)) == ["Kohtaamispaikka HELMI"]


def test_special_hours_replace_the_weekly_hours_on_their_days(conn, seed):
    seed("Kohtaamispaikka HELMI", category="drop-in", opening_hours=MONDAYS_13_17,
         exceptions=[{"starts_on": "2026-04-06", "ends_on": "2026-04-07", "closed": False,
                      "opens_at": "10:00", "closes_at": "12:00"}])
    assert open_now(conn, utc(2026, 4, 6, 7, 30)) == {"Kohtaamispaikka HELMI": True}     # Mon 10:30 special
    assert open_now(conn, utc(2026, 4, 6, 10, 30)) == {"Kohtaamispaikka HELMI": False}   # Mon 13:30 weekly, replaced
    assert open_now(conn, utc(2026, 4, 7, 8, 0)) == {"Kohtaamispaikka HELMI": True}      # Tue 11:00, not a weekly day
    assert open_now(conn, utc(2026, 4, 13, 10, 30)) == {"Kohtaamispaikka HELMI": True}   # the next Monday as usual
    assert names(conn, open_on=date(2026, 4, 7)) == ["Kohtaamispaikka HELMI"]
    assert names(conn, open_on=date(2026, 4, 8)) == []


def test_a_closed_exception_wins_over_special_hours_on_the_same_day(conn, seed):
    seed("Kohtaamispaikka HELMI", category="drop-in", opening_hours=MONDAYS_13_17,
         exceptions=[{"starts_on": "2026-04-01", "ends_on": "2026-04-30", "closed": False,
                      "opens_at": "10:00", "closes_at": "12:00"},
                     {"starts_on": "2026-04-06", "ends_on": "2026-04-06", "closed": True}])
    assert open_now(conn, utc(2026, 4, 6, 7, 30)) == {"Kohtaamispaikka HELMI": False}
    assert open_now(conn, utc(2026, 4, 8, 7, 30)) == {"Kohtaamispaikka HELMI": True}


def test_weekly_hours_count_only_within_their_validity(conn, seed):
    seed("Kesäkahvila", opening_hours=[{"days": ["MO"], "opens_at": "13:00", "closes_at": "17:00",
                                         "valid_from": "2026-06-01", "valid_to": "2026-08-31"}])
    seed("Talvikahvila", opening_hours=[{"days": ["MO"], "opens_at": "13:00", "closes_at": "17:00",
                                         "valid_to": "2026-05-31"}])
    seed("Syyskahvila", opening_hours=[{"days": ["MO"], "opens_at": "13:00", "closes_at": "17:00",
                                        "valid_from": "2026-08-31"}])
    assert open_now(conn, utc(2026, 5, 25, 11, 0)) == {"Kesäkahvila": False, "Syyskahvila": False,
                                                       "Talvikahvila": True}
    assert open_now(conn, utc(2026, 6, 1, 11, 0)) == {"Kesäkahvila": True, "Syyskahvila": False,
                                                      "Talvikahvila": False}
    assert names(conn, open_on=date(2026, 8, 31)) == ["Kesäkahvila", "Syyskahvila"]
    assert names(conn, open_on=date(2026, 9, 7)) == ["Syyskahvila"]


def test_closing_at_midnight_is_open_until_the_day_ends(conn, seed):
    seed("Iltapäivystys", opening_hours=[{"days": ["FR"], "opens_at": "18:00", "closes_at": "24:00"}])
    assert open_now(conn, utc(2026, 3, 27, 21, 59)) == {"Iltapäivystys": True}                # Fri 23:59 EET
    assert open_now(conn, datetime(2026, 3, 27, 23, 59, 59, 999999)) == {"Iltapäivystys": True}
    assert open_now(conn, utc(2026, 3, 27, 22, 0)) == {"Iltapäivystys": False}                # Sat 00:00
    assert open_now(conn, utc(2026, 3, 27, 15, 59)) == {"Iltapäivystys": False}               # Fri 17:59


def test_split_hours_on_one_day(conn, seed):
    seed("Ohjaamo", opening_hours=[{"days": ["MO"], "opens_at": "09:00", "closes_at": "11:00"},
                                   {"days": ["MO"], "opens_at": "13:00", "closes_at": "17:00"}])
    assert open_now(conn, utc(2026, 3, 23, 8, 0)) == {"Ohjaamo": True}     # 10:00
    assert open_now(conn, utc(2026, 3, 23, 10, 0)) == {"Ohjaamo": False}   # 12:00, between
    assert open_now(conn, utc(2026, 3, 23, 12, 0)) == {"Ohjaamo": True}    # 14:00


def test_a_temporarily_closed_service_is_never_open(conn, seed):
    seed("Kohtaamispaikka tauolla", category="drop-in", status="temporarily-closed", opening_hours=ALWAYS,
         exceptions=[{"starts_on": "2026-03-23", "ends_on": "2026-03-23", "closed": False,
                      "opens_at": "00:00", "closes_at": "24:00"}])
    assert open_now(conn, utc(2026, 3, 23, 11, 30)) == {"Kohtaamispaikka tauolla": False}
    assert names(conn, open_on=date(2026, 3, 23)) == []
    assert names(conn, open_on=date(2026, 3, 24)) == []


def test_without_a_moment_open_now_means_now(conn, seed):
    seed("Aina auki", opening_hours=ALWAYS)
    seed("Ei koskaan auki")
    page = search(conn, SearchQuery())
    assert {h.row["name_fi"]: h.open_now for h in page.hits} == {"Aina auki": True, "Ei koskaan auki": False}
    assert names(conn, open_now=True) == ["Aina auki"]
    assert names(conn, open_on=datetime.now(HELSINKI).date()) == ["Aina auki"]


def test_open_on_a_day_needs_no_time(conn, seed):
    seed("Kohtaamispaikka HELMI", category="drop-in", opening_hours=MONDAYS_13_17)
    seed("Ohjaamo", opening_hours=[{"days": ["TU"], "opens_at": "09:00", "closes_at": "11:00"}])
    assert names(conn, open_on=date(2026, 3, 30)) == ["Kohtaamispaikka HELMI"]   # a Monday
    assert names(conn, open_on=date(2026, 3, 31)) == ["Ohjaamo"]
    assert names(conn, open_on=date(2026, 4, 1)) == []


# -- paging -------------------------------------------------------------------------------------------------------
@pytest.fixture
def many(seed):
    for i in range(45):
        seed(f"Palvelu {i:02d}", category="drop-in" if i % 3 == 0 else "leisure")


def test_pages_cover_every_match_once_in_order(conn, many):
    pages = [search(conn, SearchQuery(page=p, per_page=20)) for p in (1, 2, 3)]
    assert [len(p.hits) for p in pages] == [20, 20, 5]
    assert {(p.total, p.total_pages) for p in pages} == {(45, 3)}
    assert [h.row["name_fi"] for p in pages for h in p.hits] == [f"Palvelu {i:02d}" for i in range(45)]


def test_a_page_past_the_end_still_tells_the_total(conn, many):
    page = search(conn, SearchQuery(page=4, per_page=20))
    assert (page.hits, page.total, page.page) == ([], 45, 4)
    page = search(conn, SearchQuery(categories=("drop-in",), page=2, per_page=15))
    assert (page.hits, page.total) == ([], 15)


def test_filters_count_in_the_total(conn, many):
    page = search(conn, SearchQuery(categories=("drop-in",), per_page=10))
    assert (page.total, page.total_pages, len(page.hits)) == (15, 2, 10)
    assert search(conn, SearchQuery(text="palvelu", per_page=10)).total == 45


@pytest.mark.parametrize("page, per_page, expected", [(0, 20, (1, 20)), (-3, 20, (1, 20)), (1, 0, (1, 1)),
                                                      (1, -1, (1, 1)), (1, 500, (1, 100)), (2, 100, (2, 100))])
def test_page_and_page_size_are_clamped(conn, many, page, per_page, expected):
    result = search(conn, SearchQuery(page=page, per_page=per_page))
    assert (result.page, result.per_page) == expected
    assert len(result.hits) == max(0, min(expected[1], 45 - (expected[0] - 1) * expected[1]))


def statements(conn, query: SearchQuery) -> int:
    seen = []

    def count(*_):
        seen.append(1)
    event.listen(conn, "before_cursor_execute", count)
    try:
        search(conn, query)
    finally:
        event.remove(conn, "before_cursor_execute", count)
    return len(seen)


def test_one_statement_for_a_page_and_one_more_for_the_words_of_a_text(conn, many):
    assert statements(conn, SearchQuery(categories=("leisure",), page=2)) == 1
    assert statements(conn, SearchQuery(page=9)) == 1                     # past the end, total included
    assert statements(conn, SearchQuery(text="&|!", per_page=100)) == 1
    assert statements(conn, SearchQuery(text="palvelu", open_now=True, areas=("oulu",), per_page=100)) == 2
    assert statements(conn, SearchQuery(text="palveluja nuorille kohtamispaikka oulussa", page=9)) == 2


def test_the_hit_row_is_the_directory_row_without_search_internals(conn, seed):
    sid = seed("Kohtaamispaikka HELMI", category="drop-in", opening_hours=MONDAYS_13_17)
    (hit,) = search(conn, SearchQuery(text="helmi")).hits
    assert str(hit.row["service_id"]) == sid
    assert hit.row["document"]["name"] == {"fi": "Kohtaamispaikka HELMI"}
    assert hit.row["organization_id"] == "odl" and hit.row["categories"] == ["drop-in"]
    assert "search" not in hit.row and "search_text" not in hit.row
    assert conn.execute(select(func.count()).select_from(directory_service)).scalar() == 1
