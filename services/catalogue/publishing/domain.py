"""Catalogue domain: the services and locations an organisation publishes, and their lifecycle.

    draft ──publish──▶ active ◀──reopen── temporarily-closed
      │                  │  └────close────────▲
      └──withdraw──▶ withdrawn ◀──withdraw────┘

Only active and temporarily closed services are public: each change to one
emits `catalogue.service-published` (with the whole description), withdrawal
emits `catalogue.service-withdrawn`. A draft is the organisation's own work
in progress and is not announced.

What a description must make sense as (possible hours, ages, links to its
locations) is said here too, by functions that return the first Problem; the
API schemas call them for each part they load.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone

from services.kernel.errors import Conflict

DRAFT, ACTIVE, CLOSED, WITHDRAWN = "draft", "active", "temporarily-closed", "withdrawn"
STATUSES = (DRAFT, ACTIVE, CLOSED, WITHDRAWN)
NEW = (DRAFT, ACTIVE)    # what a new service may be
PUBLIC = (ACTIVE, CLOSED)
TRANSITIONS = {
    "publish": ({DRAFT}, ACTIVE),
    "close": ({ACTIVE}, CLOSED),
    "reopen": ({CLOSED}, ACTIVE),
    "withdraw": ({DRAFT, ACTIVE, CLOSED}, WITHDRAWN),
}


def now() -> datetime:
    return datetime.now(timezone.utc)


def jsonable(value):
    """A validated API document as JSON (dates and UUIDs as strings), for storage and events."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (date, uuid.UUID)):
        return value.isoformat() if isinstance(value, date) else str(value)
    return value


@dataclass
class Location:
    id: uuid.UUID
    organization_id: str
    document: dict
    version: int = 1
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)

    @classmethod
    def create(cls, organization_id: str, document: dict) -> "Location":
        return cls(uuid.uuid4(), organization_id, jsonable(document))

    def update(self, document: dict) -> None:
        self.document = jsonable(document)
        self.version += 1
        self.updated_at = now()

    def snapshot(self) -> dict:
        """The location as it travels inside a service's event."""
        return {"id": str(self.id), "version": self.version, **self.document}


@dataclass
class CatalogueService:
    id: uuid.UUID
    organization_id: str
    document: dict
    status: str = ACTIVE
    version: int = 1
    closed_reason: dict | None = None
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)

    @classmethod
    def create(cls, organization_id: str, document: dict, status: str = ACTIVE) -> "CatalogueService":
        if status not in NEW:
            raise Conflict("A new service is either a draft or active.", code="illegal-status")
        return cls(uuid.uuid4(), organization_id, jsonable(document), status)

    @property
    def public(self) -> bool:
        return self.status in PUBLIC

    @property
    def key(self) -> str:
        """Its events' Kafka key on the compacted catalogue topic: each organisation's records under keys of
        its own, so another member's record about the same id can never compact this one away."""
        return f"{self.organization_id}/{self.id}"

    @property
    def location_ids(self) -> list[str]:
        return list(self.document.get("location_ids", []))

    def update(self, document: dict) -> None:
        if self.status == WITHDRAWN:
            raise Conflict("A withdrawn service cannot be changed; publish a new one.", code="withdrawn")
        self.document = jsonable(document)
        self._bump()

    def transition(self, action: str, reason: dict | None = None) -> None:
        allowed, target = TRANSITIONS[action]
        if self.status not in allowed:
            raise Conflict(f"Cannot {action} a service that is {self.status}.", code="illegal-transition")
        self.status = target
        self.closed_reason = jsonable(reason) if target == CLOSED and reason else None
        self._bump()

    def touch(self) -> None:
        """Something it embeds (a location) changed: a new version to announce."""
        self._bump()

    def _bump(self):
        self.version += 1
        self.updated_at = now()

    def published_event(self, locations: list[Location]) -> dict:
        data = {"service_id": str(self.id), "organization_id": self.organization_id, "version": self.version,
                "status": self.status, "published_at": iso(self.updated_at), "service": self.document,
                "locations": [loc.snapshot() for loc in locations]}
        if self.closed_reason:
            data["closed_reason"] = self.closed_reason
        return data

    def withdrawn_event(self) -> dict:
        return {"service_id": str(self.id), "organization_id": self.organization_id, "version": self.version,
                "withdrawn_at": iso(self.updated_at)}


def iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


# -- what a description must make sense as --------------------------------------------------------------------
# a whole-string pattern of ASCII digits (\d would take any script's digits, $ a final newline)
CLOCK = re.compile(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]|24:00")
MAX_EXCEPTION_DAYS = 366


@dataclass(frozen=True)
class Problem:
    """A rule a description breaks: the field it is about (`at`: where inside it), and what to tell the publisher."""
    field: str
    message: str
    at: tuple = ()


def _clock(clock: str) -> tuple[int, int]:
    """"HH:MM" exactly (an event from another instance is checked again: it may be anything the contract lets by)."""
    if not isinstance(clock, str) or not CLOCK.fullmatch(clock):
        raise ValueError(f"not a time of day HH:MM: {clock!r}")
    h, m = clock.split(":")
    return int(h), int(m)


def minutes(clock: str) -> int:
    h, m = _clock(clock)
    return h * 60 + m


def as_time(clock: str) -> time:
    h, m = _clock(clock)
    return time(23, 59, 59, 999999) if h == 24 else time(h, m)


def opening_hours_problem(h: dict) -> Problem | None:
    """Weekly hours: each weekday once, opening before midnight and closing after it opens, a validity
    period that ends after it starts."""
    if len(set(h["days"])) != len(h["days"]):
        return Problem("days", "Each weekday may appear only once.")
    if h["opens_at"] == "24:00":
        return Problem("opens_at", "Opening time must be before midnight.")
    if minutes(h["closes_at"]) <= minutes(h["opens_at"]):
        return Problem("closes_at", "Closing time must be after opening time on the same day "
                                    "(split hours past midnight into two days).")
    if h.get("valid_from") and h.get("valid_to") and h["valid_to"] < h["valid_from"]:
        return Problem("valid_to", "The validity period ends before it starts.")
    return None


def exception_problem(e: dict) -> Problem | None:
    """A deviation from the weekly hours: at most a year long; closed without hours, or open with both."""
    if e["ends_on"] < e["starts_on"]:
        return Problem("ends_on", "The exception ends before it starts.")
    if (e["ends_on"] - e["starts_on"]).days > MAX_EXCEPTION_DAYS:
        return Problem("ends_on", "An exception may last at most a year; change the weekly hours instead.")
    hours = ("opens_at" in e, "closes_at" in e)
    if e["closed"] and any(hours):
        return Problem("opens_at", "A closed day has no opening hours.")
    if not e["closed"]:
        if not all(hours):
            return Problem("opens_at", "Special hours need both opens_at and closes_at.")
        if e["opens_at"] == "24:00" or minutes(e["closes_at"]) <= minutes(e["opens_at"]):
            return Problem("closes_at", "Closing time must be after opening time.")
    return None


def capacity_problem(c: dict) -> Problem | None:
    if "maximum" in c and c["available"] > c["maximum"]:
        return Problem("available", "More places available than the maximum.")
    return None


def location_problem(loc: dict) -> Problem | None:
    if ("latitude" in loc) != ("longitude" in loc):
        return Problem("latitude", "Give both latitude and longitude, or neither.")
    return None


def service_problem(doc: dict) -> Problem | None:
    """An age range that is one, a cost that is said, each location linked once, and weekly hours that are
    at linked locations and do not overlap on a day at the same place."""
    if "min_age" in doc and "max_age" in doc and doc["max_age"] < doc["min_age"]:
        return Problem("max_age", "The maximum age is below the minimum age.")
    if not doc.get("free", True) and not doc.get("fees"):
        return Problem("fees", "Say what the service costs when it is not free.")
    linked = doc.get("location_ids", [])
    if len(set(linked)) != len(linked):
        return Problem("location_ids", "Each location may be linked only once.")
    seen: dict[tuple, list] = {}
    for i, h in enumerate(doc.get("opening_hours", [])):
        if h.get("location_id") and h["location_id"] not in linked:
            return Problem("opening_hours", "Link the location to the service first (location_ids).",
                           (i, "location_id"))
        for day in h["days"]:
            if any(_overlap(h, other) for other in seen.get((h.get("location_id"), day), [])):
                return Problem("opening_hours", f"Overlaps other opening hours on {day}.", (i, "days"))
            seen.setdefault((h.get("location_id"), day), []).append(h)
    return None


def _overlap(a: dict, b: dict) -> bool:
    if minutes(a["closes_at"]) <= minutes(b["opens_at"]) or minutes(b["closes_at"]) <= minutes(a["opens_at"]):
        return False
    a_from, a_to = a.get("valid_from"), a.get("valid_to")
    b_from, b_to = b.get("valid_from"), b.get("valid_to")
    if a_to and b_from and a_to < b_from or b_to and a_from and b_to < a_from:
        return False
    return True
