"""The organisation's own services and locations in its database."""
from __future__ import annotations

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.kernel.errors import NotFound

from .. import tables as t
from .domain import CatalogueService, Location


class Services:
    """The organisation's own services. Another organisation's id is simply not here (404)."""

    def __init__(self, conn, org_id):
        self.conn, self.org_id = conn, org_id

    def add(self, s: CatalogueService):
        self.conn.execute(pg_insert(t.service).values(**_service_row(s)))
        self._link(s)

    def save(self, s: CatalogueService):
        self.conn.execute(update(t.service).where(t.service.c.id == s.id).values(**_service_row(s)))
        self.conn.execute(delete(t.service_location).where(t.service_location.c.service_id == s.id))
        self._link(s)

    def _link(self, s: CatalogueService):
        if s.location_ids:
            self.conn.execute(insert(t.service_location),
                              [{"service_id": s.id, "location_id": lid} for lid in s.location_ids])

    def get(self, service_id, *, for_update=True) -> CatalogueService:
        q = select(t.service).where(t.service.c.id == service_id, t.service.c.organization_id == self.org_id)
        row = self.conn.execute(q.with_for_update() if for_update else q).first()
        if row is None:
            raise NotFound(f"No service {service_id} in this organisation's catalogue.")
        return CatalogueService(**row._mapping)

    def list(self, status: str | None = None) -> list[CatalogueService]:
        q = select(t.service).where(t.service.c.organization_id == self.org_id)
        if status:
            q = q.where(t.service.c.status == status)
        rows = self.conn.execute(q.order_by(t.service.c.updated_at.desc())).all()
        return [CatalogueService(**r._mapping) for r in rows]

    def at_location(self, location_id) -> list[CatalogueService]:
        rows = self.conn.execute(
            select(t.service).join(t.service_location, t.service_location.c.service_id == t.service.c.id)
            .where(t.service_location.c.location_id == location_id).with_for_update(of=t.service)).all()
        return [CatalogueService(**r._mapping) for r in rows]


class Locations:
    def __init__(self, conn, org_id):
        self.conn, self.org_id = conn, org_id

    def add(self, loc: Location):
        self.conn.execute(pg_insert(t.location).values(**_location_row(loc)))

    def save(self, loc: Location):
        self.conn.execute(update(t.location).where(t.location.c.id == loc.id).values(**_location_row(loc)))

    def get(self, location_id, *, for_update=True) -> Location:
        q = select(t.location).where(t.location.c.id == location_id, t.location.c.organization_id == self.org_id)
        row = self.conn.execute(q.with_for_update() if for_update else q).first()
        if row is None:
            raise NotFound(f"No location {location_id} in this organisation's catalogue.")
        return Location(**row._mapping)

    def remove(self, location_id) -> None:
        """Forget the location (and its links to withdrawn services, which keep their last description)."""
        self.conn.execute(delete(t.service_location).where(t.service_location.c.location_id == location_id))
        self.conn.execute(delete(t.location).where(t.location.c.id == location_id))

    def many(self, ids) -> list[Location]:
        """The organisation's own locations with these ids, in the given order; NotFound names a stranger."""
        ids = [str(i) for i in ids]
        if not ids:
            return []
        # shared locks, in id order: a concurrent change of the location (or its removal) waits for this
        # transaction, so a service never links a location being removed or carries a superseded address
        rows = {str(r.id): Location(**r._mapping) for r in self.conn.execute(
            select(t.location).where(t.location.c.id.in_(ids), t.location.c.organization_id == self.org_id)
            .order_by(t.location.c.id).with_for_update(read=True))}
        missing = [i for i in ids if i not in rows]
        if missing:
            raise NotFound(f"No location {missing[0]} in this organisation's catalogue.", code="unknown-location")
        return [rows[i] for i in ids]

    def list(self) -> list[Location]:
        rows = self.conn.execute(select(t.location).where(t.location.c.organization_id == self.org_id)
                                 .order_by(t.location.c.created_at)).all()
        return [Location(**r._mapping) for r in rows]


def _service_row(s: CatalogueService) -> dict:
    return dict(id=s.id, organization_id=s.organization_id, status=s.status, version=s.version,
                document=s.document, closed_reason=s.closed_reason, created_at=s.created_at,
                updated_at=s.updated_at)


def _location_row(loc: Location) -> dict:
    return dict(id=loc.id, organization_id=loc.organization_id, version=loc.version, document=loc.document,
                created_at=loc.created_at, updated_at=loc.updated_at)
