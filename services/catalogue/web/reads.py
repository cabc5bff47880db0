"""What the public pages read from the federation directory, each read one unit of work."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, bindparam, select

from services.kernel.errors import NotFound

from ..directory import search as directory_search
from ..publishing.domain import PUBLIC
from ..tables import directory_service as ds

COLUMNS = (ds.c.service_id, ds.c.organization_id, ds.c.status, ds.c.version, ds.c.published_at, ds.c.document,
           ds.c.locations, ds.c.closed_reason)


def find_services(uow_factory, query: directory_search.SearchQuery) -> directory_search.SearchPage:
    with uow_factory() as uow:
        return directory_search.search(uow.conn, query)


def public_service(uow_factory, service_id, moment: datetime) -> dict:
    """One service any organisation of the federation made public (a withdrawn one is not found), with
    whether it is open at `moment` — decided by the same SQL as the search's "open now"."""
    at = bindparam("at", moment, type_=DateTime(timezone=True))
    with uow_factory() as uow:
        row = uow.conn.execute(select(*COLUMNS, directory_search.open_at(at).label("open_now"))
                               .where(ds.c.service_id == service_id, ds.c.status.in_(PUBLIC))).mappings().first()
    if row is None:
        raise NotFound(f"No public service {service_id} in the directory.", code="unknown-service")
    return dict(row)
