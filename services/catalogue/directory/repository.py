"""The directory in the database: applying catalogue events to the read model, and reading it."""
from __future__ import annotations

from sqlalchemy import delete, insert

from services.kernel.db import upsert_newer
from services.kernel.errors import Rejected

from .. import tables as t
from .rows import exception_rows, opening_rows, read_model_row, tombstone_row


class Directory:
    """The federation's read model: one row per service any organisation made public."""

    def __init__(self, conn):
        self.conn = conn

    def apply_published(self, data: dict, event_id: str) -> bool:
        try:  # another instance's description, checked again where the contract cannot (times of day)
            row, openings, exceptions = read_model_row(data, event_id), opening_rows(data), exception_rows(data)
        except (ValueError, KeyError) as e:
            raise Rejected(f"unusable service description: {e}") from e
        if not upsert_newer(self.conn, t.directory_service, "service_id", row, owner_col="organization_id"):
            return False  # an older (re-delivered or re-published) version: nothing changes
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
