"""Consent: a client's consent (or denial) to disclose named data categories to a
named organisation for a purpose, for a period, recorded by someone, somehow."""
from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

from services.kernel.errors import Conflict, Invalid

# What a referral can carry to the receiving organisation, by category.
CATEGORIES = {
    "identity": ("name", "identity_code", "date_of_birth"),
    "contact": ("phone", "email", "municipality"),
    "background": ("gender", "language"),
    "referral-details": ("note",),
}
PURPOSES = ("referral", "service-coordination")
METHODS = ("in-person", "written", "remote")


class Decision(str, enum.Enum):
    GRANTED = "granted"
    DENIED = "denied"


def now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Consent:
    id: uuid.UUID
    client_id: uuid.UUID
    recipient_org: str
    categories: list[str]
    purpose: str
    decision: Decision
    valid_from: datetime
    valid_until: datetime
    method: str
    recorded_by: str
    recorded_at: datetime = field(default_factory=now)
    withdrawn_at: datetime | None = None
    withdrawn_by: str | None = None

    @classmethod
    def record(cls, *, client_id, recipient_org: str, categories: list[str], purpose: str, decision: str,
               valid_from: datetime, valid_until: datetime, method: str, by: str,
               own_org: str) -> "Consent":
        unknown = sorted(set(categories) - set(CATEGORIES))
        if unknown:
            raise Invalid(f"Unknown data categories: {', '.join(unknown)}.", code="unknown-category")
        if not categories:
            raise Invalid("Name at least one data category.")
        if purpose not in PURPOSES:
            raise Invalid(f"purpose must be one of {', '.join(PURPOSES)}.")
        if method not in METHODS:
            raise Invalid(f"method must be one of {', '.join(METHODS)}.")
        if recipient_org == own_org:
            raise Invalid("Consent is for disclosing data to another organisation.")
        if valid_until <= valid_from:
            raise Invalid("valid_until must be after valid_from.", code="invalid-period")
        return cls(uuid.uuid4(), client_id, recipient_org, sorted(set(categories)), purpose, Decision(decision),
                   valid_from, valid_until, method, by)

    def status(self, at: datetime | None = None) -> str:
        at = at or now()
        if self.withdrawn_at is not None:
            return "withdrawn"
        if self.decision == Decision.DENIED:
            return "denied"
        if at < self.valid_from:
            return "not-yet-valid"
        if at >= self.valid_until:
            return "expired"
        return "valid"

    def withdraw(self, by: str) -> None:
        if self.withdrawn_at is not None:
            raise Conflict("The consent has already been withdrawn.", code="already-withdrawn")
        if self.decision == Decision.DENIED:
            raise Conflict("A denial cannot be withdrawn; record a new consent instead.", code="consent-denied")
        self.withdrawn_at = now()
        self.withdrawn_by = by

    def permits(self, recipient_org: str, purpose: str, categories: list[str], at: datetime | None = None) -> None:
        """Raise Conflict with the reason unless this consent allows the disclosure."""
        status = self.status(at)
        if self.recipient_org != recipient_org:
            raise Conflict(f"The consent is for {self.recipient_org}, not {recipient_org}.", code="consent-other-recipient")
        if status != "valid":
            raise Conflict(f"The client's consent is {status}.", code=f"consent-{status}")
        if self.purpose != purpose:
            raise Conflict(f"The consent covers '{self.purpose}', not '{purpose}'.", code="consent-other-purpose")
        missing = sorted(set(categories) - set(self.categories))
        if missing:
            raise Conflict(f"The consent does not cover: {', '.join(missing)}.", code="consent-category-missing",
                           missing=missing)


def disclose(client: dict, categories: list[str], note: str | None) -> dict:
    """Only the consented categories' fields of the client, for the receiver."""
    source = {**client, "note": note}
    out = {}
    for cat in categories:
        for f in CATEGORIES[cat]:
            if source.get(f) is not None:
                out[f] = source[f]
    return out


def shared_categories(consent: Consent, wanted: list[str] | None, note: str | None) -> list[str]:
    """What a referral discloses under the consent: the categories asked for, or all it covers; a note is
    referral details, so it goes only with them."""
    shared = wanted or consent.categories
    if note and "referral-details" not in shared:
        raise Invalid("A note is referral details: the consent (and 'categories') must include "
                      "'referral-details' to send one.", code="note-not-consented")
    return shared


def choose_consent(consents: list[Consent], recipient_org: str, purpose: str, categories: list[str],
                   at: datetime | None = None) -> Consent:
    """The newest consent that permits the disclosure, or Conflict with the most telling reason."""
    relevant = sorted((c for c in consents if c.recipient_org == recipient_org),
                      key=lambda c: c.recorded_at, reverse=True)
    if not relevant:
        raise Conflict(f"The client has not consented to disclosing data to {recipient_org}.", code="consent-missing")
    first_error = None
    for c in relevant:
        try:
            c.permits(recipient_org, purpose, categories, at)
            return c
        except Conflict as e:
            first_error = first_error or e
    raise first_error
