"""A directory row as the public pages show it: texts in the reader's language, labels, hours, links.

Pure functions (no request, no database): `card` for a search result, `detail` for the service page.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import quote, urlencode, urlsplit

from markupsafe import Markup, escape

from ..profile import profile
from . import hours
from .messages import CATALOGUE

SHORT_DESCRIPTION = 220


@dataclass(frozen=True)
class Text:
    """A publisher's text in the page's language, or in Finnish when they gave none: then the element
    says so (`lang="fi"`), so that a screen reader reads it with the right voice."""
    text: str
    lang: str      # the language of the text
    page: str      # the language of the page

    def __str__(self) -> str:
        return self.text

    def __html__(self) -> str:
        if self.lang == self.page:
            return str(escape(self.text))
        return Markup('<span lang="{}">{}</span>').format(self.lang, self.text)


def localized(value: dict | None, lang: str) -> Text | None:
    if not value:
        return None
    if value.get(lang):
        return Text(value[lang], lang, lang)
    if value.get("fi"):
        return Text(value["fi"], "fi", lang)
    first = next(iter(value))
    return Text(value[first], first, lang)


def shortened(t: Text | None, limit: int = SHORT_DESCRIPTION) -> Text | None:
    """At most `limit` characters, cut at a word."""
    if t is None or len(t.text) <= limit:
        return t
    return Text(t.text[:limit].rsplit(" ", 1)[0].rstrip(",.;:–- ") + "…", t.lang, t.page)


def labels(taxonomy: str, codes, lang: str) -> list[str]:
    """Term labels for the codes this instance knows (a newer publisher's new code is left out)."""
    p = profile()
    return [p.term(taxonomy, c).label(lang) for c in p.known(taxonomy, codes)]


def day_text(value: date | datetime | str, lang: str) -> str:
    """A day the Finnish/Swedish way (24.12.2026) or in ISO form in English."""
    if isinstance(value, str):
        value = date.fromisoformat(value)
    if isinstance(value, datetime):
        value = value.astimezone(hours.HELSINKI).date()
    return value.isoformat() if lang == "en" else f"{value.day}.{value.month}.{value.year}"


def period_text(start, end, lang: str) -> str:
    a, b = day_text(start, lang), day_text(end, lang)
    return a if a == b else f"{a}–{b}"


def ages(doc: dict, lang: str) -> str | None:
    low, high = doc.get("min_age"), doc.get("max_age")
    if low is not None and high is not None:
        return CATALOGUE.text("age.range", lang, min=low, max=high)
    if low is not None:
        return CATALOGUE.text("age.min", lang, min=low)
    if high is not None:
        return CATALOGUE.text("age.max", lang, max=high)
    return None


def cost(doc: dict, lang: str) -> str:
    return profile().term("cost", "free" if doc.get("free", True) else "fee").label(lang)


def referral(doc: dict, lang: str) -> str:
    code = "referral-required" if doc.get("referral_required") else "no-referral"
    return profile().term("referral", code).label(lang)


def map_url(loc: dict) -> str:
    """OpenStreetMap at the place's coordinates, or a search for its address."""
    if loc.get("latitude") is not None and loc.get("longitude") is not None:
        lat, lon = loc["latitude"], loc["longitude"]
        return f"https://www.openstreetmap.org/?{urlencode({'mlat': lat, 'mlon': lon})}#map=17/{lat}/{lon}"
    return "https://www.openstreetmap.org/search?query=" + quote(address(loc))


def address(loc: dict) -> str:
    a = loc.get("address") or {}
    return ", ".join(filter(None, [a.get("street"), " ".join(filter(None, [a.get("postal_code"), a.get("city")]))]))


def web_address(url: str | None) -> str | None:
    """Only an http(s) address becomes a link: the text comes from another organisation's event."""
    return url if url and urlsplit(url).scheme in ("http", "https") else None


def tel(number: str) -> str:
    return "tel:" + re.sub(r"[^0-9+]", "", number)


def location(loc: dict, lang: str) -> dict:
    return {"id": loc.get("id"), "name": localized(loc.get("name"), lang), "address": address(loc),
            "street": (loc.get("address") or {}).get("street"), "map_url": map_url(loc),
            "has_coordinates": loc.get("latitude") is not None,
            "area": next(iter(labels("area", [loc.get("area")], lang)), None),
            "description": localized(loc.get("description"), lang),
            "accessibility": localized(loc.get("accessibility"), lang),
            "transportation": localized(loc.get("transportation"), lang)}


def _place(group: hours.HoursGroup, places: dict) -> Text | None:
    loc = places.get(str(group.location_id)) if group.location_id else None
    return loc["name"] if loc else None


def hours_lines(doc: dict, places: dict, lang: str, today: date) -> list[tuple[Text | None, str]]:
    """One line per place (named when there are several): "ma 13–17" (hours valid today), else the next
    period's "1.9.2026 alkaen: …"."""
    lines = []
    found = hours.groups(doc, today)
    for g in found:
        place = _place(g, places) if len(found) > 1 else None
        if g.current:
            lines.append((place, hours.summary(g.current, lang)))
        else:
            first = min(g.later, key=lambda e: e["valid_from"])
            same = [e for e in g.later if e["valid_from"] == first["valid_from"]]
            lines.append((place, CATALOGUE.text("hours.from", lang, day=day_text(
                first["valid_from"], lang), hours=hours.summary(same, lang))))
    return lines


def card(row, lang: str, today: date, org_name) -> dict:
    """A search result: what a young person needs to decide whether to go."""
    doc = row["document"]
    places = {str(loc.get("id")): location(loc, lang) for loc in row["locations"]}
    return {
        "id": str(row["service_id"]), "status": row["status"],
        "name": localized(doc.get("name"), lang), "organisation": org_name(row["organization_id"]),
        "closed_reason": localized(row.get("closed_reason"), lang),
        "description": shortened(localized(doc.get("description"), lang)),
        "categories": labels("service-category", doc.get("categories", []), lang),
        "hours": hours_lines(doc, places, lang, today),
        "locations": list(places.values()),
        "phones": [{"number": p["number"], "href": tel(p["number"]),
                    "description": localized(p.get("description"), lang)} for p in doc.get("phones", [])],
        "email": doc.get("email"), "url": web_address(doc.get("url")),
        "referral": referral(doc, lang), "referral_required": bool(doc.get("referral_required")),
        "cost": cost(doc, lang), "free": doc.get("free", True), "fees": localized(doc.get("fees"), lang),
        "ages": ages(doc, lang),
    }


def week_table(entries: list[dict], lang: str) -> list[tuple[str, str | None]]:
    """Monday to Sunday: (day name, hours or None when closed)."""
    days = hours.week(entries)
    return [(hours.day_name(d, lang, short=False),
             ", ".join(hours.span(o, c, lang) for o, c in days[d]) if d in days else None)
            for d in hours.DAYS]


def detail(row, lang: str, today: date, org_name) -> dict:
    """Everything the publisher told: the card plus weekly hours, exceptions, contacts and how to apply."""
    doc = row["document"]
    view = card(row, lang, today, org_name)
    view["description"] = localized(doc.get("description"), lang)
    places = {str(loc["id"]): loc for loc in view["locations"]}
    view["weeks"] = []
    for g in hours.groups(doc, today):
        place = places.get(str(g.location_id)) if g.location_id else None
        notes = [localized(e.get("notes"), lang) for e in g.current + g.later if e.get("notes")]
        later = sorted({(e["valid_from"], e.get("valid_to")) for e in g.later}, key=lambda p: (p[0], p[1] or "9999"))
        view["weeks"].append({
            "place": place["name"] if place else None,
            "current": week_table(g.current, lang) if g.current else None,
            "later": [{"period": CATALOGUE.text("hours.period-from", lang, day=day_text(start, lang))
                       if end is None else period_text(start, end, lang),
                       "table": week_table([e for e in g.later if (e["valid_from"], e.get("valid_to")) == (start, end)],
                                           lang)} for start, end in later],
            "notes": notes})
    view["exceptions"] = [{"period": period_text(e["starts_on"], e["ends_on"], lang), "closed": e["closed"],
                           "hours": None if e["closed"] else hours.span(e["opens_at"], e["closes_at"], lang),
                           "reason": localized(e.get("reason"), lang)}
                          for e in hours.upcoming_exceptions(doc, today)]
    view.update({
        "delivery_modes": labels("delivery-mode", doc.get("delivery_modes", []), lang),
        "languages": labels("language", doc.get("languages", []), lang),
        "areas": labels("area", doc.get("areas", []), lang),
        "application_process": localized(doc.get("application_process"), lang),
        "eligibility": localized(doc.get("eligibility"), lang),
        "capacity": doc.get("capacity"),
        "contacts": [{"name": c["name"], "title": localized(c.get("title"), lang), "email": c.get("email"),
                      "phone": c.get("phone"), "phone_href": tel(c["phone"]) if c.get("phone") else None}
                     for c in doc.get("contacts", [])],
        "published_at": day_text(row["published_at"], lang), "version": row["version"],
    })
    return view
