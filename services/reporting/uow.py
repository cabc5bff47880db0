from sqlalchemy import select, text

from services.kernel.db import UnitOfWork

from . import tables as t


# text, because SQLAlchemy 2.0 does not cache compiled PostgreSQL INSERT ... ON CONFLICT statements
INCREMENT = text(
    "INSERT INTO event_count (org_id, event_type, count, last_event_at) VALUES (:org_id, :event_type, :count, "
    "CAST(:last_event_at AS timestamptz)) ON CONFLICT (org_id, event_type) DO UPDATE "
    "SET count = event_count.count + 1, last_event_at = EXCLUDED.last_event_at")


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
