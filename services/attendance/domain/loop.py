"""The referral loop closes by itself: a client who came by referral attends their first encounter here, and
the sender is told "arrived"; they miss the first N sessions they were invited to, and the sender is told
"not arrived" with the count. Told once each: "arrived" may still follow "not arrived" (they came later),
never the other way round.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from services.kernel.errors import Conflict

from .encounters import iso, now

ARRIVED, NOT_ARRIVED = "arrived", "not-arrived"
DEFAULT_NO_SHOW_AFTER = 2     # sessions missed in a row, from the first, before the sender is told


@dataclass
class IncomingReferral:
    """A referral to this organisation, as its sender's signed event named it (no personal data)."""
    referral_id: uuid.UUID
    from_org: str
    service_id: uuid.UUID
    age_band: str
    requested_at: datetime
    status: str = "requested"


@dataclass
class ReferralLink:
    """This organisation's client came by that referral; the loop's state."""
    referral_id: uuid.UUID
    client_id: uuid.UUID
    from_org: str
    to_org: str
    service_id: uuid.UUID
    linked_by: str | None = None
    linked_at: datetime = field(default_factory=now)
    arrival: str | None = None
    arrival_at: datetime | None = None
    missed: int = 0

    @classmethod
    def link(cls, referral: IncomingReferral, client_id, *, org_id: str, by: str,
             existing: "ReferralLink | None" = None) -> "ReferralLink":
        if referral.status in ("rejected", "cancelled"):
            raise Conflict(f"The referral is {referral.status}; it cannot be linked.", code="referral-closed")
        if existing is not None and existing.client_id != client_id:
            raise Conflict("The referral is linked to another client already.", code="referral-linked")
        return existing or cls(referral.referral_id, client_id, referral.from_org, org_id, referral.service_id, by)

    def observe(self, *, attended: bool, at: datetime, kind: str, no_show_after: int) -> dict | None:
        """An invited encounter of the linked client (a session mark, an appointment): the event data to
        tell the sender, or None when there is nothing new to tell."""
        if self.arrival == ARRIVED:
            return None
        if attended:
            self.arrival, self.arrival_at = ARRIVED, at
            return {**self._facts(), "arrival": ARRIVED, "at": iso(at), "missed": self.missed,
                    "encounter_kind": kind}
        self.missed += 1
        if self.arrival is None and self.missed >= max(1, no_show_after):
            self.arrival, self.arrival_at = NOT_ARRIVED, at
            return {**self._facts(), "arrival": NOT_ARRIVED, "at": iso(at), "missed": self.missed}
        return None

    def _facts(self) -> dict:
        return {"referral_id": str(self.referral_id), "from_org": self.from_org, "to_org": self.to_org,
                "service_id": str(self.service_id)}
