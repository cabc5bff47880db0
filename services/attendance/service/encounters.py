"""Encounter use cases: record (a tally tap too), undo, list, today's tally."""
from __future__ import annotations

from datetime import datetime, timezone

from services.kernel.auth import Actor, Role
from services.kernel.errors import Forbidden

from ..domain import Encounter
from .common import (AttendanceConfig, check_partners, check_place, know_client, local_day, observe_links,
                     person_box, start_of_local_day)

CONFIG = AttendanceConfig()


def record_encounter(uow_factory, actor: Actor, fields: dict, *, directory=None, config: AttendanceConfig = CONFIG,
                     idempotency_key: str | None = None, purpose: str = "casework") -> tuple[Encounter, bool]:
    """(encounter, created). With an idempotency key already used by this user: the encounter stored then,
    and nothing is counted or announced twice."""
    fields = dict(fields)
    with uow_factory() as uow:
        client_id = fields.get("client_id")
        check_place(uow, fields.get("service_id"), fields.get("location_id"))
        check_partners(uow, fields.get("partner_orgs") or [])
        e = Encounter.record(organization_id=actor.org_id, by=actor.username, idempotency_key=idempotency_key,
                             **{k: v for k, v in fields.items() if k != "kind" and k != "occurred_at"},
                             kind=fields["kind"], occurred_at=fields["occurred_at"])
        if client_id is not None:
            ref = know_client(uow, directory, actor, client_id, purpose)
            e.age_band, e.gender = ref["age_band"], ref["gender"]
        stored = uow.encounters.add(e)
        if stored.id != e.id:  # the same tap again: what was stored then (a read of the client's, if any)
            if stored.client_id is not None:
                uow.access_log.record(actor, f"client:{stored.client_id}", "encounter.read", purpose)
                uow.commit()
            return stored, False
        if client_id is not None:
            e.referral_id = observe_links(uow, config, client_id, attended=e.attended, at=e.occurred_at,
                                          kind=e.kind, missed=e.status == "missed")
            if e.referral_id:
                uow.encounters.set_referral(e.id, e.referral_id)
            if e.kind == "guidance":
                uow.guidance.begin(client_id, local_day(e.occurred_at), e.worker)
            uow.access_log.record(actor, f"client:{client_id}", "encounter.record", purpose)
        data = e.recorded_event()
        box = person_box(uow, {"organization_id": e.organization_id, "encounter_id": str(e.id)},
                         client=client_id) if client_id else None
        if box:
            data["person"] = box
        uow.outbox.add("attendance.encounter-recorded.v2", str(e.id), data)
        uow.commit()
    return e, True


def void_encounter(uow_factory, actor: Actor, encounter_id, *, purpose: str = "casework") -> Encounter:
    """Undo an entry: its recorder may, or a manager. Announced, so reporting no longer counts it."""
    with uow_factory() as uow:
        e = uow.encounters.get(encounter_id, for_update=True)
        if e.recorded_by != actor.username and actor.role not in (Role.MANAGER, Role.ADMIN):
            raise Forbidden("Only the worker who recorded it, or a manager, can undo an entry.", code="not-yours")
        e.void(by=actor.username)
        uow.encounters.save_void(e)
        if e.client_id:
            uow.access_log.record(actor, f"client:{e.client_id}", "encounter.void", purpose)
        uow.outbox.add("attendance.encounter-voided.v1", str(e.id), e.voided_event())
        uow.commit()
    return e


def list_encounters(uow_factory, actor: Actor, *, purpose: str = "casework", **filters) -> tuple[list[Encounter], int]:
    """A listed encounter with a registered client is a read of that client's data: a row each."""
    with uow_factory() as uow:
        items, total = uow.encounters.list(**filters)
        clients = [f"client:{e.client_id}" for e in items if e.client_id]
        if clients or filters.get("client_id"):
            uow.access_log.record_each(actor, clients or [f"client:{filters['client_id']}"], "encounter.list",
                                       purpose)
        uow.commit()
    return items, total


def tally(uow_factory, actor: Actor, service_id=None) -> dict:
    """Today's drop-in visitors (Finnish day), by age band and gender, and this worker's last tap (to undo)."""
    today = local_day(datetime.now(timezone.utc))
    with uow_factory() as uow:
        return {"day": today, **uow.encounters.tally(recorded_by=actor.username, since=start_of_local_day(today),
                                                     service_id=service_id)}


def own_services(uow_factory) -> list[dict]:
    """The organisation's active catalogue services and their places, as its catalogue announced them."""
    with uow_factory() as uow:
        return uow.services.all()
