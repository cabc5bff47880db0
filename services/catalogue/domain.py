"""Catalogue domain: a service an organisation publishes, and its lifecycle."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

from services.kernel.errors import Conflict

ACTIVE, CLOSED, WITHDRAWN = "active", "temporarily-closed", "withdrawn"


def now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class CatalogueService:
    id: uuid.UUID
    organization_id: str
    name: dict
    description: dict = field(default_factory=dict)
    category: str | None = None
    status: str = ACTIVE
    version: int = 1
    updated_at: datetime = field(default_factory=now)

    @classmethod
    def create(cls, organization_id: str, name: dict, description: dict | None = None,
               category: str | None = None) -> "CatalogueService":
        return cls(uuid.uuid4(), organization_id, name, description or {}, category)

    def withdraw(self) -> None:
        if self.status == WITHDRAWN:
            raise Conflict("The service has already been withdrawn.", code="already-withdrawn")
        self.status = WITHDRAWN
        self._bump()

    def _bump(self):
        self.version += 1
        self.updated_at = now()

    def published_event(self) -> dict:
        data = {"service_id": str(self.id), "organization_id": self.organization_id, "version": self.version,
                "name": self.name, "status": self.status, "published_at": _iso(self.updated_at)}
        if self.description:
            data["description"] = self.description
        if self.category:
            data["category"] = self.category
        return data

    def withdrawn_event(self) -> dict:
        return {"service_id": str(self.id), "organization_id": self.organization_id, "version": self.version,
                "withdrawn_at": _iso(self.updated_at)}


def _iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
