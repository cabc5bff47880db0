"""Referral use cases: one function per user action, each one transaction."""
from services.kernel.auth import Actor
from services.kernel.errors import Invalid

from .domain import Referral


def send_referral(uow_factory, actor: Actor, service_id, age_band: str, note: str | None) -> Referral:
    with uow_factory() as uow:
        target = uow.targets.get_active(service_id)
        referral = Referral.send(from_org=actor.org_id, to_org=target["organization_id"], service_id=service_id,
                                 age_band=age_band, note=note, by=actor.username)
        uow.referrals.add(referral)
        uow.outbox.add("referral.requested", str(referral.id), referral.requested_event(),
                       extensions={"recipient": referral.to_org})
        uow.commit()
    return referral


def get_referral(uow_factory, actor: Actor, referral_id) -> Referral:
    with uow_factory() as uow:
        return uow.referrals.get(referral_id)


def list_referrals(uow_factory, actor: Actor, direction: str | None) -> list[Referral]:
    if direction not in (None, "incoming", "outgoing"):
        raise Invalid("direction must be 'incoming' or 'outgoing'.")
    with uow_factory() as uow:
        return uow.referrals.list(direction)


def list_targets(uow_factory) -> list[dict]:
    with uow_factory() as uow:
        return uow.targets.list()
