from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.kernel.db import UnitOfWork, upsert_newer
from services.kernel.errors import NotFound

from . import tables as t
from .domain import Direction, Referral, State

_FIELDS = ("id", "direction", "from_org", "to_org", "service_id", "status", "age_band", "note",
           "requested_at", "received_at", "created_by", "updated_at")


def _to_domain(row) -> Referral:
    m = dict(row._mapping)
    m["direction"], m["status"] = Direction(m["direction"]), State(m["status"])
    return Referral(**m)


def _row(r: Referral) -> dict:
    d = {f: getattr(r, f) for f in _FIELDS}
    d["direction"], d["status"] = r.direction.value, r.status.value
    return d


class Referrals:
    def __init__(self, conn):
        self.conn = conn

    def add(self, r: Referral) -> bool:
        """False if this referral is already stored (a re-delivered request)."""
        return self.conn.execute(pg_insert(t.referral).values(**_row(r)).on_conflict_do_nothing()
                                 .returning(t.referral.c.id)).first() is not None

    def get(self, referral_id, *, for_update=False) -> Referral:
        q = select(t.referral).where(t.referral.c.id == referral_id)
        row = self.conn.execute(q.with_for_update() if for_update else q).first()
        if row is None:  # other organisations' referrals are not in this database at all
            raise NotFound(f"No referral {referral_id}.")
        return _to_domain(row)

    def mark_received(self, referral_id, received_at) -> None:
        self.conn.execute(update(t.referral).where(t.referral.c.id == referral_id,
                                                   t.referral.c.direction == Direction.OUTGOING.value)
                          .values(received_at=received_at))

    def list(self, direction: str | None = None) -> list[Referral]:
        q = select(t.referral).order_by(t.referral.c.updated_at.desc())
        if direction:
            q = q.where(t.referral.c.direction == direction)
        return [_to_domain(r) for r in self.conn.execute(q).all()]


class Targets:
    def __init__(self, conn):
        self.conn = conn

    def apply(self, values: dict) -> bool:
        return upsert_newer(self.conn, t.service_target, "service_id", values)

    def get_active(self, service_id) -> dict:
        row = self.conn.execute(select(t.service_target).where(
            t.service_target.c.service_id == service_id, t.service_target.c.status == "active")).first()
        if row is None:
            raise NotFound(f"No active service {service_id} in the federation's catalogue.",
                           code="unknown-service")
        return dict(row._mapping)

    def list(self) -> list[dict]:
        q = select(t.service_target).where(t.service_target.c.status != "withdrawn").order_by(
            t.service_target.c.organization_id, t.service_target.c.name_fi)
        return [dict(r._mapping) for r in self.conn.execute(q).all()]


class ReferralsUnitOfWork(UnitOfWork):
    def on_enter(self):
        self.referrals = Referrals(self.conn)
        self.targets = Targets(self.conn)
