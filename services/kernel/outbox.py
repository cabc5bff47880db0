"""Transactional outbox and its relay.

`Outbox.add` validates an event against the contract version the producer names, signs it and inserts it
in the caller's transaction; the outbox table's trigger (`NOTIFY outbox`)
wakes the relay when that transaction commits. The relay publishes rows in `seq` order with an
idempotent producer, marks them published, and keeps them for a retention
window so they can be re-published (e.g. after the broker lost its data).
"""
from __future__ import annotations

import logging
import select
import threading
import time
from collections import Counter
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, insert, select as sa_select, text, update
from sqlalchemy.engine import Connection, Engine

from . import broker, metrics
from .contracts import TYPE_PREFIX, ContractRegistry
from .events import CloudEvent, new_event
from .faults import crash_point
from .tables import outbox

log = logging.getLogger(__name__)
CHANNEL = "outbox"
OUTBOX_INSERT = insert(outbox)
RELAY_LOCK = 7_206_112


@dataclass
class EventWriter:
    """Who produces: the instance's CloudEvents source, signing key and contracts."""
    source: str
    signing_key: Ed25519PrivateKey
    contracts: ContractRegistry

    def outbox(self, conn: Connection) -> "Outbox":
        return Outbox(conn, self)


class Outbox:
    def __init__(self, conn: Connection, writer: EventWriter | None):
        self.conn = conn
        self.writer = writer

    def add(self, event: str, key: str, data: dict, *, subject: str | None = None,
            extensions: dict | None = None) -> CloudEvent:
        """Stage `event`, named with its version ("referral.requested.v1"), in this transaction.

        The producer names the version it emits: a new contract version is a new
        file, and never switches a producer that did not ask for it.
        """
        if self.writer is None:
            raise RuntimeError("this instance has no signing key, so it cannot produce events")
        contract = self.writer.contracts.validate(TYPE_PREFIX + event, data)
        staged = new_event(source=self.writer.source, type=contract.type, key=key, data=data,
                           signing_key=self.writer.signing_key, subject=subject,
                           dataschema=contract.dataschema, extensions=extensions)
        self.add_record(event_id=staged.id, event_type=staged.type, topic=contract.topic, key=str(key),
                        headers=staged.headers(), value=staged.data_bytes)
        return staged

    def add_record(self, *, event_id: str, event_type: str, topic: str, key: str,
                   headers: list[tuple[str, bytes]], value: bytes) -> None:
        # one prepared statement; the table's trigger NOTIFYs the relay when this transaction commits
        self.conn.execute(OUTBOX_INSERT, {
            "event_id": event_id, "event_type": event_type, "topic": topic, "key": key,
            "headers": [[k, v.decode("utf-8", "replace")] for k, v in headers], "value": value})


def requeue(conn: Connection) -> int:
    """Mark every retained row unpublished again (in the caller's transaction), so the relay
    re-publishes them in order once it commits."""
    n = len(conn.execute(update(outbox).where(outbox.c.published_at.is_not(None)).values(published_at=None)
                         .returning(outbox.c.seq)).all())
    conn.execute(text(f"NOTIFY {CHANNEL}"))
    return n


def requeue_retained(engine: Engine) -> int:
    with engine.begin() as conn:
        return requeue(conn)


class Relay:
    def __init__(self, engine: Engine, bootstrap: str, *, retention_hours: float = 168,
                 batch_size: int = 500, timeout_ms: int = 10_000, topics_file=None, topic_prefix: str = ""):
        self.topics_file = topics_file
        self.topic_prefix = topic_prefix
        self.engine = engine
        self.bootstrap = bootstrap
        self.retention_hours = retention_hours
        self.batch_size = batch_size
        self.timeout_ms = timeout_ms
        self._producer = None
        self._last_cleanup = 0.0

    def _get_producer(self):
        if self._producer is None:
            self._producer = broker.producer(self.bootstrap, self.timeout_ms)
        return self._producer

    def publish_pending(self) -> int:
        """Publish one batch; returns how many rows were marked published."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa_select(outbox.c.seq, outbox.c.event_type, outbox.c.topic, outbox.c.key,
                          outbox.c.headers, outbox.c.value)
                .where(outbox.c.published_at.is_(None)).order_by(outbox.c.seq).limit(self.batch_size)
            ).all()
        if not rows:
            return 0
        producer = self._get_producer()
        futures = [producer.send(r.topic, key=r.key.encode(), value=bytes(r.value),
                                 headers=[(k, v.encode()) for k, v in r.headers]) for r in rows]
        producer.flush(timeout=self.timeout_ms * 3 / 1000)
        done = []
        for r, f in zip(rows, futures):  # only the in-order prefix that succeeded counts
            if not f.is_done or f.failed():
                break
            done.append(r)
        if done:
            crash_point("relay.after-publish")  # published but not yet marked: re-published after restart
            with self.engine.begin() as conn:
                conn.execute(update(outbox).where(outbox.c.seq.in_([r.seq for r in done]))
                             .values(published_at=func.now()))
            for (event_type, topic), n in Counter((r.event_type, r.topic) for r in done).items():
                metrics.EVENTS_PUBLISHED.labels(event_type, topic).inc(n)  # labels() is slow: once per kind
        if len(done) < len(rows):
            metrics.RELAY_ERRORS.inc()
            failed = futures[len(done)]
            raise RuntimeError(f"publish failed: {failed.exception if failed.is_done else 'timed out'}")
        return len(done)

    def backlog(self) -> int:
        with self.engine.connect() as conn:
            n = conn.execute(sa_select(func.count()).select_from(outbox)
                             .where(outbox.c.published_at.is_(None))).scalar_one()
        metrics.OUTBOX_BACKLOG.set(n)
        return n

    def cleanup(self) -> int:
        with self.engine.begin() as conn:
            return conn.execute(text(
                "DELETE FROM outbox WHERE published_at < now() - make_interval(secs => :s)"),
                {"s": self.retention_hours * 3600}).rowcount

    def run(self, stop: threading.Event) -> None:
        """Leader-elected loop: one relay per database publishes; others stand by."""
        backoff = 0.1
        while not stop.is_set():
            try:
                self._run_as_leader(stop)
                backoff = 0.1
            except Exception as e:  # broker or database down: keep trying, writes still succeed
                log.warning("relay: %s; retrying in %.1fs", e, backoff)
                self._reset_producer()
                stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
        self._reset_producer()

    def _reset_producer(self):
        if self._producer is not None:
            try:
                self._producer.close(timeout=1)
            except Exception:
                pass
            self._producer = None

    def _run_as_leader(self, stop: threading.Event) -> None:
        from .recovery import reconcile_cluster  # recovery imports this module
        raw = self.engine.raw_connection()
        try:
            dbapi = raw.driver_connection
            dbapi.autocommit = True
            while not dbapi.execute("SELECT pg_try_advisory_lock(%s)", (RELAY_LOCK,)).fetchone()[0]:
                if stop.wait(1.0):
                    return
            dbapi.execute(f"LISTEN {CHANNEL}")
            log.info("relay: leader, listening")
            if self.topics_file is not None:
                reconcile_cluster(self.engine, self.bootstrap, self.topics_file, self.topic_prefix)
            last_check = time.monotonic()
            while not stop.is_set():
                while self.publish_pending():
                    pass
                self.backlog()
                if self.topics_file is not None and time.monotonic() - last_check > 15:
                    reconcile_cluster(self.engine, self.bootstrap, self.topics_file, self.topic_prefix)
                    last_check = time.monotonic()
                if time.monotonic() - self._last_cleanup > 60:
                    self.cleanup()
                    self._last_cleanup = time.monotonic()
                # woken by NOTIFY on commit; the timeout only bounds how late a stop is seen
                select.select([dbapi.fileno()], [], [], 1.0)
                for _ in dbapi.notifies(timeout=0, stop_after=1000):
                    pass
        finally:
            raw.invalidate()  # drop the session so the advisory lock is released
