from datetime import datetime

from sqlalchemy import select, text

from services.kernel.db import UnitOfWork

from . import tables as t


# text, because SQLAlchemy 2.0 does not cache compiled PostgreSQL INSERT ... ON CONFLICT statements
ADD_COUNTS = text(
    "INSERT INTO event_count (org_id, event_type, count, last_event_at) "
    "SELECT * FROM unnest(CAST(:orgs AS varchar[]), CAST(:types AS varchar[]), CAST(:counts AS int[]), "
    "CAST(:lasts AS timestamptz[])) "
    "ON CONFLICT (org_id, event_type) DO UPDATE SET count = event_count.count + EXCLUDED.count, "
    "last_event_at = GREATEST(event_count.last_event_at, EXCLUDED.last_event_at)")


class Counts:
    """Event counts per organisation and type. Increments gather in the unit of work and are written
    with one statement when it commits (a consumer batch of hundreds of events: one round trip)."""

    def __init__(self, conn):
        self.conn = conn
        self._pending: dict[tuple[str, str], list] = {}

    def increment(self, org_id: str, event_type: str, at: str) -> None:
        moment = datetime.fromisoformat(at)
        entry = self._pending.setdefault((org_id, event_type), [0, moment])
        entry[0] += 1
        entry[1] = max(entry[1], moment)

    def flush(self) -> None:
        if not self._pending:
            return
        keys = sorted(self._pending)  # a fixed order: concurrent consumers lock rows alike, never deadlock
        self.conn.execute(ADD_COUNTS, {"orgs": [k[0] for k in keys], "types": [k[1] for k in keys],
                                       "counts": [self._pending[k][0] for k in keys],
                                       "lasts": [self._pending[k][1] for k in keys]})
        self._pending.clear()

    def all(self) -> list[dict]:
        rows = self.conn.execute(select(t.event_count).order_by(t.event_count.c.org_id,
                                                                t.event_count.c.event_type))
        return [dict(r._mapping) for r in rows]


SEEN = text(
    "INSERT INTO person_seen (pseudonym, org_id, first_seen, last_seen) VALUES (:p, :org, :at, :at) "
    "ON CONFLICT (pseudonym, org_id) DO UPDATE SET first_seen = LEAST(person_seen.first_seen, EXCLUDED.first_seen), "
    "last_seen = GREATEST(person_seen.last_seen, EXCLUDED.last_seen)")


class People:
    """Reporting's pseudonyms of the young people referred, per referring organisation."""

    def __init__(self, conn):
        self.conn = conn

    def seen(self, pseudonym: str, org_id: str, at: str) -> None:
        self.conn.execute(SEEN, {"p": pseudonym, "org": org_id, "at": datetime.fromisoformat(at)})

    def all(self) -> list[dict]:
        rows = self.conn.execute(select(t.person_seen.c.pseudonym, t.person_seen.c.org_id))
        return [dict(r._mapping) for r in rows]


class ReportingUnitOfWork(UnitOfWork):
    def on_enter(self):
        self.counts = Counts(self.conn)
        self.people = People(self.conn)

    def commit(self):
        self.counts.flush()
        super().commit()
