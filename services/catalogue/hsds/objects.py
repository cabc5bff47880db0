"""The HSDS 3.0 form of the federation directory, in one language.

Pure functions: a directory row (the published document, the location
snapshots it embeds and its provenance) becomes HSDS objects; texts come in
the asked language and fall back to Finnish. Every id is a UUID; the objects
HSDS wants ids for but the profile does not store (phones, contacts,
schedules, attributes…) get ids derived from the service id and the item's
place, so every instance and every request gives the same ids.

Hours are local wall-clock time in Europe/Helsinki: a fixed UTC offset
cannot express daylight saving time, so `timezone` is left out. Weekly hours
are schedules with `freq` WEEKLY and `byday`; an exception (closed days,
special hours for some dates) is a schedule without `freq`, valid from its
first to its last date, with opening times only when it is open.
"""
from __future__ import annotations

from datetime import datetime, timezone

from ..profile import DAYS, PROFILE_URI, Taxonomy, Term, organization_uuid, profile, stable_id, text

HSDS_VERSION = "3.0"
STATUS = {"active": "active", "temporarily-closed": "temporarily closed"}
MIDNIGHT = "23:59:59"  # "24:00" (closes at midnight) as a time of day
KINDS = {
    "city": {"fi": "Kunta", "sv": "Kommun", "en": "Municipality"},
    "foundation": {"fi": "Säätiö", "sv": "Stiftelse", "en": "Foundation"},
    "ngo": {"fi": "Järjestö", "sv": "Förening", "en": "Non-governmental organisation"},
    "parish": {"fi": "Seurakunta", "sv": "Församling", "en": "Parish"},
}
MEMBER = {"fi": "Yhdistämö-verkoston jäsen", "sv": "Medlem i Yhdistämö-nätverket",
          "en": "Member of the Yhdistämö network"}
DAY_NAMES = {"fi": ("ma", "ti", "ke", "to", "pe", "la", "su"),
             "sv": ("mån", "tis", "ons", "tors", "fre", "lör", "sön"),
             "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}
AT = {"fi": "klo ", "sv": "kl. ", "en": ""}
CLOSED = {"fi": "Suljettu", "sv": "Stängt", "en": "Closed"}
SPECIAL = {"fi": "Poikkeukselliset aukioloajat", "sv": "Avvikande öppettider", "en": "Special opening hours"}
PLAIN_LANGUAGE = {"fi": "Selkokieli", "sv": "Lättläst finska (selkokieli)", "en": "Plain language (selkokieli)"}
PLACES = {"fi": "paikkaa", "sv": "platser", "en": "places"}
WAITING = {"fi": "Jonossa {n}", "sv": "{n} i kö", "en": "{n} waiting"}
LINKED = (("service-category", "categories"), ("delivery-mode", "delivery_modes"), ("language", "languages"),
          ("area", "areas"))


def _id(*parts) -> str:
    return str(stable_id(*map(str, parts)))


def _clean(d: dict) -> dict:
    """HSDS fields are optional but never null: leave out what is not there."""
    return {k: v for k, v in d.items() if v is not None and v != []}


def timestamp(value) -> str:
    """An ISO 8601 UTC time with milliseconds (HSDS last_modified)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def clock(hhmm: str) -> str:
    """A profile time "HH:MM" as an HSDS time of day "HH:MM:SS"."""
    return MIDNIGHT if hhmm == "24:00" else f"{hhmm}:00"


def _shown(hhmm: str, lang: str) -> str:
    return hhmm if lang == "en" else hhmm.replace(":", ".")


# -- taxonomies ------------------------------------------------------------------

def taxonomy(tax: Taxonomy, lang: str = "fi") -> dict:
    return {"id": str(tax.id), "name": text(tax.name, lang), "description": text(tax.description, lang),
            "uri": f"{PROFILE_URI}/{tax.code}", "version": "1"}


def taxonomy_term(term: Term, lang: str = "fi") -> dict:
    p = profile()
    tax = p.taxonomies[term.taxonomy]
    return _clean({
        "id": str(term.id), "code": term.code, "name": term.label(lang),
        "description": f"{text(tax.name, lang)}: {term.label(lang)}",
        "parent_id": str(p.term(term.taxonomy, term.parent).id) if term.parent else None,
        "taxonomy": term.taxonomy, "taxonomy_id": str(tax.id), "taxonomy_detail": taxonomy(tax, lang),
        "language": lang, "term_uri": f"{PROFILE_URI}/{term.taxonomy}/{term.code}"})


def attribute(link_id: str, link_entity: str, term: Term, lang: str) -> dict:
    return {"id": _id(link_entity, link_id, "attribute", term.taxonomy, term.code), "link_id": link_id,
            "link_type": term.taxonomy, "link_entity": link_entity, "taxonomy_term_id": str(term.id),
            "taxonomy_term": taxonomy_term(term, lang)}


def service_terms(doc: dict) -> list[Term]:
    """Every profile term the service is described with (codes this instance does not know are left out)."""
    p = profile()
    terms = [p.term(taxonomy, code) for taxonomy, field in LINKED for code in profile().known(taxonomy, doc.get(field, []))]
    terms.append(p.term("referral", "referral-required" if doc.get("referral_required") else "no-referral"))
    terms.append(p.term("cost", "free" if doc.get("free", True) else "fee"))
    return terms


# -- organisations ---------------------------------------------------------------

def organization(org_id: str, org=None, lang: str = "fi", *, services=None, locations=None) -> dict:
    """An organisation of the federation (`org`: its federation entry; None if this instance does not know it)."""
    name = org.display_name(lang) if org else org_id
    description = text(getattr(org, "description", None), lang) if org else None
    if not description:
        kind = KINDS.get(getattr(org, "kind", None))
        description = f"{text(kind, lang)}. {MEMBER[lang]}." if kind else f"{MEMBER[lang]}."
    return _clean({"id": str(organization_uuid(org_id)), "name": name, "description": description,
                   "website": getattr(org, "website", None), "services": services, "locations": locations})


# -- locations -------------------------------------------------------------------

def location(loc: dict, org_id: str, lang: str = "fi") -> dict:
    """A location snapshot as it travels in a service's event."""
    lid, p = loc["id"], profile()
    addr = loc["address"]
    area = [attribute(lid, "location", p.term("area", loc["area"]), lang)] if profile().known("area", [loc["area"]]) else []
    access = text(loc.get("accessibility"), lang)
    return _clean({
        "id": lid, "location_type": "physical", "organization_id": str(organization_uuid(org_id)),
        "name": text(loc["name"], lang), "description": text(loc.get("description"), lang),
        "transportation": text(loc.get("transportation"), lang),
        "latitude": loc.get("latitude"), "longitude": loc.get("longitude"),
        "addresses": [{"id": _id("location", lid, "address"), "location_id": lid, "address_1": addr["street"],
                       "city": addr["city"], "state_province": "", "postal_code": addr["postal_code"],
                       "country": "FI", "address_type": "physical"}],
        "accessibility": [{"id": _id("location", lid, "accessibility"), "location_id": lid,
                           "description": access}] if access else None,
        "attributes": area})


def service_at_location_id(service_id: str, location_id: str) -> str:
    return _id("service_at_location", service_id, location_id)


def service_at_location(row: dict, loc: dict, org=None, lang: str = "fi", *, full: bool = False) -> dict:
    """One location a service is given at. `full`: with the location's hours and the nested service."""
    sid = str(row["service_id"])
    sal_id = service_at_location_id(sid, loc["id"])
    out = {"id": sal_id, "service_id": sid, "location_id": loc["id"],
           "location": location(loc, row["organization_id"], lang)}
    if full:
        out["schedules"] = [s for s in schedules(row, lang) if s.get("location_id") == loc["id"]]
        out["service"] = {k: v for k, v in service(row, org, lang).items() if k != "service_at_locations"}
    else:
        out["location"] = {k: v for k, v in out["location"].items()
                           if k not in ("addresses", "accessibility", "attributes")}
        out["service"] = service_summary(row, org, lang)
    return _clean(out)


# -- schedules -------------------------------------------------------------------

def _days(days, lang: str) -> str:
    return ", ".join(DAY_NAMES[lang][DAYS.index(d)] for d in DAYS if d in days)


def _hours(opens: str, closes: str, lang: str) -> str:
    return f"{AT[lang]}{_shown(opens, lang)}–{_shown(closes, lang)}"


def schedules(row: dict, lang: str = "fi") -> list[dict]:
    """Weekly hours (service-wide or at one location), then the exceptions."""
    sid, doc = str(row["service_id"]), row["document"]
    out = []
    for i, h in enumerate(doc.get("opening_hours", [])):
        lid = h.get("location_id")
        out.append(_clean({
            "id": _id("service", sid, "schedule", i), "service_id": sid, "location_id": lid,
            "service_at_location_id": service_at_location_id(sid, lid) if lid else None,
            "valid_from": h.get("valid_from"), "valid_to": h.get("valid_to"),
            "freq": "WEEKLY", "interval": 1, "byday": ",".join(d for d in DAYS if d in h["days"]),
            "opens_at": clock(h["opens_at"]), "closes_at": clock(h["closes_at"]),
            "description": f"{_days(h['days'], lang)} {_hours(h['opens_at'], h['closes_at'], lang)}",
            "notes": text(h.get("notes"), lang)}))
    for i, e in enumerate(doc.get("exceptions", [])):
        reason = text(e.get("reason"), lang)
        if e["closed"]:
            what, hours = CLOSED[lang], {}
        else:
            what = f"{SPECIAL[lang]} {_hours(e['opens_at'], e['closes_at'], lang)}"
            hours = {"opens_at": clock(e["opens_at"]), "closes_at": clock(e["closes_at"])}
        out.append(_clean({
            "id": _id("service", sid, "exception", i), "service_id": sid,
            "valid_from": e["starts_on"], "valid_to": e["ends_on"], **hours,
            "description": f"{what}: {reason}" if reason else what, "notes": reason}))
    return out


# -- services --------------------------------------------------------------------

def service_summary(row: dict, org=None, lang: str = "fi") -> dict:
    """The one-to-one fields of a service (an item of /services pages)."""
    doc, sid = row["document"], str(row["service_id"])
    return _clean({
        "id": sid, "organization_id": str(organization_uuid(row["organization_id"])),
        "name": text(doc["name"], lang), "description": text(doc.get("description"), lang),
        "url": doc.get("url"), "email": doc.get("email"), "status": STATUS.get(row["status"], "inactive"),
        "application_process": text(doc.get("application_process"), lang),
        "fees_description": text(doc.get("fees"), lang),
        "eligibility_description": text(doc.get("eligibility"), lang),
        "minimum_age": doc.get("min_age"), "maximum_age": doc.get("max_age"),
        "alert": text(row.get("closed_reason"), lang) if row["status"] == "temporarily-closed" else None,
        "last_modified": timestamp(row["published_at"]),
        "organization": organization(row["organization_id"], org, lang)})


def minimal(row: dict, lang: str = "fi") -> dict:
    """Just enough to tell what changed (HSDS `minimal`): id, name, status, last_modified."""
    return {"id": str(row["service_id"]), "name": text(row["document"]["name"], lang),
            "status": STATUS.get(row["status"], "inactive"), "last_modified": timestamp(row["published_at"])}


def service(row: dict, org=None, lang: str = "fi") -> dict:
    """The fully nested service."""
    doc, sid = row["document"], str(row["service_id"])
    p = profile()
    out = service_summary(row, org, lang)
    out.update(_clean({
        "phones": [_clean({"id": _id("service", sid, "phone", i), "service_id": sid, "number": ph["number"],
                           "type": "voice", "description": text(ph.get("description"), lang)})
                   for i, ph in enumerate(doc.get("phones", []))],
        "contacts": [contact(sid, i, c, lang) for i, c in enumerate(doc.get("contacts", []))],
        "schedules": [s for s in schedules(row, lang) if "location_id" not in s],
        "service_areas": [{"id": _id("service", sid, "service_area", code), "service_id": sid,
                           "name": p.term("area", code).label(lang),
                           "description": text(p.taxonomies["area"].name, lang)}
                          for code in profile().known("area", doc.get("areas", []))],
        "languages": [language(sid, code, lang) for code in profile().known("language", doc.get("languages", []))],
        "cost_options": [cost_option(sid, doc, lang)],
        "attributes": [attribute(sid, "service", t, lang) for t in service_terms(doc)],
        "service_at_locations": [service_at_location_in_service(row, loc, lang) for loc in row["locations"]],
        "capacities": capacities(row, lang),
    }))
    return out


def service_at_location_in_service(row: dict, loc: dict, lang: str) -> dict:
    sid = str(row["service_id"])
    return {"id": service_at_location_id(sid, loc["id"]), "service_id": sid, "location_id": loc["id"],
            "schedules": [s for s in schedules(row, lang) if s.get("location_id") == loc["id"]],
            "location": location(loc, row["organization_id"], lang)}


def contact(sid: str, i: int, c: dict, lang: str) -> dict:
    cid = _id("service", sid, "contact", i)
    phone = [{"id": _id("service", sid, "contact", i, "phone"), "contact_id": cid, "number": c["phone"],
              "type": "voice"}] if c.get("phone") else None
    return _clean({"id": cid, "service_id": sid, "name": c["name"], "title": text(c.get("title"), lang),
                   "email": c.get("email"), "phones": phone})


def language(sid: str, code: str, lang: str) -> dict:
    """ISO 639-1 codes; plain Finnish (selkosuomi) is Finnish with a note."""
    term = profile().term("language", code)
    plain = code == "fi-plain"
    return _clean({"id": _id("service", sid, "language", code), "service_id": sid, "name": term.label(lang),
                   "code": "fi" if plain else code, "note": PLAIN_LANGUAGE[lang] if plain else None})


def cost_option(sid: str, doc: dict, lang: str) -> dict:
    free = doc.get("free", True)
    term = profile().term("cost", "free" if free else "fee")
    return _clean({"id": _id("service", sid, "cost_option"), "service_id": sid, "option": term.label(lang),
                   "currency": "EUR", "amount": 0 if free else None,
                   "amount_description": None if free else text(doc.get("fees"), lang)})


def capacities(row: dict, lang: str) -> list[dict] | None:
    """HSDS 3.1 service_capacity, which 3.0 readers ignore (its schemas allow more properties)."""
    cap = row["document"].get("capacity")
    if not cap:
        return None
    sid = str(row["service_id"])
    waiting = WAITING[lang].format(n=cap["waitlist"]) if "waitlist" in cap else None
    return [_clean({"id": _id("service", sid, "capacity"), "service_id": sid, "available": cap["available"],
                    "maximum": cap.get("maximum"), "description": waiting,
                    "unit": {"id": _id("capacity_unit", "place"), "name": PLACES[lang]},
                    "updated": timestamp(row["published_at"])})]
