"""Turning a catalogue event into the federation read model's rows.

The searchable columns (names and texts per language, taxonomy codes — the
areas as published, the service's and its locations' — ages, cost, referral) and the weekly hours and exceptions
that answer "open now / open on a given day" are derived here, once, when
the event is applied; PostgreSQL generates the full-text and trigram columns
from them.
"""
from __future__ import annotations

from ..profile import DAYS, LANGS, profile
from ..publishing.domain import as_time


def read_model_row(data: dict, event_id: str) -> dict:
    s = data["service"]
    p = profile()
    row = {"service_id": data["service_id"], "organization_id": data["organization_id"],
           "status": data["status"], "version": data["version"], "published_at": data["published_at"],
           "source_event_id": event_id, "document": s, "locations": data["locations"],
           "closed_reason": data.get("closed_reason"),
           "categories": s["categories"], "delivery_modes": s["delivery_modes"], "languages": s["languages"],
           "areas": list(dict.fromkeys(p.known("area", [*s["areas"], *(loc["area"] for loc in data["locations"])]))),
           "min_age": s.get("min_age"), "max_age": s.get("max_age"), "free": s["free"],
           "referral_required": s["referral_required"]}
    for lang in LANGS:
        row[f"name_{lang}"] = s["name"].get(lang)
        row[f"text_{lang}"] = " ".join(filter(None, [
            (s.get("description") or {}).get(lang),
            *[p.term("service-category", c).name.get(lang, "") for c in p.known("service-category", s["categories"])],
            *[(loc["name"].get(lang) or "") + " " + loc["address"]["street"] + " " + loc["address"]["city"]
              for loc in data["locations"]],
        ])) or None
    return row


def tombstone_row(data: dict, event_id: str) -> dict:
    """A withdrawn service stays as a tombstone, so that an older event re-delivered later cannot revive it."""
    row = {"service_id": data["service_id"], "organization_id": data["organization_id"], "status": "withdrawn",
           "version": data["version"], "published_at": data["withdrawn_at"], "source_event_id": event_id,
           "document": {}, "locations": [], "closed_reason": None, "categories": [], "delivery_modes": [],
           "languages": [], "areas": [], "min_age": None, "max_age": None, "free": None,
           "referral_required": None}
    for lang in LANGS:
        row[f"name_{lang}"] = row[f"text_{lang}"] = None
    return row


def opening_rows(data: dict) -> list[dict]:
    rows = []
    for h in data["service"].get("opening_hours", []):
        for day in h["days"]:
            rows.append({"service_id": data["service_id"], "location_id": h.get("location_id"),
                         "isodow": DAYS.index(day) + 1, "opens_at": as_time(h["opens_at"]),
                         "closes_at": as_time(h["closes_at"]), "valid_from": h.get("valid_from"),
                         "valid_to": h.get("valid_to")})
    return rows


def exception_rows(data: dict) -> list[dict]:
    return [{"service_id": data["service_id"], "starts_on": e["starts_on"], "ends_on": e["ends_on"],
             "closed": e["closed"], "opens_at": as_time(e["opens_at"]) if "opens_at" in e else None,
             "closes_at": as_time(e["closes_at"]) if "closes_at" in e else None}
            for e in data["service"].get("exceptions", [])]
