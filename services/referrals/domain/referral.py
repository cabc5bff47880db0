"""A referral's lifecycle between organisations (FHIR SDOH Task names).

Both organisations hold the referral: the sender (direction outgoing, with its
own client) and the receiver (direction incoming, with only the consented
data). The receiver answers and runs the pathway; the sender may cancel until
acceptance. Each side applies the other's events to its copy.
"""
from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

from services.kernel.errors import Conflict, Invalid, Rejected

from .identity import pathway_key as keyed_hash


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
TERMINAL = {State.REJECTED, State.CANCELLED, State.COMPLETED, State.FAILED}

# Reason code lists; "other" needs a text.
REASONS = {
    State.REJECTED: ("client-declined", "no-capacity", "waitlist", "not-eligible", "wrong-service", "other"),
    State.CANCELLED: ("client-declined", "need-resolved", "client-moved", "sent-in-error", "consent-withdrawn",
                      "other"),
    State.ON_HOLD: ("waitlist", "client-unreachable", "client-request", "other"),
    State.FAILED: ("client-did-not-attend", "lost-contact", "service-ended", "other"),
}

# Pathway outcomes, recorded on completion and at the 3- and 6-month follow-ups.
OUTCOMES = ("studies", "work-full-time", "work-part-time", "work-pay-subsidised",
            "measure-rehabilitative-work-activity", "measure-work-trial", "measure-coaching",
            "social-or-health-service", "kela-service", "other", "none-lost-contact")
OUTCOME_POINTS = ("completion", "follow-up-3m", "follow-up-6m")

# Actions on /api/v1/referrals/{id}/<action>: target state, and which side may take it.
ACTIONS = {
    "accept": (State.ACCEPTED, "receiver"),
    "reject": (State.REJECTED, "receiver"),
    "start": (State.IN_PROGRESS, "receiver"),
    "hold": (State.ON_HOLD, "receiver"),
    "complete": (State.COMPLETED, "receiver"),
    "fail": (State.FAILED, "receiver"),
    "cancel": (State.CANCELLED, "either"),
}

# Whether the referred client came to the receiver, as its attendance tells
# (contracts/events/attendance.referral-arrival): their first attended encounter there, or the first sessions missed.
ARRIVALS = ("arrived", "not-arrived")
ARRIVAL_STARTS = (State.ACCEPTED, State.ON_HOLD)   # the receiver's copies an arrival moves to in-progress

# What the inbox tells a caseworker or a manager about (the notification kinds).
NOTIFICATIONS = ("incoming", "cancelled", "escalated", "consent-expired", "arrived", "not-arrived",
                 "arrived-unanswered")

AGE_BANDS = ("under-15", "15-17", "18-24", "25-29", "30-35", "over-35", "unknown")


class Direction(str, enum.Enum):
    OUTGOING = "outgoing"
    INCOMING = "incoming"


def now() -> datetime:
    return datetime.now(timezone.utc)


def iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def parse_time(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


@dataclass
class Change:
    """One step of the referral's history (and the event that tells the other side)."""
    referral_id: uuid.UUID
    from_state: State | None
    to_state: State
    reason_code: str | None
    reason_text: str | None
    by_org: str
    by_user: str | None
    at: datetime


@dataclass
class Arrival:
    """The receiver's attendance telling whether the referred client came: a step of the referral's timeline."""
    referral_id: uuid.UUID
    arrival: str                  # one of ARRIVALS
    at: datetime                  # arrived: the first attended encounter began; not-arrived: the last missed one
    missed: int | None            # sessions the client was invited to and missed before this
    by_org: str


@dataclass
class ArrivalNoted:
    """What an arrival changed here: the step for the timeline (None: nothing, e.g. a repeat), the receiver's
    move of its copy to in-progress, and the notification this organisation's caseworker gets."""
    arrival: Arrival | None = None
    change: Change | None = None
    notify: str | None = None     # one of NOTIFICATIONS


@dataclass
class Referral:
    id: uuid.UUID
    direction: Direction
    from_org: str
    to_org: str
    service_id: uuid.UUID
    status: State
    age_band: str
    gender: str = "unknown"
    pathway_key: str | None = None            # this organisation's own: the sender's client's, or computed by
                                              # the receiver from a disclosed identity code; never from the bus
    client_id: uuid.UUID | None = None       # sender side only
    consent_id: uuid.UUID | None = None
    categories: list[str] = field(default_factory=list)
    personal: dict | None = None              # receiver side: the consented data; None when restricted
    restricted_at: datetime | None = None
    reason_code: str | None = None
    reason_text: str | None = None
    requested_at: datetime | None = None
    received_at: datetime | None = None
    answered_at: datetime | None = None
    escalated_at: datetime | None = None
    arrival: str | None = None                # None until the receiver's attendance tells: one of ARRIVALS
    arrived_at: datetime | None = None        # arrived: when the first attended encounter began
    missed_sessions: int | None = None        # invited sessions missed before that (or before giving up)
    created_by: str | None = None
    updated_at: datetime = field(default_factory=now)

    # -- creation --------------------------------------------------------------
    @classmethod
    def send(cls, *, from_org: str, to_org: str, service_id, client_id, consent_id, categories: list[str],
             age_band: str, gender: str, pathway_key: str, by: str) -> tuple["Referral", Change]:
        if to_org == from_org:
            raise Invalid("A referral goes to another organisation's service; this service is your own.",
                          code="own-service")
        t = now()
        r = cls(uuid.uuid4(), Direction.OUTGOING, from_org, to_org, service_id, State.REQUESTED, age_band, gender,
                pathway_key, client_id, consent_id, sorted(categories), requested_at=t, created_by=by, updated_at=t)
        return r, Change(r.id, None, State.REQUESTED, None, None, from_org, by, t)

    @classmethod
    def incoming(cls, data: dict, personal: dict | None, pathway_secret: bytes | None = None) -> "Referral":
        """The receiver's copy. The sender's pathway key does not travel: with the identity code disclosed
        (and the federation's pathway secret at hand) the receiver computes the same key itself."""
        t = now()
        code = (personal or {}).get("identity_code")
        try:
            key = keyed_hash(code, pathway_secret) if isinstance(code, str) and pathway_secret else None
        except Invalid:  # the sender's to answer for; the referral still arrives
            key = None
        return cls(uuid.UUID(data["referral_id"]), Direction.INCOMING, data["from_org"], data["to_org"],
                   uuid.UUID(data["service_id"]), State.REQUESTED, data["age_band"], data.get("gender", "unknown"),
                   key, None, uuid.UUID(data["consent_id"]) if data.get("consent_id") else None,
                   list(data.get("categories", [])), personal, requested_at=parse_time(data["requested_at"]),
                   received_at=t, updated_at=t)

    # -- who may act -----------------------------------------------------------
    def side_of(self, org_id: str) -> str:
        return "receiver" if org_id == self.to_org else "sender"

    def act(self, action: str, *, org_id: str, by: str, reason_code: str | None = None,
            reason_text: str | None = None) -> Change:
        """A caseworker's action; raises Conflict for an illegal transition or the wrong side."""
        if action not in ACTIONS:
            raise Invalid(f"Unknown action {action!r}.")
        target, side = ACTIONS[action]
        mine = self.side_of(org_id)
        if side == "receiver" and mine != "receiver":
            raise Conflict(f"Only the receiving organisation can {action} a referral.", code="wrong-side")
        if action == "cancel" and mine == "sender" and self.status != State.REQUESTED:
            raise Conflict("The sender can cancel a referral only until it is accepted.", code="already-accepted")
        return self.transition(target, by_org=org_id, by_user=by, reason_code=reason_code, reason_text=reason_text)

    def transition(self, to: State, *, by_org: str, by_user: str | None, reason_code: str | None = None,
                   reason_text: str | None = None, at: datetime | None = None) -> Change:
        if to not in TRANSITIONS.get(self.status, set()):
            raise Conflict(f"A referral in state '{self.status.value}' cannot become '{to.value}'.",
                           code="illegal-transition", state=self.status.value)
        reasons = REASONS.get(to)
        if reasons:
            if reason_code not in reasons:
                raise Invalid(f"Moving to '{to.value}' needs a reason: one of {', '.join(reasons)}.",
                              code="reason-required")
            if reason_code == "other" and not (reason_text or "").strip():
                raise Invalid("Reason 'other' needs a text.", code="reason-text-required")
        elif reason_code:
            raise Invalid(f"Moving to '{to.value}' takes no reason code.")
        change = Change(self.id, self.status, to, reason_code, reason_text, by_org, by_user, at or now())
        self.status = to
        self.reason_code, self.reason_text = reason_code, reason_text
        self.updated_at = change.at
        if to in (State.ACCEPTED, State.REJECTED) and self.answered_at is None:
            self.answered_at = change.at
        return change

    def other_party(self) -> str:
        """The organisation whose events may change this copy: the receiver of what we sent, or the sender
        of what we received — as stored when the referral began, never as a later event claims."""
        return self.to_org if self.direction == Direction.OUTGOING else self.from_org

    def check_remote(self, by_org: str, *, to: State | None = None, receiver_only: bool = False) -> None:
        """Raise Rejected unless `by_org` is the other party and the move (a state `to`, or a receiver's
        fact such as an outcome or an escalation) is one its side may make (see ACTIONS)."""
        if by_org != self.other_party():
            raise Rejected(f"{by_org} is not the other party of referral {self.id}")
        side = self.side_of(by_org)
        if side == "sender" and (receiver_only or (to is not None and to != State.CANCELLED)):
            raise Rejected(f"the sender {by_org} cannot {to.value if to else 'record that'} on referral {self.id}")

    def apply_remote(self, to: State, *, by_org: str, reason_code: str | None, at: datetime,
                     previous: State | None = None) -> Change | None:
        """The other side's change, from its event (`previous`: the state its event says it left); None if
        it no longer applies. The caller has checked the party and the side (`check_remote`); a reason code
        that is not one of the domain's for `to` is Rejected.

        Crossings between the receiver's answer and the sender's cancellation: the receiver's answer wins,
        on both copies. At the receiver, the sender's cancellation applies only while the copy is
        requested; a cancellation that left `requested` and meets an answered copy crossed the answer and is
        ignored (any other is Rejected: the sender cancels only until acceptance). At the sender, an answer
        (accepted or rejected, from `requested`) that meets its own unanswered cancellation is applied: both
        copies end in the receiver's answer."""
        reasons = REASONS.get(to)
        if (reasons and reason_code not in reasons) or (not reasons and reason_code is not None):
            raise Rejected(f"{by_org} moved referral {self.id} to {to.value} with reason {reason_code!r}; "
                           f"the reasons for it are {', '.join(reasons) if reasons else 'none'}")
        if by_org == self.from_org and self.direction == Direction.INCOMING and to == State.CANCELLED \
                and self.status != State.REQUESTED:
            if self.status in TERMINAL or previous in (None, State.REQUESTED):
                return None  # ended here already, or crossed the receiver's answer: the answer wins
            raise Rejected(f"the sender {by_org} cannot cancel referral {self.id} from {previous.value}: it is "
                           f"{self.status.value} here, and the sender cancels only until acceptance")
        crossed = (self.direction == Direction.OUTGOING and self.status == State.CANCELLED
                   and self.answered_at is None and to in (State.ACCEPTED, State.REJECTED)
                   and previous in (None, State.REQUESTED))
        if not crossed and to not in TRANSITIONS.get(self.status, set()):
            return None
        change = Change(self.id, self.status, to, reason_code, None, by_org, None, at)
        self.status, self.reason_code, self.reason_text, self.updated_at = to, reason_code, None, at
        if to in (State.ACCEPTED, State.REJECTED) and self.answered_at is None:
            self.answered_at = at
        return change

    def note_arrival(self, arrival: str, *, at: datetime, missed: int | None, by_org: str) -> ArrivalNoted:
        """The receiver's attendance: the client `arrived` (their first attended encounter there) or did not
        (`not-arrived`: missed the first `missed` sessions they were invited to). Only the receiver says this
        (Rejected otherwise). The first `arrived` stands; an `arrived` after `not-arrived` replaces it (the
        client came later); a `not-arrived` after either changes nothing, nor does a repeat. At the receiver an
        arrival starts an accepted or held referral (a system change: by no user) and one still unanswered
        goes to its caseworker to answer; at the sender the caseworker learns either."""
        if arrival not in ARRIVALS:
            raise Rejected(f"{by_org} told arrival {arrival!r} of referral {self.id}: not one of {', '.join(ARRIVALS)}")
        if by_org != self.to_org:
            raise Rejected(f"{by_org} is not the receiver of referral {self.id}: only {self.to_org} tells whether "
                           "the client arrived")
        if self.arrival == "arrived" or (arrival == "not-arrived" and self.arrival is not None):
            return ArrivalNoted()
        self.arrival, self.missed_sessions = arrival, missed
        self.arrived_at = at if arrival == "arrived" else None
        noted = ArrivalNoted(Arrival(self.id, arrival, at, missed, by_org))
        if self.direction == Direction.OUTGOING:
            noted.notify = arrival
        elif arrival == "not-arrived":
            noted.notify = "not-arrived"
        elif self.status in ARRIVAL_STARTS:
            noted.change = self.transition(State.IN_PROGRESS, by_org=by_org, by_user=None)
        elif self.status == State.REQUESTED:
            noted.notify = "arrived-unanswered"
        return noted

    # -- data protection -------------------------------------------------------
    def binding(self) -> dict:
        """What the personal data sealed for the receiver is bound to: this referral and its two parties.
        Sealed inside the box, so that a box cannot be pasted into another referral's event."""
        return {"referral_id": str(self.id), "from_org": self.from_org, "to_org": self.to_org}

    def sealed_payload(self, personal: dict) -> dict:
        """What the sender seals for the receiver: the disclosed fields with their binding."""
        return {"bound": self.binding(), "personal": personal}

    def person_for_reporting(self) -> dict:
        """What the sender seals for regional reporting only: the person key with the same binding, so that
        reporting can count a young person once across organisations, and no one else can read or link it."""
        if not self.pathway_key:
            raise Invalid("A referral needs its client's pathway key.")
        return {"bound": self.binding(), "pathway_key": self.pathway_key}

    def restrict(self) -> bool:
        """Consent withdrawn: the receiver stops holding the disclosed personal data."""
        if self.personal is None and self.restricted_at is not None:
            return False
        self.personal = None
        self.pathway_key = None  # computed from the disclosed identity code: it goes with it
        self.restricted_at = now()
        return True

    # -- what the events say ---------------------------------------------------
    def facts(self) -> dict:
        """What every lifecycle event carries: enough for reporting, never a name or identity code."""
        return {"referral_id": str(self.id), "from_org": self.from_org, "to_org": self.to_org,
                "service_id": str(self.service_id), "age_band": self.age_band, "gender": self.gender}

    def requested_event(self, sealed: str | None, person: str) -> dict:
        """`sealed`: the box for the receiver (sealed_payload); `person`: the box for reporting
        (person_for_reporting). No person key in plain text."""
        d = {**self.facts(), "requested_at": iso(self.requested_at), "categories": self.categories,
             "person": person}
        if self.consent_id:
            d["consent_id"] = str(self.consent_id)
        if sealed:
            d["sealed"] = sealed
        return d

    def received_event(self) -> dict:
        return {"referral_id": str(self.id), "from_org": self.from_org, "to_org": self.to_org,
                "received_at": iso(self.received_at)}

    def change_event(self, change: Change) -> tuple[str, dict]:
        """(event name, data) for a state change."""
        d = {**self.facts(), "by_org": change.by_org, "state": change.to_state.value, "at": iso(change.at)}
        if change.from_state:
            d["previous_state"] = change.from_state.value
        if change.reason_code:
            d["reason_code"] = change.reason_code
        name = {State.ACCEPTED: "referral.accepted", State.REJECTED: "referral.rejected",
                State.CANCELLED: "referral.cancelled"}.get(change.to_state, "referral.status-changed")
        return name, d


def unseal_personal(opened, *, referral_id: str, signer: str, receiver: str) -> dict:
    """The disclosed fields of an opened box, if it is bound to this referral (`referral_id` as the event
    names it), from `signer` (who signed the event) to `receiver` (the organisation opening it); otherwise
    Rejected: data sealed for another referral is refused, never stored."""
    expected = {"referral_id": referral_id, "from_org": signer, "to_org": receiver}
    bound = opened.get("bound") if isinstance(opened, dict) else None
    if bound != expected:
        got = {k: bound.get(k) for k in expected} if isinstance(bound, dict) else None
        raise Rejected(f"the sealed data of referral {referral_id} is bound to {got}, not to {expected}")
    personal = opened.get("personal")
    if not isinstance(personal, dict):
        raise Rejected(f"the sealed data of referral {referral_id} holds no personal data object")
    return personal


@dataclass
class Outcome:
    id: uuid.UUID
    referral_id: uuid.UUID
    point: str
    outcome: str
    detail: str | None
    by_org: str
    recorded_by: str | None
    recorded_at: datetime

    @classmethod
    def record(cls, referral: Referral, *, point: str, outcome: str, detail: str | None, org_id: str,
               by: str) -> "Outcome":
        if point not in OUTCOME_POINTS:
            raise Invalid(f"point must be one of {', '.join(OUTCOME_POINTS)}.")
        if outcome not in OUTCOMES:
            raise Invalid(f"outcome must be one of {', '.join(OUTCOMES)}.")
        if outcome == "other" and not (detail or "").strip():
            raise Invalid("Outcome 'other' needs a detail text.", code="detail-required")
        if point == "completion" and referral.status not in (State.COMPLETED, State.FAILED):
            raise Conflict("The completion outcome is recorded when the referral is completed or failed.",
                           code="not-completed")
        if point != "completion" and referral.status not in TERMINAL - {State.REJECTED, State.CANCELLED}:
            raise Conflict("Follow-ups are recorded after the pathway has ended.", code="not-completed")
        return cls(uuid.uuid4(), referral.id, point, outcome, detail, org_id, by, now())

    def event(self, referral: Referral) -> dict:
        return {**referral.facts(), "by_org": self.by_org, "outcome_id": str(self.id), "point": self.point,
                "outcome": self.outcome, "recorded_at": iso(self.recorded_at)}
