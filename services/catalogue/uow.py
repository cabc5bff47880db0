from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.kernel.db import UnitOfWork, upsert_newer
from services.kernel.errors import NotFound

from . import tables as t
from .domain import CatalogueService


class Services:
    def __init__(self, conn, org_id):
        self.conn, self.org_id = conn, org_id

    def add(self, s: CatalogueService):
        self.conn.execute(pg_insert(t.service).values(**_row(s)))

    def save(self, s: CatalogueService):
        self.conn.execute(update(t.service).where(t.service.c.id == s.id).values(**_row(s)))

    def get(self, service_id) -> CatalogueService:
        row = self.conn.execute(select(t.service).where(t.service.c.id == service_id)
                                .with_for_update()).first()
        if row is None:
            raise NotFound(f"No service {service_id} in this organisation's catalogue.")
        return CatalogueService(**row._mapping)

    def list(self) -> list[CatalogueService]:
        rows = self.conn.execute(select(t.service).order_by(t.service.c.updated_at.desc())).all()
        return [CatalogueService(**r._mapping) for r in rows]


class Directory:
    def __init__(self, conn):
        self.conn = conn

    def apply(self, values: dict) -> bool:
        return upsert_newer(self.conn, t.directory_service, "service_id", values)

    def list(self, include_withdrawn=False):
        q = select(t.directory_service).order_by(t.directory_service.c.organization_id,
                                                 t.directory_service.c.published_at)
        if not include_withdrawn:
            q = q.where(t.directory_service.c.status != "withdrawn")
        return [dict(r._mapping) for r in self.conn.execute(q).all()]


def _row(s: CatalogueService) -> dict:
    return dict(id=s.id, organization_id=s.organization_id, name=s.name, description=s.description,
                category=s.category, status=s.status, version=s.version, updated_at=s.updated_at)


class CatalogueUnitOfWork(UnitOfWork):
    def on_enter(self):
        self.services = Services(self.conn, self.org_id)
        self.directory = Directory(self.conn)
