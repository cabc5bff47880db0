"""Searching the federation directory: Finnish full text, typo and compound tolerant, with filters.

Used by the public page, the HSDS read API and the benchmark. At most two SQL statements a call:
with text, the first has PostgreSQL stem the query's words and find the directory's words similar
to them; the other returns the page with the total. "Open now / open on a day" is decided in SQL
from the weekly hours and exceptions in Europe/Helsinki time.

Text matching, word by word (every word of the query must match):
  * full text in Finnish, Swedish and English (the generated `search` tsvector): the word's stems
    as prefixes of the service's stemmed words, so "mielenterveys" finds "mielenterveyspalvelut";
  * or, for words of four letters or more, the stems of the directory's words most similar to it
    (pg_trgm word similarity `<%`, over `directory_word` which migration c0003 keeps), so typos
    ("mielenterveis") and the tail of a compound ("palvelut") still match. Comparing the query
    word with every row's whole `search_text` instead costs 20 µs a row whenever the planner scans
    the table, and at 5,000 services it often does.
A word that is a stop word in any of the three languages ("ja", "och", "the") is ignored. The user's
text reaches PostgreSQL only as words of letters and digits given to to_tsvector and pg_trgm; the
tsqueries are made of the lexemes PostgreSQL returns, quoted, never by to_tsquery of the text.

Ranking, per word, averaged: a match in a name (weight A) 1.0, in a description or other text
(weight B) 0.6, a fuzzy match in a name 0.4, elsewhere 0.3. Ties, and every result without text,
are ordered by the Finnish name.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import (Date, DateTime, Float, Integer, String, Time, and_, bindparam, case, cast, exists, extract,
                        false, func, literal, or_, select, text, true)
from sqlalchemy.dialects.postgresql import ARRAY, TSQUERY

from .. import tables as t
from ..profile import profile

TZ = "Europe/Helsinki"
NATIONWIDE = "koko-suomi"
MAX_PER_PAGE = 100
MAX_PAGE = 1_000_000
MAX_WORDS = 8
MAX_WORD_LENGTH = 60
FUZZY_MIN_LENGTH = 4        # shorter words have too few trigrams to say anything fuzzy
FUZZY_WORDS = 30            # the directory's words most similar to a query word that it stands for
MIDNIGHT = time(23, 59, 59, 999999)   # how a closing time of "24:00" is stored

NAME_MATCH, TEXT_MATCH, FUZZY_NAME_MATCH, FUZZY_TEXT_MATCH = 1.0, 0.6, 0.4, 0.3
WORD = re.compile(r"[^\W_]+")  # a query word: letters and digits only


@dataclass(frozen=True)
class SearchQuery:
    text: str | None = None             # free text, any language; typo and compound tolerant
    categories: tuple[str, ...] = ()    # service-category codes (any of)
    areas: tuple[str, ...] = ()         # area codes (any of); a municipality matches its districts
    delivery_modes: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    age: int | None = None              # the young person's age: within min_age..max_age
    free: bool | None = None            # True: only free of charge (False: only those with a fee)
    no_referral: bool = False           # True: only services that need no referral
    open_now: bool = False              # open at `at` (default: now)
    open_on: date | None = None         # open at some time on this local date
    at: datetime | None = None          # the moment "now" means (tests, "open at 14:00 on Monday");
    #                                     a naive value is Europe/Helsinki wall-clock time
    organization_id: str | None = None
    taxonomy_term_ids: tuple[str, ...] = ()  # HSDS taxonomy_term_id filter (any profile term)
    modified_after: datetime | None = None
    include_closed: bool = True         # temporarily closed services are listed (marked), unless False
    page: int = 1
    per_page: int = 20


@dataclass
class Hit:
    row: dict                # the directory_service row (document, locations, provenance…)
    rank: float
    open_now: bool           # open at the query's moment


@dataclass
class SearchPage:
    hits: list[Hit] = field(default_factory=list)
    total: int = 0
    page: int = 1
    per_page: int = 20

    @property
    def total_pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


ds = t.directory_service
ROW_COLUMNS = [c for c in ds.c if c.name not in ("search", "search_text")]


def search(conn, q: SearchQuery) -> SearchPage:
    """One page of the services matching `q`, best first, with the total number of matches.

    Two statements when there is text (the words, stemmed and with their similar words; then the page),
    one without."""
    per_page = min(max(int(q.per_page), 1), MAX_PER_PAGE)
    page = min(max(int(q.page), 1), MAX_PAGE)
    moment = bindparam("at", _aware(q.at) or datetime.now(ZoneInfo(TZ)), type_=DateTime(timezone=True))
    words = _Word.all_of(conn, q.text)
    where = [*[w.matches() for w in words], *_filters(q, moment)]
    scored = select(ds.c.service_id, ds.c.name_fi, _rank(words).label("rank")).where(*where).cte("scored")
    order = (scored.c.rank.desc(), func.lower(scored.c.name_fi), scored.c.name_fi, scored.c.service_id)
    one_page = (select(scored.c.service_id, scored.c.rank, func.row_number().over(order_by=order).label("n"))
                .order_by(*order).limit(per_page).offset((page - 1) * per_page).subquery("page"))
    total = select(func.count().label("total")).select_from(scored).subquery("total")
    # the total comes even with a page past the last one: the page's rows are joined to it
    rows = conn.execute(
        select(total.c.total, *ROW_COLUMNS, one_page.c.rank, open_at(moment).label("open_now"))
        .select_from(total.outerjoin(one_page.join(ds, ds.c.service_id == one_page.c.service_id), true()))
        .order_by(one_page.c.n)).all()
    hits = [Hit(row={c.name: r._mapping[c.name] for c in ROW_COLUMNS}, rank=float(r.rank), open_now=r.open_now)
            for r in rows if r.service_id is not None]
    return SearchPage(hits=hits, total=rows[0].total, page=page, per_page=per_page)


def query_words(query_text: str | None) -> list[str]:
    """The words of a free-text query: letters and digits, lower-cased, without repeats; two letters at least."""
    words: list[str] = []
    for w in WORD.findall((query_text or "").lower()):
        w = w[:MAX_WORD_LENGTH]
        if len(w) >= 2 and w not in words:
            words.append(w)
    return words[:MAX_WORDS]


# -- text --------------------------------------------------------------------------------------------------------
# Each query word as PostgreSQL stems it in every configuration, and the stems of the directory's words most
# similar to it that do not begin with it (those the prefix finds anyway); directory_word is kept by c0003.
NORMALISE = text("""
    SELECT q.w,
           tsvector_to_array(to_tsvector('finnish', q.w)) AS finnish,
           tsvector_to_array(to_tsvector('swedish', q.w)) AS swedish,
           tsvector_to_array(to_tsvector('english', q.w)) AS english,
           ARRAY(SELECT DISTINCT lexeme
                 FROM (SELECT d.word FROM directory_word d
                       WHERE length(q.w) >= :fuzzy_min AND q.w <% d.word AND NOT starts_with(d.word, q.w)
                       ORDER BY q.w <<-> d.word LIMIT :fuzzy_words) AS near,
                      unnest(tsvector_to_array(to_tsvector('finnish', near.word) || to_tsvector('swedish', near.word)
                                               || to_tsvector('english', near.word))) AS lexeme
                 ORDER BY lexeme) AS similar
    FROM unnest(CAST(:words AS text[])) WITH ORDINALITY AS q(w, i)
    ORDER BY q.i
""")


@dataclass(frozen=True)
class _Word:
    """One query word, as tsqueries of the lexemes PostgreSQL made of it: its stems as prefixes (anywhere,
    and in names only) and the lexemes of the directory's words similar to it (anywhere, in names)."""
    i: int
    stems: tuple[str, ...]
    similar: tuple[str, ...]

    @classmethod
    def all_of(cls, conn, query_text: str | None) -> list["_Word"]:
        """The query's words; a word that is a stop word in any configuration ("ja", "och", "the") is left out."""
        words = query_words(query_text)
        if not words:
            return []
        rows = conn.execute(NORMALISE, {"words": words, "fuzzy_min": FUZZY_MIN_LENGTH,
                                        "fuzzy_words": FUZZY_WORDS}).all()
        return [cls(i, tuple(dict.fromkeys([*r.finnish, *r.swedish, *r.english])), tuple(r.similar))
                for i, r in enumerate(rows) if r.finnish and r.swedish and r.english]

    def matches(self):
        """The word begins a stemmed word of the service, or the service has a word similar to it."""
        return ds.c.search.op("@@")(self._tsquery("any", _terms(self.stems, ":*") + _terms(self.similar, "")))

    def score(self):
        tiers = [(ds.c.search.op("@@")(self._tsquery("name", _terms(self.stems, ":*A"))), NAME_MATCH),
                 (ds.c.search.op("@@")(self._tsquery("prefix", _terms(self.stems, ":*"))), TEXT_MATCH)]
        if self.similar:
            tiers.append((ds.c.search.op("@@")(self._tsquery("similar_name", _terms(self.similar, ":A"))),
                          FUZZY_NAME_MATCH))
        return case(*tiers, else_=FUZZY_TEXT_MATCH)

    def _tsquery(self, name: str, terms: list[str]):
        return cast(bindparam(f"w{self.i}_{name}", " | ".join(terms), type_=String), TSQUERY)


def _terms(lexemes, suffix: str) -> list[str]:
    """Lexemes as tsquery operands, quoted: the tsquery input function applies no dictionary (they are stems
    already) and reads a quoted operand literally, with '' for a quote and \\\\ for a backslash."""
    return ["'" + x.replace("\\", "\\\\").replace("'", "''") + "'" + suffix for x in lexemes]


def _rank(words: list[_Word]):
    if not words:
        return literal(0.0, Float)
    total = None
    for w in words:
        total = w.score() if total is None else total + w.score()
    return total / float(len(words))


# -- filters -----------------------------------------------------------------------------------------------------
def _filters(q: SearchQuery, moment) -> list:
    where = [ds.c.status.in_(("active",) if not q.include_closed else ("active", "temporarily-closed"))]
    if q.categories:
        where.append(_any_of(ds.c.categories, q.categories, "categories"))
    if q.areas:
        where.append(_any_of(ds.c.areas, serving(q.areas), "areas"))
    if q.delivery_modes:
        where.append(_any_of(ds.c.delivery_modes, q.delivery_modes, "delivery_modes"))
    if q.languages:
        where.append(_any_of(ds.c.languages, q.languages, "languages"))
    if q.age is not None:
        age = bindparam("age", min(max(int(q.age), -1), 1000), type_=Integer)
        where.append(or_(ds.c.min_age.is_(None), ds.c.min_age <= age))
        where.append(or_(ds.c.max_age.is_(None), ds.c.max_age >= age))
    if q.free is not None:
        where.append(ds.c.free.is_(bool(q.free)))
    if q.no_referral:
        where.append(ds.c.referral_required.is_(False))
    if q.organization_id is not None:
        org = _clean([q.organization_id])
        where.append(ds.c.organization_id == bindparam("org", org[0], type_=String) if org else false())
    if q.taxonomy_term_ids:
        where.append(_taxonomy_terms(q.taxonomy_term_ids))
    if q.modified_after is not None:
        where.append(ds.c.published_at >= bindparam("modified_after", _aware(q.modified_after),
                                                   type_=DateTime(timezone=True)))
    if q.open_now:
        where.append(open_at(moment))
    if q.open_on is not None:
        where.append(open_on(bindparam("open_on", q.open_on, type_=Date)))
    return where


def serving(areas) -> list[str]:
    """The area codes whose services serve someone in these areas: the areas and their districts, the
    municipality around a district (a city-wide service serves Kiiminki too), and all of Finland (online)."""
    p = profile()
    out = [a for code in p.known("area", _clean(areas))
           for a in [*p.with_descendants("area", code), *p.with_ancestors("area", [code])]]
    return list(dict.fromkeys(out + [NATIONWIDE])) if out else []


def _any_of(column, codes, name: str):
    codes = _clean(codes)
    if not codes:
        return false()
    return column.overlap(bindparam(name, codes, type_=ARRAY(String)))


# which directory column answers each profile taxonomy, and how a term's code becomes its value
TAXONOMY_COLUMNS = {
    "service-category": ("categories", None),
    "delivery-mode": ("delivery_modes", None),
    "language": ("languages", None),
    "area": ("areas", None),
    "referral": ("referral_required", {"referral-required": True, "no-referral": False}),
    "cost": ("free", {"free": True, "fee": False}),
}


def _taxonomy_terms(term_ids) -> object:
    """HSDS taxonomy_term_id: any of the given terms within one taxonomy, every taxonomy named;
    an id that is no term of the profile matches nothing."""
    by_taxonomy: dict[str, list[str]] = {}
    for term in filter(None, (profile().term_by_id(i) for i in term_ids)):
        by_taxonomy.setdefault(term.taxonomy, []).append(term.code)
    if not by_taxonomy:
        return false()
    conds = []
    for taxonomy, codes in sorted(by_taxonomy.items()):
        column, values = TAXONOMY_COLUMNS[taxonomy]
        if values is None:
            if taxonomy == "area":
                codes = [a for c in codes for a in profile().with_descendants("area", c)]
            conds.append(_any_of(ds.c[column], codes, f"term_{column}"))
        else:
            conds.append(or_(*[ds.c[column].is_(values[c]) for c in sorted(set(codes))]))
    return and_(*conds)


def _clean(values) -> list[str]:
    """Codes as strings, without those no stored value can equal (PostgreSQL text holds no NUL)."""
    return [str(v) for v in values if v is not None and "\x00" not in str(v)]


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=ZoneInfo(TZ))
    return moment


# -- opening hours -----------------------------------------------------------------------------------------------
def open_at(moment):
    """SQL: the directory service is open at this moment (a timestamptz), in Europe/Helsinki local time."""
    local = func.timezone(TZ, moment)
    return _open(cast(local, Date), cast(local, Time))


def open_on(day):
    """SQL: the directory service is open at some time on this local date."""
    return _open(day, None)


def _open(day, clock):
    """No closed exception covers the day, and either special hours cover it (and the time), or no special
    hours cover it and the weekly hours valid on that day do. A temporarily closed service is never open."""
    x, o = t.directory_exception, t.directory_opening
    covering = [x.c.service_id == ds.c.service_id, x.c.starts_on <= day, x.c.ends_on >= day]
    closed = exists().where(*covering, x.c.closed)
    special = exists().where(*covering, ~x.c.closed)
    special_open = exists().where(*covering, ~x.c.closed, *_within(x, clock))
    weekly = exists().where(o.c.service_id == ds.c.service_id,
                            o.c.isodow == cast(extract("isodow", day), Integer),
                            or_(o.c.valid_from.is_(None), o.c.valid_from <= day),
                            or_(o.c.valid_to.is_(None), o.c.valid_to >= day),
                            *_within(o, clock))
    return and_(ds.c.status == "active", ~closed, or_(special_open, and_(~special, weekly)))


def _within(hours, clock) -> list:
    if clock is None:
        return []
    return [hours.c.opens_at <= clock, or_(clock < hours.c.closes_at, hours.c.closes_at == MIDNIGHT)]
