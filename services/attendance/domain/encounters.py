"""Encounters: every kind of contact an organisation records, each with time, place (a catalogue location),
service (a catalogue service), worker and duration.

Anonymous kinds are counted, never identified: a drop-in visit, aid given, an event for professionals, and a
contact without a registered client. Guidance, home visits and network meetings are with a registered
client (the organisation's own, by the id its referrals service gave them) and may have been missed.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from services.kernel.errors import Conflict, Invalid

from . import codes

DROP_IN, CONTACT, GUIDANCE, HOME_VISIT, NETWORK_MEETING, AID, PROFESSIONAL_EVENT = (
    "drop-in", "contact", "guidance", "home-visit", "network-meeting", "aid", "professional-event")
KINDS = (DROP_IN, CONTACT, GUIDANCE, HOME_VISIT, NETWORK_MEETING, AID, PROFESSIONAL_EVENT)
WITH_CLIENT = (GUIDANCE, HOME_VISIT, NETWORK_MEETING)        # a registered client is required
CLIENT_OPTIONAL = (CONTACT,)
COUNTED = (DROP_IN, AID, PROFESSIONAL_EVENT)                # a number, never a person
APPOINTMENT_STATUSES = ("attended", "missed", "excused")    # of the kinds with a client: did they come
MAX_COUNT = 500
MAX_DURATION_MINUTES = 24 * 60
FUTURE_TOLERANCE = timedelta(minutes=5)                     # a phone's clock a little ahead is not an error
VOID_WINDOW = timedelta(hours=12)                           # a tap or entry may be undone this long after


def now() -> datetime:
    return datetime.now(timezone.utc)


def iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def check_time(t: datetime, field: str = "occurred_at") -> datetime:
    if t.tzinfo is None:
        raise Invalid(f"{field} needs a time zone, e.g. 2026-11-23T13:30:00+02:00.", code="naive-time", field=field)
    if t.year < 2000:
        raise Invalid(f"{field} is implausibly early.", code="implausible-date", field=field)
    if t > now() + FUTURE_TOLERANCE:
        raise Invalid("An encounter cannot be recorded in the future.", code="future-encounter", field=field)
    return t


def check_duration(minutes: int | None) -> int | None:
    if minutes is not None and not 1 <= minutes <= MAX_DURATION_MINUTES:
        raise Invalid(f"duration_minutes is from 1 to {MAX_DURATION_MINUTES}.", code="bad-duration",
                      field="duration_minutes")
    return minutes


@dataclass
class Encounter:
    id: uuid.UUID
    organization_id: str
    kind: str
    occurred_at: datetime
    count: int = 1
    client_id: uuid.UUID | None = None
    referral_id: uuid.UUID | None = None      # set when this client came by referral here
    service_id: uuid.UUID | None = None
    location_id: uuid.UUID | None = None
    duration_minutes: int | None = None
    worker: str | None = None
    channel: str | None = None                # contact: channel; guidance: mode
    matters: list[str] = field(default_factory=list)
    new_matter: bool = False
    status: str | None = None                 # kinds with a client: attended / missed / excused
    excuse_reason: str | None = None
    age_band: str = "unknown"
    gender: str = "unknown"
    aid_kind: str | None = None
    count_unit: str | None = None             # aid: people or households
    format: str | None = None                 # professional event: webinar, training, ...
    partner_orgs: list[str] = field(default_factory=list)
    idempotency_key: str | None = None
    recorded_by: str | None = None
    recorded_at: datetime = field(default_factory=now)
    voided_at: datetime | None = None
    voided_by: str | None = None

    @property
    def anonymous(self) -> bool:
        return self.client_id is None

    @property
    def attended(self) -> bool:
        """Did a registered client come (the kinds with a status), or did anyone (the others)."""
        return self.status in (None, "attended")

    @classmethod
    def record(cls, *, organization_id: str, kind: str, occurred_at: datetime, by: str, **f) -> "Encounter":
        """A new encounter of `kind`, its fields checked against what that kind takes (Invalid otherwise)."""
        if kind not in KINDS:
            raise Invalid(f"kind must be one of {', '.join(KINDS)}.", code="unknown-kind", field="kind")
        check_time(occurred_at)
        e = cls(uuid.uuid4(), organization_id, kind, occurred_at, recorded_by=by, **_fields_for(kind, f))
        e.duration_minutes = check_duration(e.duration_minutes)
        e.worker = (e.worker or by)[:100]
        return e

    def void(self, *, by: str, at: datetime | None = None) -> None:
        """Undo: the entry no longer counts (a tap in error, a duplicate). Kept, marked, announced."""
        at = at or now()
        if self.voided_at is not None:
            raise Conflict("This entry has been undone already.", code="already-voided")
        if at - self.recorded_at > VOID_WINDOW:
            raise Conflict("An entry can be undone only within 12 hours of recording it.", code="void-too-late")
        self.voided_at, self.voided_by = at, by

    # -- events -------------------------------------------------------------------------------------
    def recorded_event(self) -> dict:
        """What reporting needs: kind, channel, matters, service, place, time, duration, counts, age band,
        gender, the referral link. Never the client's id, the worker's name or free text."""
        d = {"encounter_id": str(self.id), "organization_id": self.organization_id, "kind": self.kind,
             "occurred_at": iso(self.occurred_at), "count": self.count, "registered": not self.anonymous,
             "age_band": self.age_band, "gender": self.gender}
        optional = {"service_id": self.service_id, "location_id": self.location_id, "referral_id": self.referral_id,
                    "duration_minutes": self.duration_minutes, "channel": self.channel, "status": self.status,
                    "excuse_reason": self.excuse_reason, "aid_kind": self.aid_kind, "count_unit": self.count_unit,
                    "format": self.format}
        d.update({k: (str(v) if isinstance(v, uuid.UUID) else v) for k, v in optional.items() if v is not None})
        if self.kind == CONTACT:
            d["matters"], d["new_matter"] = list(self.matters), self.new_matter
        if self.partner_orgs:
            d["partner_orgs"] = list(self.partner_orgs)
        return d

    def voided_event(self) -> dict:
        return {"encounter_id": str(self.id), "organization_id": self.organization_id, "kind": self.kind,
                "occurred_at": iso(self.occurred_at), "voided_at": iso(self.voided_at)}


def _fields_for(kind: str, f: dict) -> dict:
    """The fields `kind` takes, checked; a field it does not take is refused rather than dropped."""
    f = {k: v for k, v in f.items() if v is not None and v != [] and v is not False}
    takes = {"service_id", "location_id", "duration_minutes", "worker", "idempotency_key"}
    out = {k: f.pop(k) for k in list(f) if k in takes}
    if kind in WITH_CLIENT or kind in CLIENT_OPTIONAL:
        client = f.pop("client_id", None)
        if kind in WITH_CLIENT and client is None:
            raise Invalid(f"A {kind} is with a registered client: pick the client.", code="client-required",
                          field="client_id")
        out["client_id"] = client
    if kind in COUNTED or (kind == CONTACT and out.get("client_id") is None):
        out["age_band"] = codes.check("age_bands", f.pop("age_band", "unknown"), "age_band")
        out["gender"] = codes.check("genders", f.pop("gender", "unknown"), "gender")
    if kind in COUNTED:
        count = f.pop("count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
            raise Invalid(f"count is a whole number from 1 to {MAX_COUNT}.", code="bad-count", field="count")
        out["count"] = count
    if kind == CONTACT:
        out["channel"] = codes.check("contact_channels", f.pop("channel", None), "channel")
        matters = f.pop("matters", None) or []
        if not matters:
            raise Invalid("A contact needs the matters it concerned.", code="matters-required", field="matters")
        for m in matters:
            codes.check("matters", m, "matters")
        out["matters"] = sorted(set(matters))
        out["new_matter"] = bool(f.pop("new_matter", False))
    if kind in WITH_CLIENT:
        if kind == GUIDANCE:
            out["channel"] = codes.check("guidance_modes", f.pop("channel", None), "channel")
        elif kind == HOME_VISIT:
            out["channel"] = codes.check("guidance_modes", f.pop("channel", "outreach-home"), "channel")
        status = f.pop("status", "attended")
        if status not in APPOINTMENT_STATUSES:
            raise Invalid(f"status must be one of {', '.join(APPOINTMENT_STATUSES)}.", code="unknown-status",
                          field="status")
        out["status"] = status
        reason = f.pop("excuse_reason", None)
        if status == "excused":
            out["excuse_reason"] = codes.check("excuse_reasons", reason, "excuse_reason")
        elif reason is not None:
            raise Invalid("Only an excused absence takes a reason.", code="reason-not-taken", field="excuse_reason")
    if kind == NETWORK_MEETING:
        partners = sorted(set(f.pop("partner_orgs", None) or []))
        if not partners:
            raise Invalid("A network meeting names the organisations that took part.", code="partners-required",
                          field="partner_orgs")
        out["partner_orgs"] = partners
    if kind == AID:
        out["aid_kind"] = codes.check("aid_kinds", f.pop("aid_kind", None), "aid_kind")
        out["count_unit"] = codes.check("aid_units", f.pop("count_unit", "people"), "count_unit")
    if kind == PROFESSIONAL_EVENT:
        out["format"] = codes.check("professional_formats", f.pop("format", None), "format")
    if f:
        raise Invalid(f"A {kind} does not take {', '.join(sorted(f))}.", code="field-not-taken",
                      field=sorted(f)[0])
    return out
