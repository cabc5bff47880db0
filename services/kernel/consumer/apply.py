"""The one path by which records change the service database, exactly once in effect.

A run of one partition's consecutive records (a poll's batch, or a single
record when a failing batch is taken apart to find its culprit) is applied in
one transaction: lock the partition's stored offset (fenced: a record below it
was applied before and is skipped), record the events' (source, id) in the inbox (an
event seen before, also earlier in the same run, is not applied again), apply
each handler's effect and stage any new outbox rows, advance the offset. A
record that is not a well-formed, correctly signed, contract-valid event of a
federation member, or that is not on the partition the producers' partitioner
puts its key on (WrongPartition: the partition is outside the signature), goes to `<topic>.DLT` (through the outbox, in that same
transaction) with `dlt_*` headers saying why; so does a record whose handler
rejects it, or keeps failing after bounded retries (a ProgrammingError — a
missing table or column — is the deployment's fault, so it is retried until
fixed, and /healthz shows the stall). Should even parking fail,
the record is noted in `parking_failure` and passed over: no record stops the
bus. Transient database errors raise `Retry`: the runner seeks back and
retries after a backoff.
"""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Callable

from kafka.partitioner.default import murmur2
from sqlalchemy import insert, text
from sqlalchemy.exc import ProgrammingError

from .. import broker, metrics
from ..contracts import ContractError, ContractRegistry
from ..db import is_transient
from ..errors import Rejected
from ..events import CloudEvent, EnvelopeError, check, decode_record
from ..faults import crash_point
from ..federation import Federation
from ..parking import MAX_ERROR_CHARS, clean_text, dead_letter
from ..tables import parking_failure
from .offsets import advance_offset, cluster_of_offsets, lock_offset
from .handlers import Handlers
from .replay import ReplayWindow

log = logging.getLogger(__name__)
# one statement for a whole run; text, as SQLAlchemy 2.0 does not cache compiled PostgreSQL ON CONFLICT
INBOX_INSERT = text(
    'INSERT INTO inbox (event_id, source, event_type, topic, partition, "offset") '
    "SELECT * FROM unnest(CAST(:ids AS varchar[]), CAST(:sources AS varchar[]), CAST(:types AS varchar[]), "
    "CAST(:topics AS varchar[]), CAST(:partitions AS int[]), CAST(:offsets AS bigint[])) "
    "ON CONFLICT DO NOTHING RETURNING source, event_id")


class ClusterChanged(Exception):
    """The broker is another cluster than the one the stored offsets refer to."""


class Retry(Exception):
    """Stop this partition's records at `record`: they are fetched again from it after a backoff."""

    def __init__(self, record):
        super().__init__(record)
        self.record = record


@dataclass(frozen=True)
class Checked:
    """A record and what its checks found."""
    rec: object
    event: CloudEvent | None                # None: not a valid event of a member
    dead: tuple[str, str] | None = None     # (reason, error): park it on the DLT instead of applying it

    def dead_lettered(self, reason: str, error: str) -> "Checked":
        return replace(self, dead=(reason, error))


@dataclass(kw_only=True)
class RecordApplier:
    """Applies a consumer group's records to the service database."""
    group: str
    uow_factory: Callable[[], object]
    handlers: Handlers
    federation: Federation
    contracts: ContractRegistry
    max_retries: int = 5
    replay: ReplayWindow | None = None  # None: events of any time are taken (tests of their own)
    cluster_id: str | None = None  # the cluster the stored offsets refer to, once known
    # a topic's number of partitions (None: unknown); None: records are not checked for their partition
    # (appliers of tests of their own). The runner gives the consumer's metadata, cached per topic.
    partitions: Callable[[str], int | None] | None = None
    _failures: dict[tuple[str, int, int], int] = field(default_factory=dict)  # handler failures per record

    def apply(self, records) -> int:
        """Apply consecutive records of one partition; raises Retry or ClusterChanged.

        All in one transaction; if that fails for another reason than a transient
        one, one record at a time, which isolates the record that fails.
        """
        run = [self.check(rec) for rec in records]
        if len(run) > 1:
            try:
                return self._commit(run)
            except ClusterChanged:
                raise  # the runner restarts, and seeks to the (reset) stored offsets
            except Exception as e:
                if is_transient(e):
                    log.warning("%s: transient error, retrying from %s: %s", self.group, _at(records[0]), e)
                    raise Retry(records[0]) from e
                log.warning("%s: batch failed (%r); applying one record at a time", self.group, e)
        for c in run:
            try:
                self._apply_alone(c)
            except (Retry, ClusterChanged):
                raise
            except Exception as e:
                if is_transient(e):  # e.g. while dead-lettering it
                    raise Retry(c.rec) from e
                raise
        return len(run)

    def retry_delay(self, rec) -> float:
        """Seconds to wait before fetching `rec` again: longer the more often its handler failed."""
        return min(0.2 * 2 ** self._failures.get(_key(rec), 1), 5.0)

    def check(self, rec) -> Checked:
        """Decode the record and check envelope, signature, contract and producer."""
        try:
            event = decode_record(rec.headers, rec.key, rec.value, topic=rec.topic)
            check(event, self.federation, self.contracts)
            if self.replay is not None:
                self.replay.check(event)
            misplaced = self._misplaced(rec)
            if misplaced:
                return Checked(rec, event, ("WrongPartition", misplaced))
            return Checked(rec, event)
        except (EnvelopeError, ContractError) as e:
            return Checked(rec, None, (type(e).__name__, str(e)))
        except Exception as e:  # e.g. RecursionError on absurdly nested JSON: no record may stop the bus
            return Checked(rec, None, ("Undecodable", f"{type(e).__name__}: {e}"))

    def _misplaced(self, rec) -> str | None:
        """Why the record is not on the partition every producer's partitioner (kafka-python's default:
        murmur2(key) & 0x7fffffff % partitions) puts its key on, or None. The partition is outside the
        signature: a member could copy a genuine event to another partition, to have it applied ahead of
        (or behind) the events it must follow, which only their one partition keeps in order."""
        if self.partitions is None or rec.key is None:
            return None
        n = self.partitions(rec.topic)
        if not n:
            return None
        expected = (murmur2(rec.key) & 0x7FFFFFFF) % n
        if expected == rec.partition:
            return None
        return (f"key {rec.key.decode(errors='replace')!r} belongs on partition {expected} of {n} of "
                f"{rec.topic}, read from partition {rec.partition}")

    def _apply_alone(self, c: Checked) -> None:
        """A run of one: Rejected is dead-lettered at once, another failure after max_retries."""
        key = _key(c.rec)
        try:
            self._commit([c])
        except ClusterChanged:
            raise
        except Rejected as e:
            self._failures.pop(key, None)
            self._park(c.dead_lettered("Rejected", str(e)))
        except Exception as e:
            if is_transient(e):
                log.warning("%s: transient error at %s: %s", self.group, _at(c.rec), e)
                raise Retry(c.rec) from e
            if isinstance(e, ProgrammingError):  # a missing table or column: the deployment's fault, not the
                self._failures[key] = min(self._failures.get(key, 0) + 1, 4)  # record's; backs off to 3.2 s
                log.error("%s: %s at %s; waiting for it to be fixed (/healthz reports the stall): %s",
                          self.group, type(e).__name__, _at(c.rec), e)
                raise Retry(c.rec) from e
            if c.dead is not None:  # parking it failed: retrying would fail alike
                self._note_parking_failure(c, e)
                return
            n = self._failures[key] = self._failures.get(key, 0) + 1
            if n <= self.max_retries:
                log.warning("%s: handler failed (%d/%d) at %s: %r", self.group, n, self.max_retries, _at(c.rec), e)
                raise Retry(c.rec) from e
            self._failures.pop(key, None)
            self._park(c.dead_lettered("HandlerError", f"{type(e).__name__}: {e}"))

    def _park(self, c: Checked) -> None:
        """Commit `c` as a dead letter; if even that fails (not transiently), note it and move on."""
        try:
            self._commit([c])
        except ClusterChanged:
            raise
        except Exception as e:
            if is_transient(e):
                raise Retry(c.rec) from e
            self._note_parking_failure(c, e)

    def _note_parking_failure(self, c: Checked, error: Exception) -> None:
        """The record could not be parked on its dead-letter topic: record that in `parking_failure` with the
        offset advanced past it, so consumption goes on. Should that fail too, the log and the
        yhd_parking_failures_total metric are all that is left, and the record is passed over."""
        rec, (reason, why) = c.rec, c.dead
        detail = clean_text(f"{reason}: {why}; parking failed: {type(error).__name__}: {error}", MAX_ERROR_CHARS)
        metrics.PARKING_FAILURES.labels(rec.topic).inc()
        log.error("%s: could not park %s on the dead-letter topic, passing over it: %s", self.group, _at(rec), detail)
        try:
            with self.uow_factory() as uow:
                if lock_offset(uow.conn, rec.topic, rec.partition) <= rec.offset:
                    uow.conn.execute(insert(parking_failure).values(
                        consumer_group=self.group, topic=rec.topic, partition=rec.partition, offset=rec.offset,
                        reason=clean_text(reason, 200), error=detail))
                    advance_offset(uow.conn, rec.topic, rec.partition, rec.offset + 1)
                uow.commit()
        except Exception as e:
            if is_transient(e):
                raise Retry(rec) from e
            log.error("%s: could not even note the parking failure at %s: %r", self.group, _at(rec), e)

    def _commit(self, run: list[Checked]) -> int:
        """The exactly-once transaction: offset, inbox, effects, new events and dead letters."""
        first, last = run[0].rec, run[-1].rec
        consumed, dead = Counter(), Counter()
        with self.uow_factory() as uow:
            stored = lock_offset(uow.conn, first.topic, first.partition)
            if self.cluster_id and cluster_of_offsets(uow.conn) not in (None, self.cluster_id):
                # another process of this instance (e.g. the relay) found the broker's log lost and reset
                # the offsets: these positions belong to the old log, so rejoin and start from the stored ones
                raise ClusterChanged("the stored offsets were reset for a new Kafka cluster")
            todo = [c for c in run if c.rec.offset >= stored]
            for c in run:
                if c.rec.offset < stored and c.event is not None:
                    consumed[(c.event.type, c.rec.topic, "already-applied")] += 1
            fresh = self._record_in_inbox(uow.conn, [c for c in todo if c.dead is None
                                                     and self.handlers.get(c.event.type)])
            for i, c in enumerate(todo):
                if c.dead is not None:
                    self._stage_dead_letter(uow, c)
                    dead[(c.rec.topic, c.dead[0])] += 1
                    continue
                handler = self.handlers.get(c.event.type)
                if handler is None:
                    outcome = "ignored"
                elif (c.event.source, c.event.id) in fresh:
                    fresh.discard((c.event.source, c.event.id))  # a duplicate later in this run is not applied again
                    handler(uow, c.event)
                    outcome = "applied"
                else:
                    outcome = "duplicate"
                consumed[(c.event.type, c.rec.topic, outcome)] += 1
                if i == len(todo) // 2 and len(todo) >= 4:
                    crash_point("consumer.mid-batch")  # mid-transaction: nothing of this batch may stay
            if stored <= last.offset:
                advance_offset(uow.conn, last.topic, last.partition, last.offset + 1)
            uow.commit()
        if self._failures:
            for c in run:
                self._failures.pop(_key(c.rec), None)
        for labels, n in consumed.items():  # labels() costs ~30 µs (multiprocess): once per kind
            metrics.EVENTS_CONSUMED.labels(*labels).inc(n)
        for labels, n in dead.items():
            metrics.EVENTS_DEAD_LETTERED.labels(*labels).inc(n)
        return len(run)

    @staticmethod
    def _record_in_inbox(conn, wanted: list[Checked]) -> set[tuple[str, str]]:
        """Insert the events' (source, id) into the inbox; returns those not seen before. Deduplication is by
        both: another member reusing a genuine event's id cannot make it be skipped."""
        if not wanted:
            return set()
        return {(source, event_id) for source, event_id in conn.execute(INBOX_INSERT, {
            "ids": [c.event.id for c in wanted], "sources": [c.event.source for c in wanted],
            "types": [c.event.type for c in wanted], "topics": [c.rec.topic for c in wanted],
            "partitions": [c.rec.partition for c in wanted], "offsets": [c.rec.offset for c in wanted]})}

    def _stage_dead_letter(self, uow, c: Checked) -> None:
        """Park the record on <topic>.DLT through the outbox, in the caller's transaction (parking.py makes a
        copy of any record that the outbox can store and the broker accept)."""
        rec, (reason, error) = c.rec, c.dead
        parked = dead_letter(rec, group=self.group, reason=reason, error=error)
        uow.outbox.add_record(event_id=parked.event_id, event_type=c.event.type if c.event else "unknown",
                              topic=rec.topic + broker.DLT_SUFFIX, key=parked.key, headers=parked.headers,
                              value=parked.value)
        log.warning("%s: dead-lettered %s: %s: %s", self.group, _at(rec), reason, clean_text(error, 500))


def _key(rec) -> tuple[str, int, int]:
    return rec.topic, rec.partition, rec.offset


def _at(rec) -> str:
    return f"{rec.topic}/{rec.partition}@{rec.offset}"
