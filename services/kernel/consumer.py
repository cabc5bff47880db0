"""Consumer runner: the service database owns the offsets.

Per small batch of one partition's records (or per record, when a batch
fails and the culprit must be isolated), one transaction: advance the stored offset (fenced: a record at
or below the stored offset is never applied again), record the event id in
the inbox (an event seen before is not applied again), apply the handler's
effect and stage any new outbox rows. A record that is not a well-formed,
correctly signed, contract-valid event of a federation member goes to
`<topic>.DLT` (through the outbox, in that same transaction) with headers
saying why. Transient database errors seek back and retry with backoff;
a handler that keeps failing is dead-lettered after bounded retries.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from typing import Callable

from kafka import ConsumerRebalanceListener
from sqlalchemy import delete, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert

from . import broker, metrics
from .contracts import ContractError, ContractRegistry
from .db import is_transient
from .errors import Rejected  # noqa: F401  (handlers raise it; the runner dead-letters it)
from .events import CloudEvent, EnvelopeError, check, decode_record
from .federation import Federation
from .faults import crash_point
from .tables import consumer_offset, inbox

log = logging.getLogger(__name__)
# Hot-path statements as text: SQLAlchemy 2.0 does not cache compiled PostgreSQL INSERT ... ON CONFLICT
INBOX_INSERT = text(
    'INSERT INTO inbox (event_id, source, event_type, topic, partition, "offset") '
    "SELECT * FROM unnest(CAST(:ids AS varchar[]), CAST(:sources AS varchar[]), CAST(:types AS varchar[]), "
    "CAST(:topics AS varchar[]), CAST(:partitions AS int[]), CAST(:offsets AS bigint[])) "
    "ON CONFLICT DO NOTHING RETURNING event_id")
OFFSET_ROW = text("INSERT INTO consumer_offset (topic, partition, next_offset) VALUES (:t, :p, 0) "
                  "ON CONFLICT DO NOTHING")
CLUSTER_OF_OFFSETS = text("SELECT cluster_id FROM kafka_cluster WHERE id = 1")
OFFSET_LOCK = text("SELECT next_offset FROM consumer_offset WHERE topic = :t AND partition = :p FOR UPDATE")
OFFSET_ADVANCE = text("UPDATE consumer_offset SET next_offset = :n, updated_at = now() "
                      "WHERE topic = :t AND partition = :p")
Handler = Callable[[object, CloudEvent], None]


class Handlers:
    """Event handlers of a service, registered by CloudEvents type."""

    def __init__(self):
        self._by_type: dict[str, Handler] = {}

    def on(self, event_type: str):
        def register(fn: Handler) -> Handler:
            self._by_type[event_type] = fn
            return fn
        return register

    def get(self, event_type: str) -> Handler | None:
        return self._by_type.get(event_type)

    def types(self) -> set[str]:
        return set(self._by_type)

    def topics(self, contracts: ContractRegistry) -> list[str]:
        return sorted({contracts.get(t).topic for t in self._by_type})


class _SeekToStoredOffsets(ConsumerRebalanceListener):
    def __init__(self, runner: "ConsumerRunner"):
        self.runner = runner

    def on_partitions_revoked(self, revoked):
        log.info("%s: revoked %s", self.runner.group, sorted((tp.topic, tp.partition) for tp in revoked))

    def on_partitions_assigned(self, assigned):
        self.runner.seek_to_stored(assigned)


class ClusterChanged(Exception):
    """The broker is another cluster than the one the stored offsets refer to."""


class Orphaned(Exception):
    """Partitions of the subscribed topics are assigned to no member of the group."""


class _Retry(Exception):
    """Stop this partition's batch; it is re-fetched from the failed record."""


class ConsumerRunner:
    def __init__(self, *, group: str, bootstrap: str, engine, uow_factory, handlers: Handlers,
                 federation: Federation, contracts: ContractRegistry, max_retries: int = 5,
                 timeout_ms: int = 10_000, topics: list[str] | None = None, watch=None,
                 batch_size: int = 100):
        self.group = group
        self.bootstrap = bootstrap
        self.engine = engine
        self.uow_factory = uow_factory
        self.handlers = handlers
        self.federation = federation
        self.contracts = contracts
        self.max_retries = max_retries
        self.timeout_ms = timeout_ms
        self.topics = topics or handlers.topics(contracts)
        self.watch = watch  # recovery.ClusterWatch (or None), passed in by the worker
        self.batch_size = batch_size
        self._cluster_id = None
        self.consumer = None
        self._probe = None
        self._failures: dict[tuple[str, int, int], int] = {}
        self._idle_since: float | None = None  # since when this member has had no partitions
        self.orphan_check_after = 15.0          # seconds without partitions before asking the group

    # -- offsets -------------------------------------------------------------
    def stored_offsets(self) -> dict[tuple[str, int], int]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(consumer_offset.c.topic, consumer_offset.c.partition,
                                       consumer_offset.c.next_offset)).all()
        return {(r.topic, r.partition): r.next_offset for r in rows}

    def seek_to_stored(self, assigned) -> None:
        if self.watch is not None:  # every (re)join: is this still the cluster our offsets refer to?
            self.watch.reconcile()
            self._cluster_id = self.watch.cluster_id()
        stored = self.stored_offsets()
        ends = self._end_offsets(assigned)
        beyond = [(tp.topic, tp.partition) for tp in assigned
                  if stored.get((tp.topic, tp.partition), 0) > ends.get(tp, 0)]
        if beyond:
            # the log is shorter than what we applied: the broker lost its data (or a topic was recreated)
            log.warning("%s: stored offsets beyond the log end for %s", self.group, beyond)
            if self.watch is None or not self.watch.reconcile():
                with self.engine.begin() as conn:
                    reset_offsets(conn, beyond)
            stored = self.stored_offsets()
        for tp in assigned:
            offset = stored.get((tp.topic, tp.partition))
            if offset is None:
                self.consumer.seek_to_beginning(tp)
            else:
                self.consumer.seek(tp, offset)
        log.info("%s: assigned %s", self.group,
                 {f"{tp.topic}/{tp.partition}": stored.get((tp.topic, tp.partition), 0) for tp in assigned})

    @staticmethod
    def _claim(conn, rec) -> bool:
        """Advance the stored offset past `rec`; False if it was already there (applied before)."""
        conn.execute(pg_insert(consumer_offset).values(topic=rec.topic, partition=rec.partition, next_offset=0)
                     .on_conflict_do_nothing())
        return conn.execute(text(
            "UPDATE consumer_offset SET next_offset = :next, updated_at = now() "
            "WHERE topic = :t AND partition = :p AND next_offset <= :o RETURNING next_offset"),
            {"next": rec.offset + 1, "t": rec.topic, "p": rec.partition, "o": rec.offset}).first() is not None

    # -- one record ----------------------------------------------------------
    def process(self, rec) -> str:
        """Apply one record exactly once in effect; returns the outcome."""
        try:
            event = decode_record(rec.headers, rec.key, rec.value)
            check(event, self.federation, self.contracts)
        except (EnvelopeError, ContractError) as e:
            return self._dead_letter(rec, type(e).__name__, str(e))
        handler = self.handlers.get(event.type)
        key = (rec.topic, rec.partition, rec.offset)
        try:
            with self.uow_factory() as uow:
                if not self._claim(uow.conn, rec):
                    outcome = "already-applied"
                elif handler is None:
                    outcome = "ignored"
                elif uow.conn.execute(pg_insert(inbox).values(
                        event_id=event.id, source=event.source, event_type=event.type, topic=rec.topic,
                        partition=rec.partition, offset=rec.offset).on_conflict_do_nothing()
                        .returning(inbox.c.event_id)).first() is None:
                    outcome = "duplicate"
                else:
                    handler(uow, event)
                    outcome = "applied"
                uow.commit()
        except Rejected as e:
            self._failures.pop(key, None)
            return self._dead_letter(rec, "Rejected", str(e), event.type)
        except Exception as e:
            if is_transient(e):
                log.warning("%s: transient error at %s: %s", self.group, key, e)
                raise _Retry() from e
            n = self._failures[key] = self._failures.get(key, 0) + 1
            if n <= self.max_retries:
                log.warning("%s: handler failed (%d/%d) at %s: %r", self.group, n, self.max_retries, key, e)
                raise _Retry() from e
            self._failures.pop(key, None)
            return self._dead_letter(rec, "HandlerError", f"{type(e).__name__}: {e}", event.type)
        self._failures.pop(key, None)
        metrics.EVENTS_CONSUMED.labels(event.type, rec.topic, outcome).inc()
        return outcome

    def _dead_letter(self, rec, reason: str, error: str, event_type: str = "unknown") -> str:
        with self.uow_factory() as uow:
            if self._claim(uow.conn, rec):
                self._stage_dead_letter(uow, rec, reason, error, event_type)
            uow.commit()
        return "dead-lettered"

    def _stage_dead_letter(self, uow, rec, reason: str, error: str, event_type: str = "unknown") -> None:
        """Park the record on <topic>.DLT through the outbox, in the caller's transaction."""
        headers = list(rec.headers or []) + [
            ("dlt_reason", reason.encode()), ("dlt_error", error[:2000].encode()),
            ("dlt_topic", rec.topic.encode()), ("dlt_partition", str(rec.partition).encode()),
            ("dlt_offset", str(rec.offset).encode()), ("dlt_consumer_group", self.group.encode())]
        uow.outbox.add_record(
            event_id=f"dlt:{self.group}:{rec.topic}:{rec.partition}:{rec.offset}",
            event_type=event_type, topic=rec.topic + broker.DLT_SUFFIX,
            key=(rec.key or b"").decode("utf-8", "replace"), headers=headers, value=rec.value or b"")
        log.warning("%s: dead-lettered %s/%d@%d: %s: %s", self.group, rec.topic, rec.partition, rec.offset,
                    reason, error)
        metrics.EVENTS_DEAD_LETTERED.labels(rec.topic, reason).inc()

    # -- a run of one partition's records, one transaction ---------------------
    def _checked(self, rec):
        try:
            event = decode_record(rec.headers, rec.key, rec.value)
            check(event, self.federation, self.contracts)
            return event, None
        except (EnvelopeError, ContractError) as e:
            return None, e

    def process_batch(self, records) -> int:
        """Apply consecutive records of one partition in one transaction, exactly once in effect.

        Raises _Retry on a transient error; on any other error the caller
        falls back to `process` record by record, which isolates the culprit.
        """
        checked = [(rec, *self._checked(rec)) for rec in records]
        first, last = records[0], records[-1]
        outcomes = []
        with self.uow_factory() as uow:
            conn = uow.conn
            where = {"t": first.topic, "p": first.partition}
            conn.execute(OFFSET_ROW, where)
            stored = conn.execute(OFFSET_LOCK, where).scalar_one()
            if self._cluster_id and conn.execute(CLUSTER_OF_OFFSETS).scalar() not in (None, self._cluster_id):
                # another process of this instance (e.g. the relay) found the broker's log lost and reset
                # the offsets: these positions belong to the old log, so rejoin and start from the stored ones
                raise ClusterChanged("the stored offsets were reset for a new Kafka cluster")
            todo = [c for c in checked if c[0].offset >= stored]
            wanted = [(rec, ev) for rec, ev, err in todo if ev is not None and self.handlers.get(ev.type)]
            new_ids = set()
            if wanted:  # one statement for the whole batch
                new_ids = set(conn.execute(INBOX_INSERT, {
                    "ids": [ev.id for _, ev in wanted], "sources": [ev.source for _, ev in wanted],
                    "types": [ev.type for _, ev in wanted], "topics": [rec.topic for rec, _ in wanted],
                    "partitions": [rec.partition for rec, _ in wanted],
                    "offsets": [rec.offset for rec, _ in wanted]}).scalars())
            for i, (rec, ev, err) in enumerate(todo):
                if err is not None:
                    self._stage_dead_letter(uow, rec, type(err).__name__, str(err))
                    continue
                handler = self.handlers.get(ev.type)
                if handler is None:
                    outcomes.append((ev.type, rec.topic, "ignored"))
                elif ev.id in new_ids:
                    new_ids.discard(ev.id)  # a duplicate later in this same batch is not applied again
                    handler(uow, ev)
                    outcomes.append((ev.type, rec.topic, "applied"))
                else:
                    outcomes.append((ev.type, rec.topic, "duplicate"))
                if i == len(todo) // 2 and len(todo) >= 4:
                    crash_point("consumer.mid-batch")  # mid-transaction: nothing of this batch may stay
            if stored <= last.offset:
                conn.execute(OFFSET_ADVANCE, {**where, "n": last.offset + 1})
            uow.commit()
        for labels, n in Counter(outcomes).items():  # labels() costs ~30 µs (multiprocess): once per kind
            metrics.EVENTS_CONSUMED.labels(*labels).inc(n)
        return len(records)

    # -- the loop ------------------------------------------------------------
    def poll_once(self, timeout_ms: int = 500) -> int:
        batches = self.consumer.poll(timeout_ms=timeout_ms)
        if batches:
            self._check_same_cluster()
        self._watch_assignment()
        n = 0
        for tp, records in batches.items():
            for start in range(0, len(records), self.batch_size):
                chunk = records[start:start + self.batch_size]
                try:
                    n += self._apply_chunk(chunk)
                except _Retry as e:
                    self.consumer.seek(tp, e.args[0].offset)
                    self._backoff(e.args[0])
                    break
        if batches:
            self._update_lag(batches.keys())
        return n

    def _apply_chunk(self, chunk) -> int:
        try:
            return self.process_batch(chunk)
        except ClusterChanged:
            raise  # the run loop restarts the consumer, which seeks to the (reset) stored offsets
        except Exception as e:
            if is_transient(e):
                log.warning("%s: transient error, retrying from %s/%d@%d: %s", self.group, chunk[0].topic,
                            chunk[0].partition, chunk[0].offset, e)
                raise _Retry(chunk[0]) from e
            log.warning("%s: batch failed (%r); applying one record at a time", self.group, e)
        n = 0
        for rec in chunk:  # isolate the record that fails: retried, then dead-lettered
            try:
                self.process(rec)
                n += 1
            except Exception as e:
                if isinstance(e, _Retry) or is_transient(e):
                    raise _Retry(rec) from e
                raise
        return n

    def _watch_assignment(self) -> None:
        """A member with no partitions may rightly be idle (more members than partitions), but the
        group may also have assigned partitions to no one: a leader that joined before it knew the
        topics' partitions (seen in CI with kafka-python 3.0) may never rebalance. After a while
        without partitions, ask the group; if some partition has no owner, rejoin."""
        if self.consumer.assignment():
            self._idle_since = None
            return
        now = time.monotonic()
        if self._idle_since is None:
            self._idle_since = now
        elif now - self._idle_since > self.orphan_check_after:
            self._idle_since = now
            orphans = self.unowned_partitions()
            if orphans:
                raise Orphaned(f"partitions owned by no member of {self.group}: {sorted(orphans)}")

    def unowned_partitions(self) -> set[tuple[str, int]]:
        """The partitions of the subscribed topics that no member of the group is assigned."""
        from kafka import KafkaAdminClient
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=self.timeout_ms)
        try:
            group = admin.describe_groups([self.group])[self.group]
            if (group.get("group_state") or group.get("state") or "").lower() not in ("stable", "empty", "dead"):
                return set()  # a rebalance is under way: members' assignments are not settled yet
            topics = admin.describe_topics(self.topics)
        finally:
            admin.close()
        wanted = {(t["name"], p["partition_index"]) for t in topics if not t.get("error_code")
                  for p in t.get("partitions", [])}
        owned = set()
        for member in group.get("members") or []:
            assignment = member.get("member_assignment") or {}
            for tp in _assigned(assignment):
                owned.add(tp)
        return wanted - owned

    def _check_same_cluster(self):
        """Records fetched from another cluster (the broker came back empty) must not meet old offsets."""
        cluster = getattr(getattr(self.consumer, "_client", None), "cluster", None)
        current = getattr(cluster, "cluster_id", None)
        if self._cluster_id and current and current != self._cluster_id:
            raise ClusterChanged(f"cluster id changed {self._cluster_id} -> {current}")

    def _backoff(self, rec):
        n = self._failures.get((rec.topic, rec.partition, rec.offset), 1)
        threading.Event().wait(min(0.2 * 2 ** n, 5.0))

    def _update_lag(self, tps):
        for tp in tps:
            end = self.consumer.highwater(tp)
            pos = self.consumer.position(tp) if tp in self.consumer.assignment() else None
            if end is not None and pos is not None:
                metrics.CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(max(0, end - pos))

    def _end_offsets(self, tps) -> dict:
        if self._probe is None:  # a group-less client: no re-entrant calls inside the rebalance callback
            self._probe = broker.consumer(self.bootstrap, None, self.timeout_ms)
        return self._probe.end_offsets(list(tps), timeout_ms=self.timeout_ms)  # bounded: runs inside the rebalance

    def start(self):
        if self.watch is not None:
            self.watch.reconcile()
        self.consumer = broker.consumer(self.bootstrap, self.group, self.timeout_ms)
        for topic in self.topics:  # know the partitions before joining: a leader without them assigns nothing
            self.consumer.partitions_for_topic(topic)
        self.consumer.subscribe(self.topics, listener=_SeekToStoredOffsets(self))
        self._idle_since = None

    def close(self):
        for c in (self.consumer, self._probe):
            if c is not None:
                try:
                    c.close(autocommit=False)
                except Exception as e:
                    log.warning("%s: closing consumer: %r", self.group, e)
        self.consumer = self._probe = None

    def run(self, stop: threading.Event) -> None:
        backoff = 0.5
        while not stop.is_set():
            try:
                if self.consumer is None:
                    self.start()
                self.poll_once()
                backoff = 0.5
            except Exception as e:
                log.warning("%s: consumer error: %r; restarting in %.1fs", self.group, e, backoff)
                self.close()
                stop.wait(backoff)
                backoff = min(backoff * 2, 4.0)
        self.close()


def _assigned(assignment) -> list[tuple[str, int]]:
    """(topic, partition) pairs of a described member's assignment (a dict, or the decoded protocol object)."""
    if not isinstance(assignment, dict):
        assignment = assignment.to_dict() if hasattr(assignment, "to_dict") else {}
    out = []
    for t in assignment.get("assigned_partitions") or assignment.get("assignment") or []:
        if isinstance(t, dict):
            out += [(t["topic"], p) for p in t.get("partitions", [])]
        else:
            topic, partitions = t[0], t[1]
            out += [(topic, p) for p in partitions]
    return out


def reset_offsets(conn, partitions: list[tuple[str, int]] | None = None) -> None:
    """Forget stored offsets (all, or of the given partitions): they point into a log that is gone."""
    stmt = delete(consumer_offset)
    if partitions:
        stmt = stmt.where(tuple_(consumer_offset.c.topic, consumer_offset.c.partition).in_(partitions))
    conn.execute(stmt)
