from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.kernel.db import UnitOfWork

from . import tables as t


class Counts:
    def __init__(self, conn):
        self.conn = conn

    def increment(self, org_id: str, event_type: str, at: str) -> None:
        stmt = pg_insert(t.event_count).values(org_id=org_id, event_type=event_type, count=1, last_event_at=at)
        self.conn.execute(stmt.on_conflict_do_update(
            index_elements=["org_id", "event_type"],
            set_={"count": t.event_count.c.count + 1,
                  "last_event_at": stmt.excluded.last_event_at}))

    def all(self) -> list[dict]:
        rows = self.conn.execute(select(t.event_count).order_by(t.event_count.c.org_id,
                                                                t.event_count.c.event_type))
        return [dict(r._mapping) for r in rows]


class ReportingUnitOfWork(UnitOfWork):
    def on_enter(self):
        self.counts = Counts(self.conn)
