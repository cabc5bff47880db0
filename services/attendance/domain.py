"""Attendance domain: encounters at drop-in places, groups, guidance and home visits."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

from services.kernel.errors import Invalid

KINDS = ("drop-in", "group", "individual", "home-visit")


@dataclass
class Encounter:
    id: uuid.UUID
    organization_id: str
    kind: str
    anonymous: bool
    participants: int
    occurred_at: datetime
    service_id: uuid.UUID | None = None
    recorded_by: str | None = None
    recorded_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @classmethod
    def record(cls, *, organization_id: str, kind: str, anonymous: bool, participants: int,
               occurred_at: datetime, service_id=None, by: str) -> "Encounter":
        if kind not in KINDS:
            raise Invalid(f"kind must be one of {', '.join(KINDS)}.")
        if occurred_at.tzinfo is None:
            raise Invalid("occurred_at needs a time zone, e.g. 2026-11-23T13:30:00+02:00.")
        if occurred_at.year < 2000:
            raise Invalid("occurred_at is implausibly early.", code="implausible-date")
        if occurred_at > datetime.now(timezone.utc):
            raise Invalid("An encounter cannot be recorded in the future.", code="future-encounter")
        if kind in ("individual", "home-visit") and participants != 1:
            raise Invalid("Individual guidance and home visits have exactly one participant.")
        return cls(uuid.uuid4(), organization_id, kind, anonymous, participants, occurred_at, service_id, by)

    def recorded_event(self) -> dict:
        d = {"encounter_id": str(self.id), "organization_id": self.organization_id, "kind": self.kind,
             "anonymous": self.anonymous, "participants": self.participants,
             "occurred_at": self.occurred_at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")}
        if self.service_id:
            d["service_id"] = str(self.service_id)
        return d
