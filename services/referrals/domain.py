"""Referrals domain: a referral's lifecycle between organisations (FHIR SDOH Task names)."""
from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

from services.kernel.errors import Conflict, Invalid


class State(str, enum.Enum):
    DRAFT = "draft"
    REQUESTED = "requested"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    IN_PROGRESS = "in-progress"
    ON_HOLD = "on-hold"
    COMPLETED = "completed"
    FAILED = "failed"


TRANSITIONS = {
    State.DRAFT: {State.REQUESTED, State.CANCELLED},
    State.REQUESTED: {State.ACCEPTED, State.REJECTED, State.CANCELLED},
    State.ACCEPTED: {State.IN_PROGRESS, State.ON_HOLD, State.COMPLETED, State.FAILED, State.CANCELLED},
    State.IN_PROGRESS: {State.ON_HOLD, State.COMPLETED, State.FAILED, State.CANCELLED},
    State.ON_HOLD: {State.IN_PROGRESS, State.COMPLETED, State.FAILED, State.CANCELLED},
}

AGE_BANDS = ("15-17", "18-24", "25-29", "30-35", "unknown")


class Direction(str, enum.Enum):
    OUTGOING = "outgoing"
    INCOMING = "incoming"


def now() -> datetime:
    return datetime.now(timezone.utc)


def iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


@dataclass
class Referral:
    id: uuid.UUID
    direction: Direction
    from_org: str
    to_org: str
    service_id: uuid.UUID
    status: State
    age_band: str
    note: str | None = None
    requested_at: datetime | None = None
    received_at: datetime | None = None
    created_by: str | None = None
    updated_at: datetime = field(default_factory=now)

    @classmethod
    def send(cls, *, from_org: str, to_org: str, service_id, age_band: str, note: str | None,
             by: str) -> "Referral":
        if to_org == from_org:
            raise Invalid("A referral goes to another organisation's service; this service is your own.",
                          code="own-service")
        if age_band not in AGE_BANDS:
            raise Invalid(f"age_band must be one of {', '.join(AGE_BANDS)}.")
        t = now()
        return cls(uuid.uuid4(), Direction.OUTGOING, from_org, to_org, service_id, State.REQUESTED,
                   age_band, note, requested_at=t, created_by=by, updated_at=t)

    @classmethod
    def incoming(cls, data: dict) -> "Referral":
        return cls(uuid.UUID(data["referral_id"]), Direction.INCOMING, data["from_org"], data["to_org"],
                   uuid.UUID(data["service_id"]), State.REQUESTED, data["age_band"], data.get("note"),
                   requested_at=datetime.fromisoformat(data["requested_at"].replace("Z", "+00:00")),
                   received_at=now())

    def transition(self, to: State) -> None:
        if to not in TRANSITIONS.get(self.status, set()):
            raise Conflict(f"A referral in state '{self.status.value}' cannot become '{to.value}'.",
                           code="illegal-transition")
        self.status = to
        self.updated_at = now()

    def requested_event(self) -> dict:
        d = {"referral_id": str(self.id), "from_org": self.from_org, "to_org": self.to_org,
             "service_id": str(self.service_id), "requested_at": iso(self.requested_at),
             "age_band": self.age_band}
        if self.note:
            d["note"] = self.note
        return d

    def received_event(self) -> dict:
        return {"referral_id": str(self.id), "from_org": self.from_org, "to_org": self.to_org,
                "received_at": iso(self.received_at)}
