"""Referrals event handlers: the service-target read model, incoming referrals, delivery receipts."""
from datetime import datetime

from services.kernel.consumer import Handlers

from .domain import Referral

handlers = Handlers()


@handlers.on("fi.yhdistamo.catalogue.service-published.v1")
def target_published(uow, event):
    d = event.data
    uow.targets.apply(dict(service_id=d["service_id"], organization_id=event.org, name_fi=d["name"]["fi"],
                           category=d.get("category"), status=d["status"], version=d["version"]))


@handlers.on("fi.yhdistamo.catalogue.service-withdrawn.v1")
def target_withdrawn(uow, event):
    d = event.data
    uow.targets.apply(dict(service_id=d["service_id"], organization_id=event.org, name_fi="",
                           category=None, status="withdrawn", version=d["version"]))


@handlers.on("fi.yhdistamo.referral.requested.v1")
def referral_requested(uow, event):
    if event.data["to_org"] != uow.org_id:
        return  # addressed to another organisation
    referral = Referral.incoming(event.data)
    if uow.referrals.add(referral):
        uow.outbox.add("referral.received", str(referral.id), referral.received_event(),
                       extensions={"recipient": referral.from_org})


@handlers.on("fi.yhdistamo.referral.received.v1")
def referral_received(uow, event):
    if event.data["from_org"] != uow.org_id:
        return
    uow.referrals.mark_received(event.data["referral_id"],
                                datetime.fromisoformat(event.data["received_at"].replace("Z", "+00:00")))
