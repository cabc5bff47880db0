"""What the public pages read from the federation directory, each read one unit of work."""
from __future__ import annotations

from datetime import datetime

from services.kernel.errors import NotFound

from ..directory.search import SearchPage, SearchQuery


def find_services(uow_factory, query: SearchQuery) -> SearchPage:
    with uow_factory() as uow:
        return uow.directory.search(query)


def public_service(uow_factory, service_id, moment: datetime) -> dict:
    """One service any organisation of the federation made public (a withdrawn one is not found), with
    whether it is open at `moment`."""
    with uow_factory() as uow:
        row = uow.directory.public_service(service_id, open_at=moment)
    if row is None:
        raise NotFound(f"No public service {service_id} in the directory.", code="unknown-service")
    return row
