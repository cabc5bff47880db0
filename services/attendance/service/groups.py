"""Group use cases: groups of a catalogue service, their participants, sessions and attendance marks."""
from __future__ import annotations

from datetime import date, datetime, timezone

from services.kernel.auth import Actor
from services.kernel.errors import Conflict, Invalid, NotFound

from ..domain import Group, Session, enrol, leave
from .clients import link_referral_in
from .common import AttendanceConfig, check_place, know_client, local_day, observe_links


def create_group(uow_factory, actor: Actor, fields: dict) -> Group:
    with uow_factory() as uow:
        check_place(uow, fields["service_id"], fields.get("location_id"))
        g = Group.create(organization_id=actor.org_id, by=actor.username, **fields)
        uow.groups.add(g)
        uow.commit()
    return g


def list_groups(uow_factory, *, service_id=None, active_on: date | None = None) -> list[Group]:
    with uow_factory() as uow:
        return uow.groups.list(service_id=service_id, active_on=active_on)


def get_group(uow_factory, actor: Actor, group_id, *, purpose: str = "casework", logged_as="group.read") -> dict:
    """A group with its participants and sessions: who takes part is client data, a read each."""
    with uow_factory() as uow:
        g = uow.groups.get(group_id)
        participants = uow.groups.participants(group_id)
        sessions = uow.sessions.of_group(group_id)
        marks = uow.sessions.marks_of_group(group_id)
        uow.access_log.record_each(actor, [f"client:{p.client_id}" for p in participants], logged_as, purpose)
        uow.commit()
    return {"group": g, "participants": participants, "sessions": sessions, "marks": marks}


def enrol_client(uow_factory, actor: Actor, group_id, client_id, *, on: date | None = None, referral_id=None,
                 directory=None, purpose: str = "casework"):
    """A registered client joins; with `referral_id`, the client came by that referral (the loop closes
    at their first attended session)."""
    with uow_factory() as uow:
        g = uow.groups.get(group_id)
        know_client(uow, directory, actor, client_id, purpose)
        participants = uow.groups.participants(group_id, lock=True)
        p = enrol(g, participants, client_id, on=on or local_day(datetime.now(timezone.utc)), by=actor.username)
        uow.groups.save_participant(p)
        if referral_id is not None:
            link_referral_in(uow, actor, client_id, referral_id)
        uow.access_log.record(actor, f"client:{client_id}", "group.enrol", purpose)
        uow.commit()
    return p


def remove_participant(uow_factory, actor: Actor, group_id, client_id, *, on: date | None = None,
                       purpose: str = "casework"):
    with uow_factory() as uow:
        uow.groups.get(group_id)
        p = next((x for x in uow.groups.participants(group_id, lock=True) if x.client_id == client_id), None)
        if p is None:
            raise NotFound("The client is not in this group.", code="not-a-participant")
        leave(p, on=on or local_day(datetime.now(timezone.utc)))
        uow.groups.save_participant(p)
        uow.access_log.record(actor, f"client:{client_id}", "group.leave", purpose)
        uow.commit()
    return p


def plan_session(uow_factory, actor: Actor, group_id, fields: dict) -> Session:
    with uow_factory() as uow:
        g = uow.groups.get(group_id)
        if fields.get("location_id"):
            check_place(uow, g.service_id, fields["location_id"])
        s = Session.plan(g, by=actor.username, **fields)
        uow.sessions.add(s)
        uow.commit()
    return s


def list_sessions(uow_factory, group_id) -> list[Session]:
    with uow_factory() as uow:
        uow.groups.get(group_id)
        return uow.sessions.of_group(group_id)


def get_session(uow_factory, actor: Actor, session_id, *, purpose: str = "casework",
                logged_as="session.read") -> dict:
    """A session's attendance list: everyone enrolled on its day with their mark (or none yet)."""
    with uow_factory() as uow:
        s = uow.sessions.get(session_id)
        g = uow.groups.get(s.group_id)
        day = local_day(s.starts_at)
        enrolled = [p for p in uow.groups.participants(g.id) if p.active_on(day)]
        marks = {m.client_id: m for m in uow.sessions.marks(session_id)}
        uow.access_log.record_each(actor, [f"client:{p.client_id}" for p in enrolled], logged_as, purpose)
        uow.commit()
    return {"session": s, "group": g, "enrolled": enrolled, "marks": marks}


def take_attendance(uow_factory, actor: Actor, session_id, marks: dict, *, guests: int | None,
                    config: AttendanceConfig, purpose: str = "casework") -> dict:
    """Marks for everyone enrolled ({client_id: (mark, excuse_reason)}) and the guests; the session is held.
    Saving the same marks again changes nothing; a client's new or changed mark is what the referral loop
    observes (a correction from absent to attended still tells the sender of the arrival)."""
    with uow_factory() as uow:
        s = uow.sessions.get(session_id, for_update=True)
        g = uow.groups.get(s.group_id)
        enrolled = uow.groups.participants(g.id)
        new_marks = s.take_attendance(enrolled, marks, guests=guests, by=actor.username)
        before = uow.sessions.replace_marks(s.id, new_marks)
        for m in new_marks:
            was = before.get(m.client_id)
            if was is None or (was.mark != "attended" and m.mark == "attended"):
                observe_links(uow, config, m.client_id, attended=m.attended, at=s.starts_at, kind="group-session",
                              missed=m.mark == "absent")
        uow.sessions.save(s)
        uow.access_log.record_each(actor, [f"client:{m.client_id}" for m in new_marks], "session.attendance",
                                   purpose)
        uow.outbox.add("attendance.session-recorded.v1", str(s.id), s.recorded_event(g, new_marks))
        uow.commit()
    return {"session": s, "group": g, "marks": {m.client_id: m for m in new_marks}}


def cancel_session(uow_factory, actor: Actor, session_id) -> Session:
    with uow_factory() as uow:
        s = uow.sessions.get(session_id, for_update=True)
        g = uow.groups.get(s.group_id)
        if s.status == "cancelled":
            raise Conflict("The session is cancelled already.", code="session-cancelled")
        s.cancel()
        uow.sessions.save(s)
        uow.outbox.add("attendance.session-recorded.v1", str(s.id), s.recorded_event(g, []))
        uow.commit()
    return s


def parse_marks(rows: list[dict]) -> dict:
    """[{client_id, mark, excuse_reason?}] as the API takes them -> {client_id: (mark, reason)}."""
    out = {}
    for r in rows:
        if r["client_id"] in out:
            raise Invalid("A participant is marked once per session.", code="duplicate-mark")
        out[r["client_id"]] = (r["mark"], r.get("excuse_reason"))
    return out
