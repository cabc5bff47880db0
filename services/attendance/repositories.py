"""Repositories of the attendance database, and its unit of work."""
from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.kernel.db import UnitOfWork, upsert_newer
from services.kernel.errors import NotFound

from . import tables as t
from .domain import Encounter, Followed, Group, IncomingReferral, Mark, Measurement, Participant, ReferralLink, Session

_ENC = [c.name for c in t.encounter.columns]


class Encounters:
    def __init__(self, conn):
        self.conn = conn

    def add(self, e: Encounter) -> Encounter:
        """Insert, or with an idempotency key seen before from the same user: the encounter stored then
        (a tap repeated after a dropped connection is counted once)."""
        row = {c: getattr(e, c) for c in _ENC}
        if e.idempotency_key is None:
            self.conn.execute(insert(t.encounter), row)
            return e
        stored = self.conn.execute(pg_insert(t.encounter).values(row).on_conflict_do_nothing(
            constraint="encounter_idempotency").returning(t.encounter.c.id)).first()
        if stored is not None:
            return e
        return self._one(and_(t.encounter.c.recorded_by == e.recorded_by,
                              t.encounter.c.idempotency_key == e.idempotency_key))

    def _one(self, where, lock: bool = False) -> Encounter:
        q = select(t.encounter).where(where)
        row = self.conn.execute(q.with_for_update() if lock else q).first()
        if row is None:
            raise NotFound("No such encounter.")
        return _encounter(row)

    def get(self, encounter_id, *, for_update: bool = False) -> Encounter:
        return self._one(t.encounter.c.id == encounter_id, for_update)

    def set_referral(self, encounter_id, referral_id) -> None:
        self.conn.execute(update(t.encounter).where(t.encounter.c.id == encounter_id).values(referral_id=referral_id))

    def save_void(self, e: Encounter) -> None:
        self.conn.execute(update(t.encounter).where(t.encounter.c.id == e.id)
                          .values(voided_at=e.voided_at, voided_by=e.voided_by))

    def list(self, *, kind=None, client_id=None, service_id=None, location_id=None, since=None, until=None,
             recorded_by=None, include_voided=False, limit=100, offset=0) -> tuple[list[Encounter], int]:
        c = t.encounter.c
        conds = [] if include_voided else [c.voided_at.is_(None)]
        for col, value in ((c.kind, kind), (c.client_id, client_id), (c.service_id, service_id),
                           (c.location_id, location_id), (c.recorded_by, recorded_by)):
            if value is not None:
                conds.append(col == value)
        if since is not None:
            conds.append(c.occurred_at >= since)
        if until is not None:
            conds.append(c.occurred_at < until)
        where = and_(True, *conds)
        total = self.conn.execute(select(func.count()).select_from(t.encounter).where(where)).scalar_one()
        rows = self.conn.execute(select(t.encounter).where(where).order_by(c.occurred_at.desc(), c.id)
                                 .limit(limit).offset(offset))
        return [_encounter(r) for r in rows], total

    def tally(self, *, recorded_by: str, since: datetime, service_id=None) -> dict:
        """Drop-in visitors counted since `since` (today's tally): total, by age band, by gender."""
        c = t.encounter.c
        conds = [c.kind == "drop-in", c.voided_at.is_(None), c.occurred_at >= since]
        if service_id is not None:
            conds.append(c.service_id == service_id)
        rows = self.conn.execute(select(c.age_band, c.gender, func.sum(c.count)).where(*conds)
                                 .group_by(c.age_band, c.gender)).all()
        by_age, by_gender = {}, {}
        for age, gender, n in rows:
            by_age[age] = by_age.get(age, 0) + n
            by_gender[gender] = by_gender.get(gender, 0) + n
        last = self.conn.execute(select(t.encounter).where(*conds, c.recorded_by == recorded_by)
                                 .order_by(c.recorded_at.desc()).limit(1)).first()
        return {"total": sum(by_age.values()), "by_age_band": by_age, "by_gender": by_gender,
                "last": _encounter(last) if last else None}


def _encounter(row) -> Encounter:
    m = dict(row._mapping)
    m["matters"], m["partner_orgs"] = list(m["matters"] or []), list(m["partner_orgs"] or [])
    return Encounter(**m)


class Groups:
    def __init__(self, conn):
        self.conn = conn

    def add(self, g: Group) -> None:
        self.conn.execute(insert(t.client_group), g.__dict__)

    def get(self, group_id) -> Group:
        row = self.conn.execute(select(t.client_group).where(t.client_group.c.id == group_id)).first()
        if row is None:
            raise NotFound("No such group.")
        return Group(**row._mapping)

    def list(self, *, service_id=None, active_on: date | None = None) -> list[Group]:
        c = t.client_group.c
        q = select(t.client_group).order_by(c.starts_on.desc(), c.name)
        if service_id is not None:
            q = q.where(c.service_id == service_id)
        if active_on is not None:
            q = q.where(c.starts_on <= active_on, or_(c.ends_on.is_(None), c.ends_on >= active_on))
        return [Group(**r._mapping) for r in self.conn.execute(q)]

    def participants(self, group_id, *, lock: bool = False) -> list[Participant]:
        q = select(t.group_participant).where(t.group_participant.c.group_id == group_id) \
            .order_by(t.group_participant.c.enrolled_on)
        return [Participant(**r._mapping) for r in self.conn.execute(q.with_for_update() if lock else q)]

    def save_participant(self, p: Participant) -> None:
        values = dict(p.__dict__)
        self.conn.execute(pg_insert(t.group_participant).values(values).on_conflict_do_update(
            index_elements=["group_id", "client_id"],
            set_={k: v for k, v in values.items() if k not in ("group_id", "client_id")}))

    def groups_of(self, client_id) -> list[tuple[Group, Participant]]:
        rows = self.conn.execute(select(t.client_group, t.group_participant.c.enrolled_on,
                                        t.group_participant.c.left_on, t.group_participant.c.enrolled_by)
                                 .join(t.group_participant, t.group_participant.c.group_id == t.client_group.c.id)
                                 .where(t.group_participant.c.client_id == client_id))
        out = []
        for r in rows:
            m = dict(r._mapping)
            p = Participant(m["id"], client_id, m.pop("enrolled_on"), m.pop("left_on"), m.pop("enrolled_by"))
            out.append((Group(**m), p))
        return out


class Sessions:
    def __init__(self, conn):
        self.conn = conn

    def add(self, s: Session) -> None:
        self.conn.execute(insert(t.group_session), s.__dict__)

    def get(self, session_id, *, for_update: bool = False) -> Session:
        q = select(t.group_session).where(t.group_session.c.id == session_id)
        row = self.conn.execute(q.with_for_update() if for_update else q).first()
        if row is None:
            raise NotFound("No such session.")
        return Session(**row._mapping)

    def save(self, s: Session) -> None:
        self.conn.execute(update(t.group_session).where(t.group_session.c.id == s.id)
                          .values(status=s.status, guests=s.guests, version=s.version))

    def of_group(self, group_id) -> list[Session]:
        q = select(t.group_session).where(t.group_session.c.group_id == group_id) \
            .order_by(t.group_session.c.starts_at)
        return [Session(**r._mapping) for r in self.conn.execute(q)]

    def marks(self, session_id) -> list[Mark]:
        q = select(t.session_mark).where(t.session_mark.c.session_id == session_id)
        return [Mark(**r._mapping) for r in self.conn.execute(q)]

    def marks_of_group(self, group_id) -> list[Mark]:
        q = select(t.session_mark).join(t.group_session, t.group_session.c.id == t.session_mark.c.session_id) \
            .where(t.group_session.c.group_id == group_id)
        return [Mark(**r._mapping) for r in self.conn.execute(q)]

    def replace_marks(self, session_id, marks: list[Mark]) -> dict:
        """Store the session's marks; returns the marks it had before, by client."""
        before = {m.client_id: m for m in self.marks(session_id)}
        self.conn.execute(t.session_mark.delete().where(t.session_mark.c.session_id == session_id))
        if marks:
            self.conn.execute(insert(t.session_mark), [m.__dict__ for m in marks])
        return before

    def of_client(self, client_id) -> list[tuple[Session, Mark, str, uuid.UUID]]:
        """The sessions the client has a mark in: (session, mark, group name, service id)."""
        rows = self.conn.execute(
            select(t.group_session, t.session_mark.c.mark, t.session_mark.c.excuse_reason,
                   t.session_mark.c.marked_by, t.session_mark.c.marked_at, t.client_group.c.name.label("group_name"),
                   t.client_group.c.service_id.label("group_service"))
            .join(t.session_mark, t.session_mark.c.session_id == t.group_session.c.id)
            .join(t.client_group, t.client_group.c.id == t.group_session.c.group_id)
            .where(t.session_mark.c.client_id == client_id).order_by(t.group_session.c.starts_at))
        out = []
        for r in rows:
            m = dict(r._mapping)
            mark = Mark(m["id"], client_id, m.pop("mark"), m.pop("excuse_reason"), m.pop("marked_by"),
                        m.pop("marked_at"))
            name, service = m.pop("group_name"), m.pop("group_service")
            out.append((Session(**m), mark, name, service))
        return out


class Referrals:
    """Incoming referrals (from their senders' events) and the links of this organisation's clients to them."""

    def __init__(self, conn):
        self.conn = conn

    def store_incoming(self, r: IncomingReferral) -> None:
        values = dict(r.__dict__, updated_at=datetime.now().astimezone())
        self.conn.execute(pg_insert(t.incoming_referral).values(values).on_conflict_do_nothing())

    def set_status(self, referral_id, status: str) -> bool:
        return bool(self.conn.execute(update(t.incoming_referral).where(t.incoming_referral.c.referral_id == referral_id)
                                      .values(status=status, updated_at=datetime.now().astimezone())
                                      .returning(t.incoming_referral.c.referral_id)).first())

    def incoming(self, referral_id) -> IncomingReferral | None:
        row = self.conn.execute(select(t.incoming_referral)
                                .where(t.incoming_referral.c.referral_id == referral_id)).first()
        return None if row is None else IncomingReferral(**{k: v for k, v in row._mapping.items()
                                                            if k != "updated_at"})

    def open_incoming(self, limit: int = 200) -> list[tuple[IncomingReferral, ReferralLink | None]]:
        """Referrals to this organisation not rejected or cancelled, newest first, with their links."""
        q = select(t.incoming_referral).where(t.incoming_referral.c.status.notin_(("rejected", "cancelled"))) \
            .order_by(t.incoming_referral.c.requested_at.desc()).limit(limit)
        items = [IncomingReferral(**{k: v for k, v in r._mapping.items() if k != "updated_at"})
                 for r in self.conn.execute(q)]
        links = {l.referral_id: l for l in self.links_for([i.referral_id for i in items])}
        return [(i, links.get(i.referral_id)) for i in items]

    def links_for(self, referral_ids) -> list[ReferralLink]:
        if not referral_ids:
            return []
        q = select(t.referral_link).where(t.referral_link.c.referral_id.in_(list(referral_ids)))
        return [ReferralLink(**r._mapping) for r in self.conn.execute(q)]

    def link(self, referral_id, *, for_update: bool = False) -> ReferralLink | None:
        q = select(t.referral_link).where(t.referral_link.c.referral_id == referral_id)
        row = self.conn.execute(q.with_for_update() if for_update else q).first()
        return None if row is None else ReferralLink(**row._mapping)

    def links_of(self, client_id, *, for_update: bool = False) -> list[ReferralLink]:
        q = select(t.referral_link).where(t.referral_link.c.client_id == client_id) \
            .order_by(t.referral_link.c.linked_at)
        return [ReferralLink(**r._mapping) for r in self.conn.execute(q.with_for_update() if for_update else q)]

    def save_link(self, link: ReferralLink) -> None:
        values = dict(link.__dict__)
        self.conn.execute(pg_insert(t.referral_link).values(values).on_conflict_do_update(
            index_elements=["referral_id"], set_={k: v for k, v in values.items() if k != "referral_id"}))


class Guidance:
    def __init__(self, conn):
        self.conn = conn

    def begin(self, client_id, since: date, worker: str) -> bool:
        """The client is in individual guidance from `since` (kept if already in it)."""
        row = self.conn.execute(select(t.guidance).where(t.guidance.c.client_id == client_id).with_for_update()).first()
        if row is not None and row.ended_on is None:
            return False
        values = dict(client_id=client_id, since=since, worker=worker, ended_on=None, ended_by=None)
        self.conn.execute(pg_insert(t.guidance).values(values).on_conflict_do_update(
            index_elements=["client_id"], set_={k: v for k, v in values.items() if k != "client_id"}))
        return True

    def end(self, client_id, on: date, by: str) -> bool:
        return bool(self.conn.execute(update(t.guidance).where(t.guidance.c.client_id == client_id,
                                                               t.guidance.c.ended_on.is_(None))
                                      .values(ended_on=on, ended_by=by).returning(t.guidance.c.client_id)).first())

    def get(self, client_id) -> dict | None:
        row = self.conn.execute(select(t.guidance).where(t.guidance.c.client_id == client_id)).first()
        return None if row is None else dict(row._mapping)

    def followed(self) -> list[Followed]:
        """Everyone in guidance now, with their latest attended contact and the misses after it."""
        e, m, s = t.encounter.c, t.session_mark.c, t.group_session.c
        met = select(e.client_id.label("client_id"), e.occurred_at.label("at"),
                     or_(e.status.is_(None), e.status == "attended").label("came")) \
            .where(e.client_id.is_not(None), e.voided_at.is_(None))
        marked = select(m.client_id.label("client_id"), s.starts_at.label("at"), (m.mark == "attended").label("came")) \
            .join(t.group_session, s.id == m.session_id)
        contacts = met.union_all(marked).subquery()
        last = select(contacts.c.client_id, func.max(contacts.c.at).label("last")) \
            .where(contacts.c.came).group_by(contacts.c.client_id).subquery()
        misses = select(contacts.c.client_id, func.count().label("n")) \
            .select_from(contacts.outerjoin(last, last.c.client_id == contacts.c.client_id)) \
            .where(~contacts.c.came, or_(last.c.last.is_(None), contacts.c.at > last.c.last)) \
            .group_by(contacts.c.client_id).subquery()
        g = t.guidance.c
        rows = self.conn.execute(select(g.client_id, g.since, g.worker, last.c.last, misses.c.n)
                                 .outerjoin(last, last.c.client_id == g.client_id)
                                 .outerjoin(misses, misses.c.client_id == g.client_id)
                                 .where(g.ended_on.is_(None)))
        return [Followed(r.client_id, r.since, r.worker, r.last, r.n or 0) for r in rows]


class ClientRefs:
    def __init__(self, conn):
        self.conn = conn

    def remember(self, client_id, age_band: str, gender: str) -> None:
        values = dict(client_id=client_id, age_band=age_band, gender=gender, refreshed_at=datetime.now().astimezone())
        self.conn.execute(pg_insert(t.client_ref).values(values).on_conflict_do_update(
            index_elements=["client_id"], set_={k: v for k, v in values.items() if k != "client_id"}))

    def get(self, client_id) -> dict | None:
        row = self.conn.execute(select(t.client_ref).where(t.client_ref.c.client_id == client_id)).first()
        return None if row is None else dict(row._mapping)

    def known(self, client_id) -> bool:
        """Has attendance anything about this client (a reference, encounters, groups, measures)?"""
        return self.get(client_id) is not None


class Measurements:
    def __init__(self, conn):
        self.conn = conn

    def add(self, m: Measurement) -> None:
        self.conn.execute(insert(t.measurement), m.__dict__)

    def of_client(self, client_id, instrument: str | None = None, *, lock: bool = False) -> list[Measurement]:
        c = t.measurement.c
        q = select(t.measurement).where(c.client_id == client_id).order_by(c.measured_at, c.recorded_at)
        if instrument is not None:
            q = q.where(c.instrument == instrument)
        return [Measurement(**r._mapping) for r in self.conn.execute(q.with_for_update() if lock else q)]


class OwnServices:
    """The organisation's own catalogue services and their locations (from its catalogue's events)."""

    def __init__(self, conn):
        self.conn = conn

    def apply(self, values: dict) -> bool:
        return upsert_newer(self.conn, t.own_service, "service_id", values)

    def all(self, *, active_only: bool = True) -> list[dict]:
        q = select(t.own_service).order_by(t.own_service.c.name["fi"].astext)
        if active_only:
            q = q.where(t.own_service.c.status == "active")
        return [dict(r._mapping) for r in self.conn.execute(q)]

    def get(self, service_id) -> dict | None:
        row = self.conn.execute(select(t.own_service).where(t.own_service.c.service_id == service_id)).first()
        return None if row is None else dict(row._mapping)


class AttendanceUnitOfWork(UnitOfWork):
    def on_enter(self):
        self.encounters = Encounters(self.conn)
        self.groups = Groups(self.conn)
        self.sessions = Sessions(self.conn)
        self.referrals = Referrals(self.conn)
        self.guidance = Guidance(self.conn)
        self.client_refs = ClientRefs(self.conn)
        self.measurements = Measurements(self.conn)
        self.services = OwnServices(self.conn)
