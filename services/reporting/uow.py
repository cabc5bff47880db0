from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.kernel.db import UnitOfWork

from . import tables as t


_insert = pg_insert(t.event_count)
INCREMENT = _insert.on_conflict_do_update(  # built once: compiled once
    index_elements=["org_id", "event_type"],
    set_={"count": t.event_count.c.count + 1, "last_event_at": _insert.excluded.last_event_at})


class Counts:
    def __init__(self, conn):
        self.conn = conn

    def increment(self, org_id: str, event_type: str, at: str) -> None:
        self.conn.execute(INCREMENT, {"org_id": org_id, "event_type": event_type, "count": 1, "last_event_at": at})

    def all(self) -> list[dict]:
        rows = self.conn.execute(select(t.event_count).order_by(t.event_count.c.org_id,
                                                                t.event_count.c.event_type))
        return [dict(r._mapping) for r in rows]


class ReportingUnitOfWork(UnitOfWork):
    def on_enter(self):
        self.counts = Counts(self.conn)
