"""The directory in the database: applying catalogue events to the read model, and reading it."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, bindparam, delete, func, insert, select, text
from sqlalchemy.dialects.postgresql import JSONB

from services.kernel.db import upsert_newer
from services.kernel.errors import Rejected

from .. import tables as t
from ..publishing.domain import PUBLIC
from . import search
from .rows import exception_rows, opening_rows, read_model_row, tombstone_row

ds = t.directory_service


class Directory:
    """The federation's read model: one row per service any organisation made public. A service id that two
    organisations claim gets status `disputed` (`upsert_newer`), which no read below shows."""

    def __init__(self, conn):
        self.conn = conn

    def apply_published(self, data: dict, event_id: str) -> bool:
        try:  # another instance's description, checked again where the contract cannot (times of day)
            row, openings, exceptions = read_model_row(data, event_id), opening_rows(data), exception_rows(data)
        except (ValueError, KeyError) as e:
            raise Rejected(f"unusable service description: {e}") from e
        if not upsert_newer(self.conn, t.directory_service, "service_id", row, owner_col="organization_id"):
            return False  # an older (re-delivered or re-published) version, or a disputed id: nothing changes
        self._replace_hours(data["service_id"], openings, exceptions)
        return True

    def apply_withdrawn(self, data: dict, event_id: str) -> bool:
        if not upsert_newer(self.conn, t.directory_service, "service_id", tombstone_row(data, event_id),
                            owner_col="organization_id"):
            return False
        self._replace_hours(data["service_id"], [], [])
        return True

    def _replace_hours(self, service_id, openings, exceptions):
        self.conn.execute(delete(t.directory_opening).where(t.directory_opening.c.service_id == service_id))
        self.conn.execute(delete(t.directory_exception).where(t.directory_exception.c.service_id == service_id))
        if openings:
            self.conn.execute(insert(t.directory_opening), openings)
        if exceptions:
            self.conn.execute(insert(t.directory_exception), exceptions)

    # -- reading (the public pages and the HSDS API) -------------------------------------------------------------
    def snapshot(self) -> None:
        """Read from one snapshot and write nothing: a listing read page by page (ndjson, the export) sees
        every service once. The first statement of its unit of work."""
        self.conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))

    def search(self, q: search.SearchQuery) -> search.SearchPage:
        return search.search(self.conn, q)

    def public_service(self, service_id, *, open_at: datetime | None = None) -> dict | None:
        """One service any organisation made public (a withdrawn one is None); given a moment, with whether
        it is open then (`open_now`), decided by the same SQL as the search's "open now"."""
        columns = list(search.ROW_COLUMNS)
        if open_at is not None:
            moment = bindparam("at", open_at, type_=DateTime(timezone=True))
            columns.append(search.open_at(moment).label("open_now"))
        row = self.conn.execute(select(*columns).where(ds.c.service_id == service_id, ds.c.status.in_(PUBLIC))
                                ).mappings().first()
        return dict(row) if row else None

    def public_of(self, org_ids: list[str]) -> list[dict]:
        """The organisations' public services, by Finnish name."""
        return self._rows(select(*search.ROW_COLUMNS).where(ds.c.organization_id.in_(org_ids),
                                                            ds.c.status.in_(PUBLIC)))

    def public_at_locations(self, service_ids: list | None = None) -> list[tuple[dict, dict]]:
        """(service, location) of the public services (or these of them) that are given somewhere, by
        service name and the location's place in the service."""
        q = select(*search.ROW_COLUMNS).where(ds.c.status.in_(PUBLIC), func.jsonb_array_length(ds.c.locations) > 0)
        if service_ids is not None:
            q = q.where(ds.c.service_id.in_(service_ids))
        return [(row, loc) for row in self._rows(q) for loc in row["locations"]]

    def public_location_ids(self) -> list[tuple]:
        """(service id, location id) of every location a public service is given at."""
        location_id = func.jsonb_array_elements(ds.c.locations, type_=JSONB)["id"].astext
        return [tuple(r) for r in self.conn.execute(select(ds.c.service_id, location_id)
                                                    .where(ds.c.status.in_(PUBLIC)))]

    def _rows(self, q) -> list[dict]:
        return [dict(r) for r in self.conn.execute(q.order_by(ds.c.name_fi, ds.c.service_id)).mappings()]
