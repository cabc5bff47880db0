"""Database: engine, Alembic migrations at start-up, and the unit of work."""
from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import bindparam, create_engine, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from .metrics import READ_MODEL_DISPUTES
from .outbox import EventWriter, Outbox

log = logging.getLogger(__name__)

KERNEL_MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str, pool_size: int = 5) -> Engine:
    # no pre-ping: it costs a round trip per checkout; after a database restart the first statement
    # on a stale connection fails (a clean 503) and SQLAlchemy drops the whole stale pool
    # hide_parameters: an error's text (logged, or a dead letter's dlt_error on a topic every member reads)
    # must never carry the statement's values, which may be personal data
    return create_engine(url, pool_size=pool_size, max_overflow=5, pool_pre_ping=False,
                         pool_recycle=1800, connect_args={"connect_timeout": 5}, hide_parameters=True)


def migrate(url: str, service_migrations: Path) -> None:
    """Bring the kernel branch and the service's branch to head (idempotent, lock-protected)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(KERNEL_MIGRATIONS))
    cfg.set_main_option("path_separator", "space")
    cfg.set_main_option("version_locations",
                        f"{KERNEL_MIGRATIONS / 'versions'} {Path(service_migrations) / 'versions'}")
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(cfg, "heads")


def is_transient(exc: BaseException) -> bool:
    """Errors worth retrying: the database went away, a serialization conflict, a lock timeout. Not a
    program limit (SQLSTATE class 54, e.g. an index row too large): psycopg reports it as an
    OperationalError, but it is the data's doing, and retrying a record that causes it would stop its
    partition for good."""
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None) or ""
    if sqlstate[:2] == "54":
        return False
    if isinstance(exc, OperationalError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return sqlstate[:2] in ("08", "40", "53", "57") or sqlstate == "55P03"


class AccessLog:
    """Who read or changed whose data, written in the same transaction as the operation:
    if the row cannot be written, the operation fails with it."""

    def __init__(self, conn: Connection, org_id: str | None):
        self.conn, self.org_id = conn, org_id

    def _row(self, actor, subject, action, purpose, result) -> dict:
        via = getattr(actor, "via", None)
        if via:   # a user reading through a sibling service (auth.Role.SERVICE): the log says through whom
            purpose = f"{purpose or 'casework'} (via {via})"
        return dict(username=actor.username, org_id=actor.org_id or self.org_id,
                    role=getattr(actor.role, "value", actor.role), subject=None if subject is None else str(subject),
                    action=action, purpose=purpose, result=result)

    def record(self, actor, subject: str | None, action: str, purpose: str | None = None, result: str = "ok") -> None:
        from .tables import access_log
        self.conn.execute(access_log.insert(), self._row(actor, subject, action, purpose, result))

    def record_each(self, actor, subjects, action: str, purpose: str | None = None) -> None:
        """One read that showed several people: a row per subject (each once), so that asking about one
        person finds it; a read that showed nobody still leaves one row, without a subject."""
        from .tables import access_log
        unique = list(dict.fromkeys(map(str, subjects))) or [None]
        self.conn.execute(access_log.insert(), [self._row(actor, s, action, purpose, "ok") for s in unique])

    def for_subjects(self, subjects: list[str], newest: int | None = None) -> list[dict]:
        """The rows about these subjects, oldest first (with `newest`: only that many of the latest)."""
        from sqlalchemy import select
        from .tables import access_log
        latest = (select(access_log).where(access_log.c.subject.in_(subjects))
                  .order_by(access_log.c.at.desc(), access_log.c.id.desc()).limit(newest).subquery())
        rows = self.conn.execute(select(latest).order_by(latest.c.at, latest.c.id))
        return [dict(r._mapping) for r in rows]


def log_refusal(uow_factory, actor, subject: str, action: str, purpose: str | None, result: str) -> None:
    """A refused or failed request on client data still leaves its access-log row (in its own transaction)."""
    with uow_factory() as uow:
        uow.access_log.record(actor, subject, action, purpose, result=result)
        uow.commit()


class UnitOfWork:
    """One database transaction. Services subclass it to add repositories.

    `outbox` stages events in the same transaction as the state change; the
    relay is woken by NOTIFY when the transaction commits.
    """

    def __init__(self, engine: Engine, writer: EventWriter | None = None, org_id: str | None = None):
        self._engine = engine
        self._writer = writer  # None: an instance without a signing key produces no events
        self.org_id = org_id
        self.conn: Connection | None = None
        self._tx = None

    def __enter__(self):
        self.conn = self._engine.connect()
        self._tx = self.conn.begin()
        self.outbox = Outbox(self.conn, self._writer)
        self.access_log = AccessLog(self.conn, self.org_id)
        self.on_enter()
        return self

    def on_enter(self):
        """Hook for subclasses to build repositories on `self.conn`."""

    def commit(self):
        self._tx.commit()

    def rollback(self):
        if self._tx is not None and self._tx.is_active:
            self._tx.rollback()

    def __exit__(self, *exc):
        try:
            self.rollback()
        finally:
            self.conn.close()

    def execute(self, *a, **kw):
        return self.conn.execute(*a, **kw)


def ping(engine: Engine) -> None:
    with engine.connect() as c:
        c.execute(text("SELECT 1"))


DISPUTED = "disputed"


def upsert_newer(conn: Connection, table, key: str, values: dict, version_col: str = "version",
                 owner_col: str | None = None, status_col: str = "status") -> bool:
    """Insert or update a read-model row unless a newer version is already there.

    Events of one aggregate arrive in order per partition, but may be
    re-delivered or re-published; versions make that harmless. With
    `owner_col`, an id claimed by a second organisation is *disputed*: its row
    gets status `disputed` for good (whatever either sends later), an ERROR
    line names both organisations and `yhd_read_model_disputes_total` counts
    it; readers never offer a disputed row. The outcome is the same whichever
    claim arrives first (on the compacted catalogue each sits under its own
    organisation's key, so a member that joins later reads both, in either
    order). Nothing is raised: a raise would roll the dispute back.
    """
    stmt = _upsert_statement(table, key, tuple(sorted(values)), version_col, owner_col, status_col)
    if conn.execute(stmt, values).first() is not None:
        return True
    if owner_col is not None:
        _dispute(conn, table, key, values, owner_col, status_col)
    return False


def _dispute(conn: Connection, table, key: str, values: dict, owner_col: str, status_col: str) -> None:
    """The upsert changed nothing: an older version, a row already disputed, or another organisation's claim."""
    held = conn.execute(select(table.c[owner_col], table.c[status_col]).where(table.c[key] == values[key])
                        .with_for_update()).first()
    if held is None:
        return
    owner, claimant = held[0], values[owner_col]
    if owner != claimant:
        conn.execute(update(table).where(table.c[key] == values[key]).values({status_col: DISPUTED}))
        READ_MODEL_DISPUTES.labels(table.name).inc()
        log.error("%s %s is claimed by both %s and %s: disputed, offered by neither until an operator decides",
                  table.name, values[key], owner, claimant)
    elif held[1] == DISPUTED:
        log.warning("%s %s of %s is disputed: its version %s changes nothing", table.name, values[key],
                    owner, values.get("version"))


_UPSERTS: dict = {}


def _upsert_statement(table, key: str, columns: tuple, version_col: str, owner_col: str | None, status_col: str):
    """Written once per shape as text: SQLAlchemy 2.0 does not cache PostgreSQL ON CONFLICT statements.
    With an owner, only the owner's newer version of a row not disputed changes it (also when two claims
    race: the second waits for the first's insert, then finds another owner)."""
    k = (table.name, key, columns, version_col, owner_col, status_col)
    if k not in _UPSERTS:
        q = lambda c: f'"{c}"'  # noqa: E731
        updates = ", ".join(f"{q(c)} = EXCLUDED.{q(c)}" for c in columns if c != key)
        owned = "" if owner_col is None else (
            f" AND {q(table.name)}.{q(owner_col)} = EXCLUDED.{q(owner_col)}"
            f" AND {q(table.name)}.{q(status_col)} <> '{DISPUTED}'")
        sql = (f"INSERT INTO {q(table.name)} ({', '.join(q(c) for c in columns)}) "
               f"VALUES ({', '.join(':' + c for c in columns)}) "
               f"ON CONFLICT ({q(key)}) DO UPDATE SET {updates} "
               f"WHERE {q(table.name)}.{q(version_col)} < EXCLUDED.{q(version_col)}{owned} RETURNING {q(key)}")
        _UPSERTS[k] = text(sql).bindparams(*[bindparam(c, type_=table.c[c].type) for c in columns])
    return _UPSERTS[k]
