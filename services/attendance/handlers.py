"""Attendance reads two things from the bus: its own organisation's catalogue services (the services and places
an encounter is recorded at) and the referrals addressed to its organisation (the ones a client can be linked
to, so that the loop closes). Both as their signers' events say, checked against who may say it."""
from __future__ import annotations

import uuid
from datetime import datetime

from services.kernel.consumer import Handlers
from services.kernel.errors import Rejected
from services.kernel.events import keyed_by

from .domain import IncomingReferral

handlers = Handlers()
T = "fi.yhdistamo."


@handlers.on(T + "catalogue.service-published.v2")
def service_published(uow, event):
    if event.org != uow.org_id:
        return  # another organisation's service: encounters here are at our own services only
    keyed_by(event, "service_id")
    d = event.data
    locations = [{"id": loc["id"], "name": loc["name"]} for loc in d.get("locations", [])]
    uow.services.apply(dict(service_id=d["service_id"], organization_id=event.org, name=d["service"]["name"],
                            locations=locations, status=d["status"], version=d["version"]))


@handlers.on(T + "catalogue.service-withdrawn.v1")
def service_withdrawn(uow, event):
    if event.org != uow.org_id:
        return
    keyed_by(event, "service_id")
    d = event.data
    uow.services.apply(dict(service_id=d["service_id"], organization_id=event.org, name={}, locations=[],
                            status="withdrawn", version=d["version"]))


@handlers.on(T + "referral.requested.v2")
def referral_requested(uow, event):
    """Only what the loop needs: who sent it, to which service, the age band. The sealed data is not ours."""
    d = event.data
    if d["to_org"] != uow.org_id:
        return
    held = uow.referrals.incoming(d["referral_id"])
    if held is not None and held.from_org != event.org:
        raise Rejected(f"{event.org} sent referral {d['referral_id']}, but it came here from {held.from_org}")
    uow.referrals.store_incoming(IncomingReferral(uuid.UUID(d["referral_id"]), event.org, uuid.UUID(d["service_id"]),
                                                  d["age_band"], _time(d["requested_at"])))


def referral_state(uow, event):
    """The referral's state as its parties move it: the sender may only cancel, our own referrals service
    answers and runs it. Anyone else is refused."""
    d = event.data
    if d["to_org"] != uow.org_id:
        return
    held = uow.referrals.incoming(d["referral_id"])
    if held is None:
        if event.org == uow.org_id:
            return  # our referrals answers one this instance never saw requested (it joined later)
        raise Rejected(f"{event.org} moved referral {d['referral_id']}, which was never sent here")
    if event.org not in (held.from_org, uow.org_id):
        raise Rejected(f"{event.org} is not a party of referral {held.referral_id}")
    if event.org == held.from_org and d["state"] != "cancelled":
        raise Rejected(f"the sender {event.org} cannot move referral {held.referral_id} to {d['state']}")
    if d["from_org"] != held.from_org:
        raise Rejected(f"the event names {d['from_org']} as the sender of referral {held.referral_id}, "
                       f"which came from {held.from_org}")
    if event.org == held.from_org and held.status != "requested":
        return  # the sender cancels only until acceptance: a later one crossed the answer, which wins (as in referrals)
    uow.referrals.set_status(held.referral_id, d["state"])


for _name in ("referral.accepted", "referral.rejected", "referral.cancelled", "referral.status-changed"):
    handlers.on(f"{T}{_name}.v2")(referral_state)


def _time(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))
