from sqlalchemy import insert, select

from services.kernel.db import UnitOfWork

from . import tables as t
from .domain import Encounter


class Encounters:
    def __init__(self, conn):
        self.conn = conn

    def add(self, e: Encounter):
        self.conn.execute(insert(t.encounter), e.__dict__)

    def list(self, limit: int = 200) -> list[Encounter]:
        rows = self.conn.execute(select(t.encounter).order_by(t.encounter.c.occurred_at.desc()).limit(limit))
        return [Encounter(**r._mapping) for r in rows]


class AttendanceUnitOfWork(UnitOfWork):
    def on_enter(self):
        self.encounters = Encounters(self.conn)
