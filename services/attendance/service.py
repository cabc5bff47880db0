"""Attendance use cases."""
from services.kernel.auth import Actor

from .domain import Encounter


def record_encounter(uow_factory, actor: Actor, **fields) -> Encounter:
    with uow_factory() as uow:
        e = Encounter.record(organization_id=actor.org_id, by=actor.username, **fields)
        uow.encounters.add(e)
        uow.outbox.add("attendance.encounter-recorded.v1", str(e.id), e.recorded_event())
        uow.commit()
    return e


def list_encounters(uow_factory) -> list[Encounter]:
    with uow_factory() as uow:
        return uow.encounters.list()
