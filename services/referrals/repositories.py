"""Repositories of the referrals database, and its unit of work."""
from __future__ import annotations

from sqlalchemy import and_, bindparam, case, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.kernel.db import DISPUTED, UnitOfWork, upsert_newer
from services.kernel.errors import Conflict, NotFound

from . import tables as t
from .domain import Arrival, Change, Client, Consent, Decision, Direction, Outcome, Referral, State

_REF_FIELDS = [c.name for c in t.referral.columns]
EXISTS = select(t.referral.c.id).where(t.referral.c.id == bindparam("id"))


def _referral(row) -> Referral:
    m = dict(row._mapping)
    m["direction"], m["status"] = Direction(m["direction"]), State(m["status"])
    m["categories"] = list(m["categories"] or [])
    return Referral(**m)


def _referral_row(r: Referral) -> dict:
    d = {f: getattr(r, f) for f in _REF_FIELDS}
    d["direction"], d["status"] = r.direction.value, r.status.value
    return d


class Clients:
    def __init__(self, conn):
        self.conn = conn

    def add(self, c: Client) -> None:
        exists = self.conn.execute(select(t.client.c.id).where(t.client.c.identity_code == c.identity_code)).first()
        if exists:
            raise Conflict("A client with this identity code is already registered.", code="client-exists",
                           client_id=str(exists.id))
        self.conn.execute(insert(t.client).values(**c.__dict__))

    def get(self, client_id) -> Client:
        row = self.conn.execute(select(t.client).where(t.client.c.id == client_id)).first()
        if row is None:
            raise NotFound(f"No client {client_id}.")
        return Client(**row._mapping)

    def list(self, search: str | None = None, limit: int = 50, offset: int = 0, ids=None) -> list[Client]:
        q = select(t.client).order_by(t.client.c.name, t.client.c.id).limit(limit).offset(offset)
        if search:
            q = q.where(or_(t.client.c.name.ilike(f"%{search}%"), t.client.c.identity_code == search.upper()))
        if ids is not None:
            q = q.where(t.client.c.id.in_(list(ids)))
        return [Client(**r._mapping) for r in self.conn.execute(q)]


class Consents:
    def __init__(self, conn):
        self.conn = conn

    def add(self, c: Consent) -> None:
        d = dict(c.__dict__)
        d["decision"] = c.decision.value
        self.conn.execute(insert(t.consent).values(**d))

    def _consent(self, row) -> Consent:
        m = dict(row._mapping)
        m.pop("expiry_announced_at", None)
        m["decision"] = Decision(m["decision"])
        m["categories"] = list(m["categories"])
        return Consent(**m)

    def for_client(self, client_id, *, lock=False) -> list[Consent]:
        q = select(t.consent).where(t.consent.c.client_id == client_id).order_by(t.consent.c.recorded_at.desc())
        return [self._consent(r) for r in self.conn.execute(q.with_for_update() if lock else q)]

    def get(self, client_id, consent_id) -> Consent:
        row = self.conn.execute(select(t.consent).where(t.consent.c.id == consent_id,
                                                        t.consent.c.client_id == client_id).with_for_update()).first()
        if row is None:
            raise NotFound(f"No consent {consent_id} for this client.")
        return self._consent(row)

    def save_withdrawal(self, c: Consent) -> None:
        self.conn.execute(update(t.consent).where(t.consent.c.id == c.id)
                          .values(withdrawn_at=c.withdrawn_at, withdrawn_by=c.withdrawn_by))

    def expired_unannounced(self, now) -> list[Consent]:
        """Granted consents that ran out and have not been announced as expired yet."""
        return [self._consent(r) for r in self.conn.execute(
            select(t.consent).where(t.consent.c.valid_until <= now, t.consent.c.withdrawn_at.is_(None),
                                    t.consent.c.decision == "granted", t.consent.c.expiry_announced_at.is_(None))
            .with_for_update(skip_locked=True))]

    def mark_expiry_announced(self, consent_id, at) -> None:
        self.conn.execute(update(t.consent).where(t.consent.c.id == consent_id).values(expiry_announced_at=at))


class Referrals:
    def __init__(self, conn):
        self.conn = conn

    def add(self, r: Referral) -> bool:
        """False if this referral is already stored (a re-delivered request)."""
        if self.conn.execute(EXISTS, {"id": r.id}).first() is not None:
            return False
        self.conn.execute(insert(t.referral), _referral_row(r))  # a prepared statement, cached once compiled
        return True

    def save(self, r: Referral) -> None:
        self.conn.execute(update(t.referral).where(t.referral.c.id == r.id).values(**_referral_row(r)))

    def get(self, referral_id, *, for_update=False) -> Referral:
        q = select(t.referral).where(t.referral.c.id == referral_id)
        row = self.conn.execute(q.with_for_update() if for_update else q).first()
        if row is None:  # other organisations' referrals are not in this database at all
            raise NotFound(f"No referral {referral_id}.")
        return _referral(row)

    def find(self, referral_id, *, for_update=False) -> Referral | None:
        try:
            return self.get(referral_id, for_update=for_update)
        except NotFound:
            return None

    def list(self, *, box=None, status=None, service_id=None, since=None, until=None, client_id=None,
             mine_first: str | None = None, limit=50, offset=0) -> tuple[list[Referral], int]:
        conds = []
        if box:
            conds.append(t.referral.c.direction == box)
        if status:
            conds.append(t.referral.c.status == status)
        if service_id:
            conds.append(t.referral.c.service_id == service_id)
        if since:
            conds.append(t.referral.c.updated_at >= since)
        if until:
            conds.append(t.referral.c.updated_at < until)
        if client_id:
            conds.append(t.referral.c.client_id == client_id)
        where = and_(*conds) if conds else True
        order = [t.referral.c.updated_at.desc()]
        if mine_first:
            order.insert(0, case((t.referral.c.created_by == mine_first, 0), else_=1))
        rows = self.conn.execute(select(t.referral).where(where).order_by(*order).limit(limit).offset(offset))
        total = self.conn.execute(select(func.count()).select_from(t.referral).where(where)).scalar_one()
        return [_referral(r) for r in rows], total

    def subjects(self, referral_ids) -> dict:
        """referral id -> whom the access log names for it: the client (sender's side), else the referral."""
        ids = list(dict.fromkeys(referral_ids))
        rows = self.conn.execute(select(t.referral.c.id, t.referral.c.client_id)
                                 .where(t.referral.c.id.in_(ids))) if ids else []
        known = {r.id: r.client_id for r in rows}
        return {i: f"client:{known[i]}" if known.get(i) else f"referral:{i}" for i in ids}

    def with_consent(self, consent_id) -> list[Referral]:
        return [_referral(r) for r in self.conn.execute(
            select(t.referral).where(t.referral.c.consent_id == consent_id).with_for_update())]

    def unanswered_since(self, before) -> list[Referral]:
        return [_referral(r) for r in self.conn.execute(
            select(t.referral).where(t.referral.c.direction == "incoming", t.referral.c.status == "requested",
                                     t.referral.c.escalated_at.is_(None), t.referral.c.received_at < before)
            .with_for_update(skip_locked=True))]

    def add_history(self, c: Change) -> None:
        self.conn.execute(insert(t.referral_history), dict(
            referral_id=c.referral_id, from_state=c.from_state.value if c.from_state else None,
            to_state=c.to_state.value, reason_code=c.reason_code, reason_text=c.reason_text, by_org=c.by_org,
            by_user=c.by_user, at=c.at))

    def history(self, referral_id) -> list[dict]:
        return [dict(r._mapping) for r in self.conn.execute(
            select(t.referral_history).where(t.referral_history.c.referral_id == referral_id)
            .order_by(t.referral_history.c.at, t.referral_history.c.id))]

    def add_arrival(self, a: Arrival) -> None:
        self.conn.execute(insert(t.referral_arrival), dict(
            referral_id=a.referral_id, arrival=a.arrival, at=a.at, missed=a.missed, by_org=a.by_org))

    def arrivals(self, referral_id) -> list[dict]:
        """What the receiver's attendance told of the client's arrival, in the order it was told."""
        return [dict(r._mapping) for r in self.conn.execute(
            select(t.referral_arrival).where(t.referral_arrival.c.referral_id == referral_id)
            .order_by(t.referral_arrival.c.id))]

    def add_outcome(self, o: Outcome) -> bool:
        if self.conn.execute(select(t.outcome.c.id).where(t.outcome.c.id == o.id)).first() is not None:
            return False
        self.conn.execute(insert(t.outcome), o.__dict__)
        return True

    def outcomes(self, referral_id) -> list[dict]:
        return [dict(r._mapping) for r in self.conn.execute(
            select(t.outcome).where(t.outcome.c.referral_id == referral_id).order_by(t.outcome.c.recorded_at))]


class Disclosures:
    def __init__(self, conn):
        self.conn = conn

    def record(self, *, client_id, referral_id, recipient_org, categories, consent_id, username) -> None:
        self.conn.execute(insert(t.disclosure_log), dict(
            client_id=client_id, referral_id=referral_id, recipient_org=recipient_org, categories=categories,
            consent_id=consent_id, username=username))

    def for_client(self, client_id) -> list[dict]:
        return [dict(r._mapping) for r in self.conn.execute(
            select(t.disclosure_log).where(t.disclosure_log.c.client_id == client_id)
            .order_by(t.disclosure_log.c.at))]


class Notifications:
    def __init__(self, conn):
        self.conn = conn

    def add(self, role: str, kind: str, referral_id) -> None:
        self.conn.execute(insert(t.notification), dict(role=role, kind=kind, referral_id=referral_id))

    def open_for(self, role: str, limit: int) -> tuple[list[dict], int]:
        """The role's newest `limit` unread notifications, and how many unread there are in all."""
        unread = and_(t.notification.c.role == role, t.notification.c.read_at.is_(None))
        rows = self.conn.execute(select(t.notification).where(unread)
                                 .order_by(t.notification.c.created_at.desc(), t.notification.c.id.desc())
                                 .limit(limit))
        total = self.conn.execute(select(func.count()).select_from(t.notification).where(unread)).scalar_one()
        return [dict(r._mapping) for r in rows], total


class WithdrawnConsents:
    def __init__(self, conn):
        self.conn = conn

    def add(self, consent_id, by_org, at) -> None:
        self.conn.execute(pg_insert(t.withdrawn_consent).values(consent_id=consent_id, by_org=by_org,
                                                                withdrawn_at=at).on_conflict_do_nothing())

    def contains(self, consent_id, by_org: str) -> bool:
        """Did `by_org` (the sender of the referrals under this consent) withdraw it?"""
        return self.conn.execute(select(t.withdrawn_consent.c.consent_id)
                                 .where(t.withdrawn_consent.c.consent_id == consent_id,
                                        t.withdrawn_consent.c.by_org == by_org)).first() is not None


class Targets:
    def __init__(self, conn):
        self.conn = conn

    def apply(self, values: dict) -> bool:
        """A service id claimed by two organisations is disputed (`upsert_newer`), whichever claim came first:
        never a target, or referrals — and the client's sealed data — could follow a claimant's record."""
        return upsert_newer(self.conn, t.service_target, "service_id", values, owner_col="organization_id")

    def get_active(self, service_id) -> dict:
        row = self.conn.execute(select(t.service_target).where(
            t.service_target.c.service_id == service_id,
            t.service_target.c.status.in_(("active", DISPUTED)))).first()
        if row is None:
            raise NotFound(f"No active service {service_id} in the federation's catalogue.", code="unknown-service")
        if row.status == DISPUTED:
            raise Conflict(f"Service {service_id} is claimed by more than one organisation in the federation's "
                           f"catalogue; nothing can be referred to it until that is settled.", code="disputed-service")
        return dict(row._mapping)

    def names(self, ids) -> dict:
        rows = self.conn.execute(select(t.service_target.c.service_id, t.service_target.c.name_fi)
                                 .where(t.service_target.c.service_id.in_(list(ids))))
        return {r.service_id: r.name_fi for r in rows}

    def list(self) -> list[dict]:
        q = select(t.service_target).where(t.service_target.c.status.not_in(("withdrawn", DISPUTED))).order_by(
            t.service_target.c.organization_id, t.service_target.c.name_fi)
        return [dict(r._mapping) for r in self.conn.execute(q).all()]


class ReferralsUnitOfWork(UnitOfWork):
    def on_enter(self):
        self.clients = Clients(self.conn)
        self.consents = Consents(self.conn)
        self.referrals = Referrals(self.conn)
        self.disclosures = Disclosures(self.conn)
        self.notifications = Notifications(self.conn)
        self.withdrawn = WithdrawnConsents(self.conn)
        self.targets = Targets(self.conn)
