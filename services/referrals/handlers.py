"""Referrals event handlers: service targets, incoming referrals and the other side's changes, consent withdrawals,
the receiver's attendance telling whether the client arrived."""
from __future__ import annotations

import logging
import uuid

from services.kernel.auth import system_actor
from services.kernel.consumer import Handlers
from services.kernel.errors import Rejected
from services.kernel.events import SOURCE_RE, keyed_by
from services.kernel.sealed import SealedError, open_sealed

from .domain import OUTCOME_POINTS, OUTCOMES, Change, Direction, Outcome, Referral, State, parse_time, unseal_personal


log = logging.getLogger(__name__)
# the states of a copy at which the receiver's outcome is taken: once accepted, not after a cancellation
OUTCOME_STATES = (State.ACCEPTED, State.IN_PROGRESS, State.ON_HOLD, State.COMPLETED, State.FAILED)
handlers = Handlers()
T = "fi.yhdistamo."


@handlers.on(T + "catalogue.service-published.v2")
def target_published(uow, event):
    keyed_by(event, "service_id")
    d, s = event.data, event.data["service"]
    uow.targets.apply(dict(service_id=d["service_id"], organization_id=event.org, name_fi=s["name"]["fi"],
                           categories=s["categories"], areas=s["areas"], referral_required=s["referral_required"],
                           capacity=s.get("capacity"), status=d["status"], version=d["version"]))


@handlers.on(T + "catalogue.service-withdrawn.v1")
def target_withdrawn(uow, event):
    keyed_by(event, "service_id")
    d = event.data
    uow.targets.apply(dict(service_id=d["service_id"], organization_id=event.org, name_fi="", categories=[],
                           areas=[], referral_required=None, capacity=None, status="withdrawn",
                           version=d["version"]))


@handlers.on(T + "referral.requested.v2")
def referral_requested(uow, event):
    d = event.data
    if d["to_org"] != uow.org_id:
        return  # addressed to another organisation: its sealed part is not ours to open
    personal = None
    if d.get("sealed"):
        try:
            opened = open_sealed(d["sealed"], uow.ctx.encryption_keys)
        except SealedError as e:
            raise ValueError(f"referral {d['referral_id']}: {e}") from None
        # bound to this referral, its signer and us: data pasted from another referral is refused
        personal = unseal_personal(opened, referral_id=d["referral_id"], signer=event.org, receiver=uow.org_id)
    referral = Referral.incoming(d, personal, uow.ctx.pathway_secret)
    withdrawn = referral.consent_id and uow.withdrawn.contains(referral.consent_id, referral.from_org)
    if withdrawn:
        referral.restrict()
    if not uow.referrals.add(referral):
        held = uow.referrals.find(referral.id)
        if held is not None and held.from_org != event.org:
            raise Rejected(f"{event.org} sent referral {referral.id}, but it came here from {held.from_org}")
        return
    uow.referrals.add_history(Change(referral.id, None, State.REQUESTED, None, None, event.org, None,
                                     referral.requested_at))
    uow.outbox.add("referral.received.v1", str(referral.id), referral.received_event(),
                   extensions={"recipient": referral.from_org})
    uow.notifications.add("caseworker", "incoming", referral.id)
    if withdrawn:
        uow.access_log.record(system_actor(uow.org_id), f"referral:{referral.id}", "referral.restrict",
                              "consent withdrawn before arrival")


@handlers.on(T + "referral.received.v1")
def referral_received(uow, event):
    if event.data["from_org"] != uow.org_id:
        return
    r = uow.referrals.find(event.data["referral_id"], for_update=True)
    if r is None:
        raise Rejected(f"{event.org} acknowledged referral {event.data['referral_id']} from {uow.org_id}, but "
                       "this organisation holds no such referral")
    r.check_remote(event.org, receiver_only=True)  # only its receiver acknowledges it
    if r.received_at is None:
        r.received_at = parse_time(event.data["received_at"])
        uow.referrals.save(r)


def _mine(uow, event, *, to: State | None = None, receiver_only: bool = False):
    """The referral this event is about; None if the event does not name this organisation as a party (or is
    its own). Raises Rejected (the event is parked with the reason, never applied, not recorded as consumed)
    if this organisation holds no such referral, or unless it comes from the referral's other party as
    stored here, making a move of that party's side. The parties the event's data names are not trusted."""
    d = event.data
    if uow.org_id not in (d["from_org"], d["to_org"]) or event.org == uow.org_id:
        return None
    r = uow.referrals.find(d["referral_id"], for_update=True)
    if r is None:  # parked, not consumed: the genuine event of a referral not (yet) here still applies later
        raise Rejected(f"{event.org} sent {event.type} about referral {d['referral_id']} naming "
                       f"{d['from_org']} -> {d['to_org']}, but this organisation holds no such referral")
    r.check_remote(event.org, to=to, receiver_only=receiver_only)
    if (d["from_org"], d["to_org"]) != (r.from_org, r.to_org):
        raise Rejected(f"the event names {d['from_org']} -> {d['to_org']}, referral {r.id} is "
                       f"{r.from_org} -> {r.to_org}")
    return r


def apply_state(uow, event):
    d = event.data
    r = _mine(uow, event, to=State(d["state"]))
    if r is None:
        return
    previous = State(d["previous_state"]) if d.get("previous_state") else None
    change = r.apply_remote(State(d["state"]), by_org=event.org, reason_code=d.get("reason_code"),
                            at=parse_time(d["at"]), previous=previous)
    if change is None:
        log.info("referral %s: %s from %s no longer applies in state %s", r.id, event.data["state"], event.org,
                 r.status.value)
        return
    uow.referrals.save(r)
    uow.referrals.add_history(change)
    if r.status == State.CANCELLED and r.direction.value == "incoming":
        uow.notifications.add("caseworker", "cancelled", r.id)


for _name in ("referral.accepted", "referral.rejected", "referral.cancelled", "referral.status-changed"):
    handlers.on(f"{T}{_name}.v2")(apply_state)


@handlers.on(T + "referral.outcome-recorded.v2")
def outcome_recorded(uow, event):
    r = _mine(uow, event, receiver_only=True)
    if r is None:
        return
    d = event.data
    if r.status not in OUTCOME_STATES:
        raise Rejected(f"{event.org} recorded an outcome of referral {r.id}, which is {r.status.value} here")
    if d["point"] not in OUTCOME_POINTS or d["outcome"] not in OUTCOMES:
        raise Rejected(f"{event.org} recorded outcome {d['outcome']!r} at {d['point']!r} on referral {r.id}: "
                       "not one of the known points and outcomes")
    uow.referrals.add_outcome(Outcome(uuid.UUID(d["outcome_id"]), r.id, d["point"], d["outcome"], None,
                                      event.org, None, parse_time(d["recorded_at"])))


@handlers.on(T + "referral.escalated.v2")
def referral_escalated(uow, event):
    r = _mine(uow, event, receiver_only=True)
    if r is not None and r.escalated_at is None:
        r.escalated_at = parse_time(event.data["escalated_at"])
        uow.referrals.save(r)
        uow.notifications.add("caseworker", "escalated", r.id)


@handlers.on(T + "consent.withdrawn.v2")
def consent_withdrawn(uow, event):
    """The receiver restricts the data it holds under that consent, and logs it."""
    d = event.data
    if d["recipient_org"] != uow.org_id:
        return
    held = uow.referrals.with_consent(d["consent_id"])
    theirs = [r for r in held if r.from_org == event.org]  # only a referral's sender withdraws its consent
    if held and not theirs:
        raise Rejected(f"{event.org} withdrew consent {d['consent_id']}, but sent none of the referrals under it")
    uow.withdrawn.add(d["consent_id"], event.org, parse_time(d["withdrawn_at"]))
    for r in theirs:
        if r.restrict():
            uow.referrals.save(r)
            uow.access_log.record(system_actor(uow.org_id), f"referral:{r.id}", "referral.restrict",
                                  "consent withdrawn")


@handlers.on(T + "consent.expired.v2")
def consent_expired(uow, event):
    """The receiver's caseworkers learn that new data can no longer be asked under this consent."""
    if event.data["recipient_org"] != uow.org_id:
        return
    held = uow.referrals.with_consent(event.data["consent_id"])
    theirs = [r for r in held if r.from_org == event.org]  # only a referral's sender speaks for its consent
    if held and not theirs:
        raise Rejected(f"{event.org} announced consent {event.data['consent_id']} expired, but sent none of "
                       "the referrals under it")
    for r in theirs:
        uow.notifications.add("caseworker", "consent-expired", r.id)


@handlers.on(T + "attendance.referral-arrival.v1")
def referral_arrival(uow, event):
    """The receiver's attendance tells whether the referred client came. At the receiver (its own attendance)
    an arrival starts an accepted or held referral, and the sender learns of the move as of any other; at the
    sender the caseworker learns of the arrival. Only the receiver as stored, through its attendance, says it."""
    d = event.data
    r = _own_incoming(uow, event) if event.org == uow.org_id else _mine(uow, event, receiver_only=True)
    if r is None:  # the event names this organisation as no party
        _not_held(uow, event)
        return
    service = SOURCE_RE.match(event.source)["service"]
    if service != "attendance":
        raise Rejected(f"{event.org} told the arrival of referral {r.id} from its {service!r} service; "
                       "only its attendance tells it")
    if d["service_id"] != str(r.service_id):
        raise Rejected(f"the event names service {d['service_id']}, referral {r.id} is to {r.service_id}")
    noted = r.note_arrival(d["arrival"], at=parse_time(d["at"]), missed=d.get("missed"), by_org=event.org)
    if noted.arrival is None:
        log.info("referral %s: %s from %s changes nothing, it is %s here", r.id, d["arrival"], event.org, r.arrival)
        return
    uow.referrals.save(r)
    uow.referrals.add_arrival(noted.arrival)
    if noted.change:  # a system change by the receiver: the sender hears of it as of a caseworker's
        uow.referrals.add_history(noted.change)
        name, data = r.change_event(noted.change)
        uow.outbox.add(f"{name}.v2", str(r.id), data, extensions={"recipient": r.from_org})
    if noted.notify:
        uow.notifications.add("caseworker", noted.notify, r.id)


def _own_incoming(uow, event):
    """The referral this organisation's own attendance speaks of: one it received, as the event names it."""
    d = event.data
    r = uow.referrals.find(d["referral_id"], for_update=True)
    if r is None:  # parked, not consumed: it applies once the referral is here
        raise Rejected(f"{uow.org_id}'s attendance told the arrival of referral {d['referral_id']}, but "
                       f"{uow.org_id} holds no such referral")
    if r.direction != Direction.INCOMING or r.to_org != uow.org_id:
        raise Rejected(f"{uow.org_id}'s attendance told the arrival of referral {r.id}, which {uow.org_id} sent "
                       f"({r.from_org} -> {r.to_org}): only the receiver's attendance tells it")
    if (d["from_org"], d["to_org"]) != (r.from_org, r.to_org):
        raise Rejected(f"the event names {d['from_org']} -> {d['to_org']}, referral {r.id} is "
                       f"{r.from_org} -> {r.to_org}")
    return r


def _not_held(uow, event):
    """An arrival that names this organisation as no party may still be about a referral it holds: another member
    claiming a referral between others (naming itself as the receiver, as it must to sign it) is parked."""
    d = event.data
    held = uow.referrals.find(d["referral_id"])
    if held is not None:
        raise Rejected(f"{event.org} told the arrival of referral {held.id} naming {d['from_org']} -> "
                       f"{d['to_org']}, but it is {held.from_org} -> {held.to_org}")
