"""Groups: a group ties to a catalogue service, has enrolled participants (registered clients) and sessions;
per session an attendance mark per participant and a count of unregistered guests."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

from services.kernel.errors import Conflict, Invalid

from . import codes
from .encounters import MAX_COUNT, check_duration, iso, now

SESSION_STATUSES = ("planned", "held", "cancelled")
MISSED_MARKS = ("excused", "absent")


@dataclass
class Group:
    id: uuid.UUID
    organization_id: str
    service_id: uuid.UUID
    name: str
    starts_on: date
    ends_on: date | None = None
    location_id: uuid.UUID | None = None
    capacity: int | None = None
    created_by: str | None = None
    created_at: datetime = field(default_factory=now)

    @classmethod
    def create(cls, *, organization_id: str, service_id, name: str, starts_on: date, by: str, ends_on=None,
               location_id=None, capacity=None) -> "Group":
        name = (name or "").strip()
        if not name:
            raise Invalid("A group needs a name.", code="name-required", field="name")
        if ends_on is not None and ends_on < starts_on:
            raise Invalid("A group cannot end before it starts.", code="ends-before-start", field="ends_on")
        if capacity is not None and not 1 <= capacity <= MAX_COUNT:
            raise Invalid(f"capacity is from 1 to {MAX_COUNT}.", code="bad-capacity", field="capacity")
        return cls(uuid.uuid4(), organization_id, service_id, name[:200], starts_on, ends_on, location_id,
                   capacity, by)


@dataclass
class Participant:
    group_id: uuid.UUID
    client_id: uuid.UUID
    enrolled_on: date
    left_on: date | None = None
    enrolled_by: str | None = None

    def active_on(self, day: date) -> bool:
        return self.enrolled_on <= day and (self.left_on is None or day <= self.left_on)


def enrol(group: Group, participants: list[Participant], client_id, *, on: date, by: str) -> Participant:
    """A registered client joins the group; Conflict if already in it or the group is full."""
    active = [p for p in participants if p.left_on is None]
    if any(p.client_id == client_id for p in active):
        raise Conflict("The client is already in this group.", code="already-enrolled")
    if group.capacity is not None and len(active) >= group.capacity:
        raise Conflict(f"The group is full ({group.capacity} participants).", code="group-full")
    if group.ends_on is not None and on > group.ends_on:
        raise Conflict("The group has ended.", code="group-ended")
    return Participant(group.id, client_id, max(on, group.starts_on), None, by)


def leave(p: Participant, *, on: date) -> Participant:
    if p.left_on is not None:
        raise Conflict("The client has left this group already.", code="already-left")
    if on < p.enrolled_on:
        raise Invalid("A participant cannot leave before joining.", code="left-before-enrolled", field="left_on")
    p.left_on = on
    return p


@dataclass
class Mark:
    session_id: uuid.UUID
    client_id: uuid.UUID
    mark: str
    excuse_reason: str | None = None
    marked_by: str | None = None
    marked_at: datetime = field(default_factory=now)

    @property
    def attended(self) -> bool:
        return self.mark == "attended"


@dataclass
class Session:
    id: uuid.UUID
    group_id: uuid.UUID
    organization_id: str
    starts_at: datetime
    duration_minutes: int | None = None
    location_id: uuid.UUID | None = None
    worker: str | None = None
    status: str = "planned"
    guests: int = 0
    version: int = 1
    created_by: str | None = None
    created_at: datetime = field(default_factory=now)

    @classmethod
    def plan(cls, group: Group, *, starts_at: datetime, by: str, duration_minutes=None, location_id=None,
             worker=None) -> "Session":
        if starts_at.tzinfo is None:
            raise Invalid("starts_at needs a time zone.", code="naive-time", field="starts_at")
        day = starts_at.date()
        if day < group.starts_on or (group.ends_on is not None and day > group.ends_on):
            raise Invalid("The session is outside the group's dates.", code="outside-group-dates", field="starts_at")
        return cls(uuid.uuid4(), group.id, group.organization_id, starts_at, check_duration(duration_minutes),
                   location_id or group.location_id, (worker or by)[:100], created_by=by)

    def cancel(self) -> None:
        if self.status == "held":
            raise Conflict("A session that was held cannot be cancelled; correct its marks instead.",
                           code="session-held")
        self.status = "cancelled"
        self.version += 1

    def take_attendance(self, participants: list[Participant], marks: dict, *, guests: int | None, by: str,
                        at: datetime | None = None) -> list[Mark]:
        """Marks for the participants enrolled on the session's day: {client_id: (mark, excuse_reason)}.
        Every enrolled participant gets a mark, so nobody is forgotten; the session is then held."""
        at = at or now()
        if self.status == "cancelled":
            raise Conflict("A cancelled session takes no attendance.", code="session-cancelled")
        if self.starts_at > at:
            raise Conflict("Attendance is taken once the session has begun.", code="session-not-begun")
        enrolled = {p.client_id for p in participants if p.active_on(self.starts_at.date())}
        given = {uuid.UUID(str(k)): v for k, v in marks.items()}
        strangers = sorted(map(str, set(given) - enrolled))
        if strangers:
            raise Invalid("Marks are for the group's participants only.", code="not-a-participant",
                          clients=strangers)
        unmarked = sorted(map(str, enrolled - set(given)))
        if unmarked:
            raise Invalid("Every participant needs a mark (attended, excused or absent).", code="unmarked",
                          clients=unmarked)
        out = []
        for client_id, (mark, reason) in sorted(given.items(), key=lambda kv: str(kv[0])):
            codes.check("marks", mark, "mark")
            if mark == "excused":
                codes.check("excuse_reasons", reason, "excuse_reason")
            elif reason is not None:
                raise Invalid("Only an excused absence takes a reason.", code="reason-not-taken",
                              field="excuse_reason")
            out.append(Mark(self.id, client_id, mark, reason, by, at))
        if guests is not None:
            if isinstance(guests, bool) or not isinstance(guests, int) or not 0 <= guests <= MAX_COUNT:
                raise Invalid(f"guests is a whole number from 0 to {MAX_COUNT}.", code="bad-count", field="guests")
            self.guests = guests
        self.status = "held"
        self.version += 1
        return out

    def recorded_event(self, group: Group, marks: list[Mark]) -> dict:
        """Counts only: how many were enrolled, came, were excused or absent, and guests."""
        tally = {m: sum(1 for x in marks if x.mark == m) for m in ("attended", "excused", "absent")}
        d = {"session_id": str(self.id), "group_id": str(group.id), "organization_id": self.organization_id,
             "service_id": str(group.service_id), "starts_at": iso(self.starts_at), "status": self.status,
             "version": self.version, "enrolled": len(marks), **tally, "guests": self.guests}
        if self.location_id:
            d["location_id"] = str(self.location_id)
        if self.duration_minutes:
            d["duration_minutes"] = self.duration_minutes
        return d
