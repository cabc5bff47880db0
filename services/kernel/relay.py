"""The outbox relay: publishes the outbox to Kafka.

One relay per database is the leader (an advisory lock); it LISTENs on the
outbox channel, publishes rows in `seq` order with an idempotent producer,
marks them published and deletes them after the retention window. A row the
broker can never take is quarantined (`quarantined_at`, `quarantine_error`):
the rows of other aggregates go on, the later rows of its own aggregate wait
until an operator republishes or drops it (admin.py). Given a
`ClusterWatch` (recovery.py, passed in by the worker), the leader also checks
on start and every 15 s whether the broker lost its data.
"""
from __future__ import annotations

import logging
import select
import threading
import time
from collections import Counter

from kafka.errors import (CorruptRecordError, InvalidRecordError, InvalidTopicError, KafkaError,
                          MessageSizeTooLargeError, RecordListTooLargeError)
from sqlalchemy import func, select as sa_select, text, update
from sqlalchemy.engine import Engine

from . import broker, metrics, retention
from .faults import crash_point
from .outbox import NOTIFY_CHANNEL, outbox_health
from .parking import decode_headers
from .restart import keep_running
from .tables import outbox

log = logging.getLogger(__name__)
RELAY_LOCK = 7_206_112
CLUSTER_CHECK_EVERY = 15.0  # seconds
CLEANUP_EVERY = 60.0
# What is wrong with the record itself, so that sending the same row again cannot succeed: too large, invalid
# or corrupt (kafka-python retries none of these), an illegal topic name (the producer raises ValueError for
# it). Not here, so that their rows wait: no broker, too few replicas, timeouts, a topic that does not exist
# (yet), authorisation.
REFUSED = (MessageSizeTooLargeError, RecordListTooLargeError, InvalidRecordError, CorruptRecordError,
           InvalidTopicError, ValueError, TypeError)


def _send(producer, r):
    return producer.send(r.topic, key=r.key.encode(), value=bytes(r.value),
                         headers=decode_headers(r.headers))


def _describe(error) -> str:
    message = str(error)
    return message if type(error).__name__ in message else f"{type(error).__name__}: {message}"


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
        self._suspects: set[int] = set()  # rows of a batch that failed without saying which row was at fault

    def _get_producer(self):
        if self._producer is None:
            self._producer = broker.producer(self.bootstrap, self.timeout_ms)
        return self._producer

    def publish_pending(self) -> int:
        """Publish one batch in `seq` order; returns how many rows it settled (published or quarantined).

        Rows of other aggregates go on past a row that fails; the later rows of its aggregate (topic and
        key) wait, and are not marked published even when the broker took them. A row the producer
        refuses (REFUSED) is quarantined. A failure the broker reports back cannot be pinned on a row (a
        producer that hits a fatal error fails every record it holds), so the failed rows are sent again
        one at a time by the next call (`_isolate`). Failures raise, after the rest is marked.
        """
        if self._suspects:
            return self._isolate()
        rows = self._next_rows()
        if not rows:
            return 0
        producer = self._get_producer()
        sent, refused, stopped, waiting_topics = {}, {}, set(), set()
        for r in rows:
            if r.topic in waiting_topics or (r.topic, r.key) in stopped:
                continue
            try:
                sent[r.seq] = _send(producer, r)
            except REFUSED as e:  # the producer's own checks: this record, and only it, never left
                refused[r.seq] = e
                stopped.add((r.topic, r.key))
            except KafkaError as e:  # e.g. no metadata for the topic (missing, or no broker): its rows wait
                log.warning("relay: cannot send to %s now: %r", r.topic, e)
                waiting_topics.add(r.topic)
        self._flush(producer)
        published, quarantine, failed, blocked = [], [], [], set()
        for r in rows:  # in order: an aggregate stops at its first row that did not get through
            aggregate = (r.topic, r.key)
            if aggregate in blocked:
                continue
            f = sent.get(r.seq)
            if r.seq in refused:
                quarantine.append((r, refused[r.seq]))
            elif f is not None and f.is_done and f.succeeded():
                published.append(r)
                continue
            elif f is not None:
                failed.append((r, f.exception if f.is_done else "no answer in time"))
            blocked.add(aggregate)
        settled = self._settle(published, quarantine)
        if failed or waiting_topics:
            metrics.RELAY_ERRORS.inc()
            # a refusal, or no answer at all, may be another record's doing; a timeout or an unavailable
            # broker is no record's: those rows simply go again with the next batch
            if any(isinstance(e, REFUSED) or not isinstance(e, KafkaError) for _, e in failed):
                self._suspects = {r.seq for r, _ in failed}
            if failed:
                self._reset_producer()  # it may be in a fatal state, failing whatever it is given
            raise RuntimeError(f"publish failed for {len(failed)} row(s)"
                               + (f", first {failed[0][0].seq}: {failed[0][1]!r}" if failed else "")
                               + (f"; waiting for topics {sorted(waiting_topics)}" if waiting_topics else ""))
        return settled

    def _isolate(self) -> int:
        """Send the rows of a failed batch one at a time, each flushed alone: an error is then that row's own."""
        settled, blocked = 0, set()
        for r in self._next_rows():
            if r.seq not in self._suspects or (r.topic, r.key) in blocked:
                continue
            producer = self._get_producer()
            try:
                f = _send(producer, r)
            except REFUSED as e:
                settled += self._settle([], [(r, e)])
                blocked.add((r.topic, r.key))
                self._suspects.discard(r.seq)
                continue
            self._flush(producer)
            if f.is_done and f.succeeded():
                settled += self._settle([r], [])
            elif f.is_done and isinstance(f.exception, REFUSED):
                settled += self._settle([], [(r, f.exception)])
                blocked.add((r.topic, r.key))
                self._reset_producer()  # a refusal the broker sends back leaves the producer failed
            else:
                metrics.RELAY_ERRORS.inc()
                raise RuntimeError(f"publish failed for row {r.seq}: "
                                   f"{f.exception if f.is_done else 'no answer in time'!r}")
            self._suspects.discard(r.seq)
        self._suspects.clear()  # the rest were published, quarantined or dropped meanwhile
        return settled

    def _next_rows(self):
        """The next rows in line: unpublished, not quarantined, and not behind a quarantined row of their
        aggregate."""
        earlier = outbox.alias("earlier")
        quarantined_before = (sa_select(earlier.c.seq)
                              .where(earlier.c.quarantined_at.is_not(None), earlier.c.topic == outbox.c.topic,
                                     earlier.c.key == outbox.c.key, earlier.c.seq < outbox.c.seq).exists())
        with self.engine.connect() as conn:
            return conn.execute(
                sa_select(outbox.c.seq, outbox.c.event_type, outbox.c.topic, outbox.c.key,
                          outbox.c.headers, outbox.c.value)
                .where(outbox.c.published_at.is_(None), outbox.c.quarantined_at.is_(None), ~quarantined_before)
                .order_by(outbox.c.seq).limit(self.batch_size)
            ).all()

    def _flush(self, producer) -> None:
        try:
            producer.flush(timeout=self.timeout_ms * 3 / 1000)
        except KafkaError as e:  # time ran out (kafka-python 3.0 says UnknownError): the futures tell the rest
            log.warning("relay: flush did not complete: %r", e)

    def _settle(self, published, quarantine) -> int:
        """Mark `published` rows published and quarantine the `(row, error)`s, in one transaction."""
        if not published and not quarantine:
            return 0
        if published:
            crash_point("relay.after-publish")  # published but not yet marked: re-published after restart
        with self.engine.begin() as conn:
            if published:
                conn.execute(update(outbox).where(outbox.c.seq.in_([r.seq for r in published]))
                             .values(published_at=func.now()))
            for r, error in quarantine:
                conn.execute(update(outbox).where(outbox.c.seq == r.seq)
                             .values(quarantined_at=func.now(), quarantine_error=_describe(error)))
        for (event_type, topic), n in Counter((r.event_type, r.topic) for r in published).items():
            metrics.EVENTS_PUBLISHED.labels(event_type, topic).inc(n)  # labels() is slow: once per kind
        for r, error in quarantine:
            metrics.EVENTS_QUARANTINED.labels(r.event_type, r.topic).inc()
            log.error("relay: quarantined outbox row %s (%s on %s, key %s, %d bytes of data), refused by the "
                      "broker: %s; the later rows of its aggregate wait until an operator runs "
                      "`python -m services.kernel.admin outbox-republish %s` or `outbox-drop %s`",
                      r.seq, r.event_type, r.topic, r.key, len(r.value), _describe(error), r.seq, r.seq)
        return len(published) + len(quarantine)

    def backlog(self) -> int:
        """Refresh the outbox gauges; returns how many rows wait to be published (quarantined ones not)."""
        with self.engine.connect() as conn:
            n = conn.execute(sa_select(func.count()).select_from(outbox)
                             .where(outbox.c.published_at.is_(None), outbox.c.quarantined_at.is_(None))
                             ).scalar_one()
            health = outbox_health(conn, stall_seconds=float("inf"))
        metrics.OUTBOX_BACKLOG.set(n)
        metrics.OUTBOX_QUARANTINED.set(health["quarantined"])
        metrics.OUTBOX_WAITING_SECONDS.set(health["waiting_seconds"])
        return n

    def cleanup(self) -> int:
        """Delete the published outbox rows created longer ago than the window (and published over an hour
        ago), and the inbox rows past theirs (retention.py); return how many outbox rows went. By creation,
        not by publishing: a re-queue (recovery.py) publishes a row again, and must not keep it beyond the
        window in which consumers' inboxes still know it."""
        with self.engine.begin() as conn:
            n = conn.execute(text(
                "DELETE FROM outbox WHERE published_at < now() - interval '1 hour' "
                "AND created_at < now() - make_interval(secs => :s)"),
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
