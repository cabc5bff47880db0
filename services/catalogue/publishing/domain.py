"""Catalogue domain: the services and locations an organisation publishes, and their lifecycle.

    draft ──publish──▶ active ◀──reopen── temporarily-closed
      │                  │  └────close────────▲
      └──withdraw──▶ withdrawn ◀──withdraw────┘

Only active and temporarily closed services are public: each change to one
emits `catalogue.service-published` (with the whole description), withdrawal
emits `catalogue.service-withdrawn`. A draft is the organisation's own work
in progress and is not announced.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from services.kernel.errors import Conflict

DRAFT, ACTIVE, CLOSED, WITHDRAWN = "draft", "active", "temporarily-closed", "withdrawn"
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
        if status not in (DRAFT, ACTIVE):
            raise Conflict("A new service is either a draft or active.", code="illegal-status")
        return cls(uuid.uuid4(), organization_id, jsonable(document), status)

    @property
    def public(self) -> bool:
        return self.status in PUBLIC

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
