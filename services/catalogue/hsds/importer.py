"""Import an HSDS 3.0 tabular data package into the organisation's own catalogue.

The package may come from any HSDS publisher, or from another member's
/hsds/export.zip: its services become the importing organisation's own
(drafts by default), with new ids. Taxonomy terms map back to profile codes
(by the profile's term ids, else by taxonomy and code); texts are taken as
Finnish. Everything is checked first: if any row cannot be mapped, nothing
is imported and the 422 problem lists each row with the reason. Then one
transaction creates the locations and services through the ordinary use
cases (service.create_location, service.create_service).
"""
from __future__ import annotations

import re
import uuid
from collections import defaultdict

from marshmallow import ValidationError

from services.kernel.auth import Actor
from services.kernel.errors import Invalid

from ..profile import DAYS, PROFILE_URI, profile
from ..publishing import service as use_cases
from ..publishing.schemas import LocationIn, ServiceIn
from .objects import MIDNIGHT
from .tabular import TABLES, Unreadable, read_zip

TIME = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])(?::([0-5][0-9]))?")
FIELDS = {"service-category": "categories", "delivery-mode": "delivery_modes", "language": "languages",
          "area": "areas"}
TAXONOMY = {field: taxonomy for taxonomy, field in FIELDS.items()}
MAX_ERRORS = 200


class _Problems:
    def __init__(self):
        self.items: list[dict] = []

    def add(self, table: str, line: int, row: dict, reason: str) -> None:
        self.items.append({"file": TABLES[table][0], "row": line, "id": row.get("id"), "reason": reason})


def _norm(value: str | None) -> str | None:
    """A UUID in its canonical spelling (ids link rows; spreadsheets may change their case)."""
    try:
        return str(uuid.UUID(value)) if value else value
    except ValueError:
        return value


def _fi(value: str | None) -> dict | None:
    return {"fi": value} if value else None


def _flat(messages, prefix: str = "") -> list[str]:
    """Marshmallow's nested messages as "field: message" lines."""
    if isinstance(messages, dict):
        return [m for k, v in messages.items() for m in _flat(v, f"{prefix}{k}." if k != "_schema" else prefix)]
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return [f"{prefix.rstrip('.')}: {m}" if prefix else m for m in messages]
    return [m for v in messages for m in _flat(v, prefix)]


def _number(value: str | None, what: str, problems: list) -> int | None:
    if value is None:
        return None
    try:
        n = float(value)
    except ValueError:
        n = None
    if n is None or not n.is_integer():
        problems.append(f"{what} is not a whole number: {value!r}")
        return None
    return int(n)


def _clock(value: str | None, what: str, problems: list) -> str | None:
    """An HSDS time of day ("HH:MM" or "HH:MM:SS", local time in Finland) as the profile's "HH:MM"."""
    if value is None:
        return None
    if value == MIDNIGHT:
        return "24:00"
    m = TIME.fullmatch(value)
    if not m or (m.group(3) or "00") != "00":
        problems.append(f"{what} {value!r} is not a local time of day in whole minutes (HH:MM)")
        return None
    return f"{m.group(1)}:{m.group(2)}"


class _Package:
    """The package's rows, indexed by what links them."""

    def __init__(self, tables: dict):
        self.tables = tables

        def by(table, key):
            index = defaultdict(list)
            for line, row in tables[table]:
                if row.get(key):
                    index[row[key]].append((line, row))
            return index
        self.attributes = by("attribute", "link_id")
        self.phones = by("phone", "service_id")
        self.contact_phones = by("phone", "contact_id")
        self.contacts = by("contact", "service_id")
        self.schedules = by("schedule", "service_id")
        self.sal_schedules = by("schedule", "service_at_location_id")
        self.sals = by("service_at_location", "service_id")
        self.addresses = by("address", "location_id")
        self.accessibility = by("accessibility", "location_id")
        self.languages = by("language", "service_id")
        self.cost_options = by("cost_option", "service_id")
        self.service_areas = by("service_area", "service_id")
        self.locations = {_norm(row["id"]): (line, row) for line, row in tables["location"] if row.get("id")}
        self.terms = {row["id"]: row for _, row in tables["taxonomy_term"] if row.get("id")}
        self.taxonomies = {row["id"]: row for _, row in tables["taxonomy"] if row.get("id")}

    def term(self, term_id: str):
        """The profile term an attribute's taxonomy_term_id names: by the profile's id, else by taxonomy and code."""
        p = profile()
        term = p.term_by_id(term_id)
        if term is not None:
            return term
        row = self.terms.get(term_id)
        if not row or not row.get("code"):
            return None
        tax_row = self.taxonomies.get(row.get("taxonomy_id") or "", {})
        for tax in p.taxonomies.values():
            if (row.get("taxonomy") in (tax.code, *tax.name.values()) or row.get("taxonomy_id") == str(tax.id)
                    or tax_row.get("uri") == f"{PROFILE_URI}/{tax.code}"):
                return tax.terms.get(row["code"])
        return None


def _terms(pkg: _Package, link_id: str, problems: _Problems) -> list:
    found = []
    for line, a in pkg.attributes.get(link_id, []):
        term = pkg.term(a["taxonomy_term_id"]) if a.get("taxonomy_term_id") else None
        if term is None:
            name = pkg.terms.get(a.get("taxonomy_term_id") or "", {}).get("name")
            problems.add("attribute", line, a, f"taxonomy term {a.get('taxonomy_term_id') or '(none)'}"
                         + (f" ({name})" if name else "") + " is not a term of the Yhdistämö profile")
        else:
            found.append(term)
    return found


def _area_by_name(name: str | None) -> str | None:
    if not name:
        return None
    for term in profile().taxonomies["area"].terms.values():
        if any(name.casefold() == label.casefold() for label in term.name.values()):
            return term.code
    return None


# -- locations -------------------------------------------------------------------

def _location(pkg: _Package, line: int, row: dict, problems: _Problems) -> dict | None:
    lid, reasons = row["id"], []
    addresses = pkg.addresses.get(lid, [])
    addr = next((a for _, a in addresses if a.get("address_type", "physical") == "physical"), None)
    areas = [t.code for t in _terms(pkg, lid, problems) if t.taxonomy == "area"]
    doc = {"name": _fi(row.get("name")), "description": _fi(row.get("description")),
           "transportation": _fi(row.get("transportation")),
           "accessibility": _fi(next((a.get("description") for _, a in pkg.accessibility.get(lid, [])), None))}
    if addr is None:
        reasons.append("the location has no physical address (addresses.csv)")
    else:
        street = ", ".join(filter(None, [addr.get("address_1"), addr.get("address_2")]))
        doc["address"] = {"street": street, "postal_code": addr.get("postal_code"), "city": addr.get("city")}
        areas = areas or list(filter(None, [_area_by_name(addr.get("city"))]))
    if not areas:
        reasons.append("no area: link a term of the profile's area taxonomy, or give a city the profile knows")
    else:
        doc["area"] = areas[0]
    for coord in ("latitude", "longitude"):
        if row.get(coord):
            try:
                doc[coord] = float(row[coord])
            except ValueError:
                reasons.append(f"{coord} is not a number: {row[coord]!r}")
    if not reasons:
        try:
            return LocationIn().load({k: v for k, v in doc.items() if v is not None})
        except ValidationError as e:
            reasons += _flat(e.messages)
    for r in reasons:
        problems.add("location", line, row, r)
    return None


# -- services --------------------------------------------------------------------

def _hours(pkg: _Package, sid: str, sal_locations: dict, problems: _Problems) -> tuple[list, list]:
    """Weekly hours (schedules with freq) and exceptions (schedules valid for some dates, without freq)."""
    rows = pkg.schedules.get(sid, []) + [r for sal_id in sal_locations for r in pkg.sal_schedules.get(sal_id, [])
                                         if r[1].get("service_id") != sid]
    weekly, exceptions = [], []
    for line, s in rows:
        reasons = []
        opens = _clock(s.get("opens_at"), "opens_at", reasons)
        closes = _clock(s.get("closes_at"), "closes_at", reasons)
        unsupported = [f for f in ("byweekno", "bymonthday", "byyearday", "count", "timezone") if s.get(f)]
        if unsupported:
            reasons.append(f"{', '.join(unsupported)} cannot be expressed in the profile's weekly hours")
        if s.get("freq"):
            location_id = _norm(s.get("location_id")) or sal_locations.get(s.get("service_at_location_id"))
            hours, target = _weekly(s, opens, closes, location_id, reasons), weekly
        else:
            hours, target = _exception(s, opens, closes, reasons), exceptions
        for r in reasons:
            problems.add("schedule", line, s, r)
        if not reasons:
            target.append({k: v for k, v in hours.items() if v is not None})
    return weekly, exceptions


def _weekly(s: dict, opens, closes, location_id, reasons: list) -> dict:
    days = [d.strip().upper() for d in (s.get("byday") or "").split(",") if d.strip()]
    if s["freq"].upper() != "WEEKLY" or (s.get("interval") or "1") not in ("1", "1.0"):
        reasons.append(f"only weekly hours can be imported (freq WEEKLY, interval 1), not {s['freq']}")
    if not days or any(d not in DAYS for d in days):
        reasons.append(f"byday must list weekdays MO…SU, not {s.get('byday')!r}")
    if not (opens and closes):
        reasons.append("weekly hours need opens_at and closes_at")
    return {"days": days, "opens_at": opens, "closes_at": closes, "valid_from": s.get("valid_from"),
            "valid_to": s.get("valid_to") or s.get("until"), "location_id": location_id, "notes": _fi(s.get("notes"))}


def _exception(s: dict, opens, closes, reasons: list) -> dict:
    """Closed (no opening times) or special hours, from valid_from to valid_to; the reason is in the notes."""
    if not (s.get("valid_from") and s.get("valid_to")):
        reasons.append("a schedule without freq is an exception and needs valid_from and valid_to")
    if bool(opens) != bool(closes):
        reasons.append("special hours need both opens_at and closes_at")
    return {"starts_on": s.get("valid_from"), "ends_on": s.get("valid_to"), "closed": not opens,
            "opens_at": opens, "closes_at": closes, "reason": _fi(s.get("notes"))}


def _service(pkg: _Package, line: int, row: dict, problems: _Problems) -> dict | None:
    sid, reasons = row["id"], []
    sal_locations = {sal["id"]: _norm(sal.get("location_id")) for _, sal in pkg.sals.get(sid, []) if sal.get("id")}
    doc = {"name": _fi(row.get("name")), "description": _fi(row.get("description")),
           "application_process": _fi(row.get("application_process")),
           "eligibility": _fi(row.get("eligibility_description")),
           "fees": _fi(row.get("fees_description") or row.get("fees")), "url": row.get("url"),
           "email": row.get("email"),
           "min_age": _number(row.get("minimum_age"), "minimum_age", reasons),
           "max_age": _number(row.get("maximum_age"), "maximum_age", reasons)}
    for term in _terms(pkg, sid, problems):
        if term.taxonomy in FIELDS:
            doc.setdefault(FIELDS[term.taxonomy], []).append(term.code)
        elif term.taxonomy == "referral":
            doc["referral_required"] = term.code == "referral-required"
        elif term.taxonomy == "cost":
            doc["free"] = term.code == "free"
    _fallbacks(pkg, sid, doc, problems)
    doc["phones"] = [{"number": ph["number"], "description": _fi(ph.get("description"))}
                     for _, ph in pkg.phones.get(sid, []) if ph.get("number") and not ph.get("contact_id")]
    doc["contacts"] = [{"name": c.get("name"), "title": _fi(c.get("title")), "email": c.get("email"),
                        "phone": next((ph["number"] for _, ph in pkg.contact_phones.get(c.get("id") or "", [])
                                       if ph.get("number")), None)}
                       for _, c in pkg.contacts.get(sid, [])]
    doc["location_ids"] = list(dict.fromkeys(lid for lid in sal_locations.values() if lid))
    weekly, exceptions = _hours(pkg, sid, sal_locations, problems)
    doc["opening_hours"], doc["exceptions"] = weekly, exceptions
    for lid in doc["location_ids"]:
        if lid not in pkg.locations:
            reasons.append(f"service_at_location names location {lid}, which locations.csv does not have")
    explained = {field for field in ("categories", "areas") if not doc.get(field)}
    reasons += [f"no {field}: link the service to a term of the profile's {TAXONOMY[field]} taxonomy "
                "(attributes.csv)" + (" or name a profile area in service_areas.csv" if field == "areas" else "")
                for field in sorted(explained)]
    try:
        loaded = ServiceIn().load(_drop_none(doc))
    except ValidationError as e:
        loaded = None
        reasons += [m for m in _flat(e.messages) if m.split(":")[0] not in explained]
    for r in reasons:
        problems.add("service", line, row, r)
    return None if reasons else loaded


def _fallbacks(pkg: _Package, sid: str, doc: dict, problems: _Problems) -> None:
    """Without the profile's attributes, the plain HSDS tables tell languages, areas and cost."""
    if "languages" not in doc and pkg.languages.get(sid):
        codes = []
        for line, lang in pkg.languages[sid]:
            code = (lang.get("code") or "").lower()
            if code not in profile().taxonomies["language"].terms:
                problems.add("language", line, lang, f"language {lang.get('code') or lang.get('name')!r} is not "
                                                     "a service language of the profile (fi, sv, en)")
            elif code not in codes:
                codes.append(code)
        if codes:
            doc["languages"] = codes
    if "areas" not in doc:
        areas = [_area_by_name(a.get("name")) for _, a in pkg.service_areas.get(sid, [])]
        if all(areas) and areas:
            doc["areas"] = list(dict.fromkeys(areas))
    if "free" not in doc and pkg.cost_options.get(sid):
        doc["free"] = all(c.get("amount") in (None, "0", "0.0") and not c.get("amount_description")
                          for _, c in pkg.cost_options[sid])


def _drop_none(value):
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


# -- the use case ----------------------------------------------------------------

class _Deferred:
    """The import's one unit of work, lent to each use case: their commits wait for the import's own."""

    def __init__(self, uow):
        self._uow = uow

    def __getattr__(self, name):
        return getattr(self._uow, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def commit(self):
        pass


def import_package(uow_factory, actor: Actor, data: bytes, status: str = "draft", organization_id=None) -> dict:
    """All the package's services (or one organisation's) become the actor's organisation's, or none do."""
    try:
        pkg = _Package(read_zip(data))
    except Unreadable as e:
        raise Invalid(str(e), code="unreadable-package")
    chosen = [(line, row) for line, row in pkg.tables["service"]
              if organization_id is None or _norm(row.get("organization_id")) == str(organization_id)]
    if not chosen:
        raise Invalid("The package has no services to import" + (" of that organisation." if organization_id
                                                                 else "."), code="nothing-to-import")
    locations, services, problems = _map(pkg, chosen)
    if problems.items:
        raise Invalid(f"{len(problems.items)} row(s) of the package cannot be mapped to the profile; "
                      "nothing was imported.", code="unmappable-rows", errors=problems.items[:MAX_ERRORS])
    return _create(uow_factory, actor, status, locations, services)


def _map(pkg: _Package, chosen: list) -> tuple[dict, list, _Problems]:
    """The profile's documents of the chosen services and the locations they are given at, and what did not map."""
    problems = _Problems()
    services = []
    for line, row in chosen:
        if not row.get("id"):
            problems.add("service", line, row, "the service has no id")
            continue
        doc = _service(pkg, line, row, problems)
        if doc is not None:
            services.append((row["id"], doc))
    locations = {}
    for lid in dict.fromkeys(_norm(sal.get("location_id")) for _, row in chosen
                             for _, sal in pkg.sals.get(row.get("id") or "", [])):
        if lid in pkg.locations:  # a missing one is the service's problem
            doc = _location(pkg, *pkg.locations[lid], problems)
            if doc is not None:
                locations[lid] = doc
    return locations, services, problems


def _create(uow_factory, actor: Actor, status: str, locations: dict, services: list) -> dict:
    with uow_factory() as uow:
        joined = _Deferred(uow)
        new_ids = {}
        for old, doc in locations.items():
            new_ids[old] = use_cases.create_location(lambda: joined, actor, doc).id
        created = []
        for old, doc in services:
            doc["location_ids"] = [new_ids[str(lid)] for lid in doc["location_ids"]]
            for h in doc["opening_hours"]:
                if h.get("location_id"):
                    h["location_id"] = new_ids[str(h["location_id"])]
            s = use_cases.create_service(lambda: joined, actor, doc, status)
            created.append({"id": str(s.id), "source_id": old, "name": s.document["name"]["fi"],
                            "status": s.status})
        uow.commit()
    return {"status": status, "services": created,
            "locations": [{"id": str(new), "source_id": old} for old, new in new_ids.items()]}
