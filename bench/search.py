"""Section 7: catalogue search p50/p95 over 5,000 synthetic services of the federation directory, against one
page of directory rows by primary key on the same connection."""
from __future__ import annotations

import random
import time
import uuid
from datetime import date, datetime, timezone

from sqlalchemy import select

from services import catalogue
from services.catalogue import tables as ct
from services.catalogue.directory.repository import Directory
from services.catalogue.directory.search import ROW_COLUMNS, SearchQuery, search
from services.catalogue.publishing.domain import jsonable
from services.catalogue.publishing.schemas import ServiceIn

from .common import SENDER, Row, Run, past_iso, percentile, say

# Word lists for synthetic services: (category, Finnish names, Swedish name, English name, description phrases).
SEARCH_TOPICS = [
    ("mental-health-support", ["Mielenterveyspalvelut", "Mielenterveysneuvonta", "Mielen hyvinvoinnin tuki"],
     "Stöd för psykisk hälsa", "Mental-health support",
     ["keskusteluapua ahdistukseen ja masennukseen", "mielenterveyden tukea ilman ajanvarausta",
      "lyhytterapiaa ja ohjausta"]),
    ("food-aid", ["Ruoka-apu", "Ruokajakelu", "Yhteinen ruokapöytä"], "Mathjälp", "Food aid",
     ["maksutonta ruokaa ja ruokakasseja", "lämmin lounas arkipäivisin", "ruoka-apua kaikille tarvitseville"]),
    ("drop-in", ["Kohtaamispaikka", "Nuorten olohuone", "Avoin kahvila"], "Mötesplats", "Drop-in meeting place",
     ["tule sellaisenaan, ei ajanvarausta", "kahvia, pelejä ja juttuseuraa",
      "turvallinen paikka olla ja hengailla"]),
    ("one-stop-guidance", ["Ohjaamo", "Ohjauspiste", "Nuorten neuvontapiste"], "Navigatorn", "One-stop guidance",
     ["apua opiskeluun, työhön ja arkeen", "neuvontaa ja ohjausta alle 30-vuotiaille",
      "kaikki palvelut samasta paikasta"]),
    ("outreach-youth-work", ["Etsivä nuorisotyö", "Etsivät nuorisotyöntekijät"], "Uppsökande ungdomsarbete",
     "Outreach youth work",
     ["tavoitamme nuoret, jotka ovat palveluiden ulkopuolella", "henkilökohtaista tukea arkeen"]),
    ("substance-abuse-support", ["Päihdeneuvonta", "Päihdetyö", "Riippuvuuksien tuki"], "Missbruksstöd",
     "Substance-abuse support", ["tukea päihteiden käytön vähentämiseen", "peliriippuvuus ja muut riippuvuudet"]),
    ("housing", ["Asumisneuvonta", "Nuorten asumisen tuki", "Tukiasunnot"], "Boendestöd", "Housing advice",
     ["apua asunnon hakemiseen ja vuokran maksuun", "asumisen ongelmien selvittely"]),
    ("studies-and-training", ["Opintoneuvonta", "Opiskelun tuki", "Koulutusneuvonta"], "Studiehandledning",
     "Study guidance", ["apua opiskelupaikan hakemiseen", "tukea opintojen loppuun saattamiseen"]),
    ("employment-services", ["Työpaja", "Nuorten työpaja", "Työllisyyspalvelut"], "Verkstad för unga",
     "Youth workshop", ["työkokeilua ja valmennusta", "apua työnhakuun ja ansioluetteloon"]),
    ("financial-advice", ["Velkaneuvonta", "Talousneuvonta", "Raha-asioiden ohjaus"], "Skuldrådgivning",
     "Debt advice", ["apua velkoihin ja laskuihin", "budjetointia ja talouden suunnittelua"]),
    ("peer-support", ["Vertaistukiryhmä", "Vertaistuki", "Kokemusasiantuntijat"], "Kamratstöd", "Peer support",
     ["ryhmä, jossa jaetaan kokemuksia", "vertaistukea samassa tilanteessa oleville"]),
    ("leisure", ["Harrastustoiminta", "Nuorisotalo", "Liikuntaryhmä"], "Fritidsverksamhet", "Leisure activities",
     ["maksuttomia harrastuksia nuorille", "pelejä, musiikkia ja liikuntaa"]),
    ("kela-benefits-advice", ["Kela-neuvonta", "Etuusneuvonta"], "FPA-rådgivning", "Kela benefits advice",
     ["apua Kelan hakemuksiin", "toimeentulotuen hakeminen"]),
]
SEARCH_AUDIENCES = ["nuorille", "alle 30-vuotiaille", "opiskelijoille", "perheille", "maahanmuuttajanuorille", "",
                    "tytöille", "pojille"]
SEARCH_PLACES = [("oulu-keskusta", "Oulu", "Isokatu"), ("tuira", "Oulu", "Koskikatu"),
                 ("kiiminki", "Kiiminki", "Kirkkotie"), ("haukipudas", "Haukipudas", "Satamatie"),
                 ("kaakkuri", "Oulu", "Kaakkurintie"), ("kouvola", "Kouvola", "Kauppalankatu"),
                 ("rovaniemi", "Rovaniemi", "Koskikatu"), ("oulunsalo", "Oulunsalo", "Salontie")]
SEARCH_NICKS = ["HELMI", "Kipinä", "Pysäkki", "Majakka", "Tupa", "Paussi", "Verso", "Saapas", "Nuotta", "Mesta"]
SEARCH_ORGS = ["odl", "oulu-social", "kouvola-youth", "rovaniemi-ry", "helmi-ry"]
# Compounds and case endings, so that the directory has a vocabulary of thousands of words, as real
# descriptions do (the fuzzy matching looks through every distinct word).
SEARCH_PREFIXES = ["nuoriso", "mielenterveys", "päihde", "asumis", "opinto", "työ", "talous", "velka", "vertais",
                   "perhe", "harrastus", "liikunta", "kulttuuri", "ruoka", "kriisi", "keskustelu", "ohjaus",
                   "kuntoutus", "sosiaali", "terveys", "koulutus", "kieli", "digi", "kesä", "ilta", "viikonloppu",
                   "pelaamis", "musiikki", "taide", "kokemus", "yö", "leiri", "arki", "hyvinvointi", "kotoutumis",
                   "elämänhallinta", "itsenäistymis", "urheilu", "luonto", "seksuaaliterveys"]
SEARCH_HEADS = ["palvelu", "neuvonta", "ohjaus", "tuki", "ryhmä", "paja", "piste", "talo", "toiminta", "valmennus",
                "kahvila", "apu", "päivystys", "kurssi", "klubi", "verkosto", "hanke", "kerho", "ilta", "vastaanotto"]
SEARCH_ENDINGS = ["", "", "n", "a", "ssa", "sta", "lle", "lla", "ksi", "t", "ihin", "ineen"]
SEARCH_FILLERS = ["ja", "sekä", "kaikille", "maksutta", "ilman ajanvarausta", "arkisin", "tarvittaessa", "myös",
                  "yhdessä", "nuorten kanssa", "verkossa", "paikan päällä", "luottamuksellisesti"]


def synthetic_words(rnd, n: int) -> str:
    return " ".join(rnd.choice(SEARCH_FILLERS) if rnd.random() < 0.3 else
                    rnd.choice(SEARCH_PREFIXES) + rnd.choice(SEARCH_HEADS) + rnd.choice(SEARCH_ENDINGS)
                    for _ in range(n))


def synthetic_service(i: int, rnd) -> dict:
    """The data of one catalogue.service-published.v2 event: a varied, plausible Finnish youth service."""
    category, names, name_sv, name_en, phrases = SEARCH_TOPICS[i % len(SEARCH_TOPICS)]
    area, city, street = rnd.choice(SEARCH_PLACES)
    name = " ".join(filter(None, [rnd.choice(names), rnd.choice(SEARCH_AUDIENCES),
                                  rnd.choice([city, rnd.choice(SEARCH_NICKS), ""])]))
    description = " ".join(p[0].upper() + p[1:] + "." for p in [*rnd.sample(phrases, 2),
                                                                 synthetic_words(rnd, rnd.randint(6, 14))])
    doc = {"name": {"fi": name}, "description": {"fi": description},
           "categories": [category] + ([rnd.choice(SEARCH_TOPICS)[0]] if rnd.random() < 0.3 else []),
           "areas": [area] if rnd.random() < 0.8 else [rnd.choice(["oulu", "koko-suomi", area])],
           "delivery_modes": ["in-person"] + (["digital"] if rnd.random() < 0.3 else []),
           "languages": ["fi"] + (["sv"] if rnd.random() < 0.2 else []) + (["en"] if rnd.random() < 0.3 else []),
           "free": rnd.random() < 0.85, "referral_required": rnd.random() < 0.2}
    doc["categories"] = list(dict.fromkeys(doc["categories"]))
    if rnd.random() < 0.5:
        doc["name"].update(sv=f"{name_sv} {city}", en=f"{name_en} {city}")
    if not doc["free"]:
        doc["fees"] = {"fi": "Pieni maksu"}
    if rnd.random() < 0.7:
        doc["min_age"] = rnd.choice([12, 13, 15, 16, 18])
    if rnd.random() < 0.7:
        doc["max_age"] = rnd.choice([25, 29, 30, 35])
    if rnd.random() < 0.85:
        days = sorted(rnd.sample(range(7), rnd.randint(1, 5)))
        opens = rnd.randint(8, 14)
        hours = {"days": [["MO", "TU", "WE", "TH", "FR", "SA", "SU"][d] for d in days],
                 "opens_at": f"{opens:02d}:00",
                 "closes_at": "24:00" if rnd.random() < 0.05 else f"{min(opens + rnd.randint(2, 8), 23):02d}:00"}
        if rnd.random() < 0.2:
            hours.update(valid_from="2026-01-01", valid_to="2026-12-31")
        doc["opening_hours"] = [hours]
        if rnd.random() < 0.3:
            doc["exceptions"] = [{"starts_on": "2026-12-24", "ends_on": "2026-12-26", "closed": True}]
            if rnd.random() < 0.3:
                doc["exceptions"].append({"starts_on": "2026-06-19", "ends_on": "2026-06-19", "closed": False,
                                          "opens_at": "10:00", "closes_at": "14:00"})
    service = jsonable(ServiceIn().load(doc))
    locations = []
    if rnd.random() < 0.6:
        locations = [{"id": str(uuid.UUID(int=rnd.getrandbits(128))), "version": 1,
                      "name": {"fi": f"{rnd.choice(SEARCH_NICKS)} {city}"},
                      "address": {"street": f"{street} {rnd.randint(1, 80)}", "postal_code": "90100", "city": city},
                      "area": area}]
    return {"service_id": str(uuid.UUID(int=rnd.getrandbits(128))), "organization_id": rnd.choice(SEARCH_ORGS),
            "version": 1, "status": "temporarily-closed" if rnd.random() < 0.05 else "active",
            "published_at": past_iso(rnd.uniform(1, 24 * 90)), "service": service, "locations": locations}


def search_mix(n: int, rnd) -> list[tuple[str, object]]:
    """A realistic mix of (kind, SearchQuery): text only, text with filters, filters with open now or open on a
    day, typos, the second page."""
    texts = ["mielenterveys", "ruoka-apu", "nuorten työpaja", "asuminen", "päihde", "velkaneuvonta",
             "kohtaamispaikka", "opiskelu", "vertaistuki", "etsivä nuorisotyö", "mathjälp", "food aid",
             "ohjaamo oulu", "kela"]
    typos = ["mielenterveis", "kohtaamispaika", "ruokaapu", "päihdetyo", "asumisneuvona", "velkaneuvnta"]
    moments = [datetime(2026, 3, 30, 10, 30, tzinfo=timezone.utc), datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc),
               datetime(2026, 12, 24, 12, 0, tzinfo=timezone.utc), datetime(2026, 6, 19, 9, 0, tzinfo=timezone.utc)]
    kinds = [
        ("text", lambda: SearchQuery(text=rnd.choice(texts), at=rnd.choice(moments))),
        ("text+filters", lambda: SearchQuery(text=rnd.choice(texts), areas=("oulu",), age=rnd.randint(14, 28),
                                             free=True, at=rnd.choice(moments))),
        ("filters+open now", lambda: SearchQuery(categories=(rnd.choice(SEARCH_TOPICS)[0],),
                                                 areas=(rnd.choice(SEARCH_PLACES)[0],), open_now=True,
                                                 at=rnd.choice(moments))),
        ("filters+open on", lambda: SearchQuery(areas=("oulu",), open_on=date(2026, 11, rnd.randint(1, 30)), age=20,
                                                no_referral=True)),
        ("typo", lambda: SearchQuery(text=rnd.choice(typos), at=rnd.choice(moments))),
        ("page 2", lambda: SearchQuery(text=rnd.choice(["nuorille", "oulu", "tukea"]), page=2,
                                       at=rnd.choice(moments))),
    ]
    return [(kinds[i % len(kinds)][0], kinds[i % len(kinds)][1]()) for i in range(n)]


def seed(engine, n_services: int, rnd) -> int:
    """n synthetic services into the directory, as their published events would put them; the vocabulary size."""
    events = [synthetic_service(i, rnd) for i in range(n_services)]
    for start in range(0, n_services, 1000):
        with engine.begin() as conn:
            directory = Directory(conn)
            for i, e in enumerate(events[start:start + 1000], start):
                directory.apply_published(e, f"bench-{i}")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")
        return conn.exec_driver_sql("SELECT count(*) FROM directory_word").scalar()


def timed_queries(engine, queries: list, warmup: int):
    """Each query and the baseline page, interleaved so that both see the same machine: milliseconds of ours
    and of the baseline, the totals found and ours by kind of query (after the warm-up)."""
    baseline_stmt = select(*ROW_COLUMNS).order_by(ct.directory_service.c.service_id).limit(20)
    ours, base, found, by_kind = [], [], [], {}
    with engine.connect() as conn:
        for i, (kind, q) in enumerate(queries):
            t1 = time.perf_counter()
            conn.execute(baseline_stmt).all()
            t2 = time.perf_counter()
            page = search(conn, q)
            t3 = time.perf_counter()
            conn.rollback()
            if i >= warmup:
                base.append((t2 - t1) * 1000)
                ours.append((t3 - t2) * 1000)
                found.append(page.total)
                by_kind.setdefault(kind, []).append((t3 - t2) * 1000)
    return ours, base, found, by_kind


def catalogue_search(run: Run) -> tuple[list[Row], dict]:
    n_services, n_queries, warmup = 5_000, (300 if run.quick else 1_000), 60
    eng = run.engines
    ctx = eng.context(catalogue.DEFINITION, SENDER, eng.new_database("search"))
    rnd = random.Random(7)
    try:
        t = time.monotonic()
        vocabulary = seed(ctx.engine, n_services, rnd)
        say(f"search: {n_services} services ({vocabulary} distinct words) seeded in {time.monotonic() - t:.1f}s")
        ours, base, found, by_kind = timed_queries(ctx.engine, search_mix(warmup + n_queries, rnd), warmup)
    finally:
        ctx.dispose()
    p50, p95 = percentile(ours, 50), percentile(ours, 95)
    b50, b95 = percentile(base, 50), percentile(base, 95)
    say(f"  search over {n_services} services, {n_queries} queries: p50 {p50:.1f} ms, p95 {p95:.1f} ms; "
        f"baseline p50 {b50:.2f} ms, p95 {b95:.2f} ms")
    details = {"services": n_services, "queries": n_queries, "ours_ms": ours, "baseline_ms": base,
               "ours_p50": p50, "ours_p95": p95, "baseline_p50": b50, "baseline_p95": b95,
               "vocabulary": vocabulary, "mean_total": sum(found) / len(found),
               "zero_hits": sum(1 for f in found if not f),
               "p50_p95_by_kind": {k: (percentile(v, 50), percentile(v, 95)) for k, v in by_kind.items()}}
    note = (f"{n_services} services with {vocabulary} distinct words of 4+ letters; "
            f"{n_queries} queries after {warmup} warm-up, one connection, mix of text only, text+filters, "
            f"filters+open now, open on a day, typos and page 2; mean {sum(found) / len(found):.0f} matches, "
            f"{details['zero_hits']} with none; p50/p95 ms by kind: " +
            ", ".join(f"{k} {a:.1f}/{b:.1f}" for k, (a, b) in details["p50_p95_by_kind"].items()) +
            "; baseline = one page of 20 directory rows by primary key, same connection, interleaved")
    return [Row("7", f"catalogue search p50, {n_services // 1000}k services", "ms", b50, p50),
            Row("7", f"catalogue search p95, {n_services // 1000}k services", "ms", b95, p95,
                target="p95 < 50 ms over 5,000 services", met=p95 < 50, note=note)], {"search": details}
