"""The outbox relay: publishes the outbox to Kafka.

One relay per database is the leader (an advisory lock); it LISTENs on the
outbox channel, publishes rows in `seq` order with an idempotent producer,
marks them published and deletes them after the retention window. Given a
`ClusterWatch` (recovery.py, passed in by the worker), the leader also checks
on start and every 15 s whether the broker lost its data.
"""
from __future__ import annotations

import logging
import select
import threading
import time
from collections import Counter

from sqlalchemy import func, select as sa_select, text, update
from sqlalchemy.engine import Engine

from . import broker, metrics, retention
from .faults import crash_point
from .outbox import NOTIFY_CHANNEL
from .parking import decode_headers
from .restart import keep_running
from .tables import outbox

log = logging.getLogger(__name__)
RELAY_LOCK = 7_206_112
CLUSTER_CHECK_EVERY = 15.0  # seconds
CLEANUP_EVERY = 60.0


class Relay:
    """`watch`: the instance's recovery.ClusterWatch (or None: no cluster checks); the worker builds it,
    so that recovery, which requeues the outbox, is not imported here."""

    def __init__(self, engine: Engine, bootstrap: str, *, retention_hours: float = 168,
                 batch_size: int = 500, timeout_ms: int = 10_000, watch=None):
        self.engine = engine
        self.bootstrap = bootstrap
        self.retention_hours = retention_hours
        self.batch_size = batch_size
        self.timeout_ms = timeout_ms
        self.watch = watch
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
                                 headers=decode_headers(r.headers)) for r in rows]
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
        """Delete the outbox rows published longer ago than the window, and the inbox rows past theirs
        (retention.py); return how many outbox rows went."""
        with self.engine.begin() as conn:
            n = conn.execute(text(
                "DELETE FROM outbox WHERE published_at < now() - make_interval(secs => :s)"),
                {"s": self.retention_hours * 3600}).rowcount
            retention.prune_inbox(conn, retention.inbox_window_hours(self.retention_hours))
            return n

    def run(self, stop: threading.Event) -> None:
        """Leader-elected loop: one relay per database publishes; others stand by. With the broker or
        the database down it keeps trying (writes still succeed: they wait in the outbox)."""
        keep_running(lambda: self._run_as_leader(stop), stop, name="relay", after_error=self._reset_producer,
                     first_wait=0.1, longest_wait=5.0)
        self._reset_producer()

    def _reset_producer(self):
        if self._producer is not None:
            try:
                self._producer.close(timeout=1)
            except Exception:
                pass
            self._producer = None

    def _run_as_leader(self, stop: threading.Event) -> None:
        raw = self.engine.raw_connection()
        try:
            dbapi = raw.driver_connection
            dbapi.autocommit = True
            while not dbapi.execute("SELECT pg_try_advisory_lock(%s)", (RELAY_LOCK,)).fetchone()[0]:
                if stop.wait(1.0):
                    return
            dbapi.execute(f"LISTEN {NOTIFY_CHANNEL}")
            log.info("relay: leader, listening")
            if self.watch is not None:
                self.watch.reconcile()
            last_check = time.monotonic()
            while not stop.is_set():
                while self.publish_pending():
                    pass
                self.backlog()
                if self.watch is not None and time.monotonic() - last_check > CLUSTER_CHECK_EVERY:
                    self.watch.reconcile()
                    last_check = time.monotonic()
                if time.monotonic() - self._last_cleanup > CLEANUP_EVERY:
                    self.cleanup()
                    self._last_cleanup = time.monotonic()
                # woken by NOTIFY on commit; the timeout only bounds how late a stop is seen
                select.select([dbapi.fileno()], [], [], 1.0)
                for _ in dbapi.notifies(timeout=0, stop_after=1000):
                    pass
        finally:
            raw.invalidate()  # drop the session so the advisory lock is released
