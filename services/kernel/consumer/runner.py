"""The consumer runner: one member of a service's consumer group.

It polls, hands each partition's records to the exactly-once apply path
(apply.py) in runs of `batch_size`, seeks back and waits after a transient
failure, and restarts itself (rejoining the group, seeking to the stored
offsets) after any other error. The service database, not Kafka, owns the
offsets, so auto-commit is off and nothing is ever committed to the broker.
"""
from __future__ import annotations

import logging
import threading
import time

from kafka.errors import OffsetOutOfRangeError

from .. import broker, metrics
from ..contracts import ContractRegistry
from ..federation import Federation
from ..restart import keep_running
from .apply import ClusterChanged, RecordApplier, Retry
from .assignment import Orphaned, SeekToStoredOffsets, Stalled, unowned_partitions
from .handlers import Handlers
from .undecodable import UNDECODABLE, pass_over
from .offsets import stored_offsets

log = logging.getLogger(__name__)


class ConsumerRunner:
    """`watch`: the instance's recovery.ClusterWatch (or None: no cluster checks); the worker builds it,
    so that recovery is not imported here."""

    def __init__(self, *, group: str, bootstrap: str, engine, uow_factory, handlers: Handlers,
                 federation: Federation, contracts: ContractRegistry, max_retries: int = 5,
                 timeout_ms: int = 10_000, topics: list[str] | None = None, watch=None, batch_size: int = 100,
                 replay=None):
        self.group = group
        self.bootstrap = bootstrap
        self.engine = engine
        self.timeout_ms = timeout_ms
        self.topics = topics or handlers.topics(contracts)
        self.watch = watch
        self.batch_size = batch_size
        self.applier = RecordApplier(group=group, uow_factory=uow_factory, handlers=handlers,
                                     federation=federation, contracts=contracts, max_retries=max_retries,
                                     replay=replay)
        self.applier.partitions = self._partition_count
        self._partitions: dict[str, int] = {}  # per topic, from the consumer's metadata: fixed (see README)
        self.consumer = None
        self._seeker: SeekToStoredOffsets | None = None
        self._idle_since: float | None = None  # since when this member has had no partitions
        self.orphan_check_after = 15.0          # seconds without partitions before asking the group
        self.stall_check_after = 10.0           # seconds without records, while holding partitions, before
        self._fetched_at = time.monotonic()     # checking whether records wait there (see Stalled)

    def _partition_count(self, topic: str) -> int | None:
        """The topic's number of partitions, from the consumer's metadata (known once it subscribed),
        cached: a topic's partition count is fixed."""
        n = self._partitions.get(topic)
        if n is None and self.consumer is not None:
            parts = self.consumer.partitions_for_topic(topic)
            if parts:
                n = self._partitions[topic] = len(parts)
        return n

    def stored_offsets(self) -> dict[tuple[str, int], int]:
        return stored_offsets(self.engine)

    def start(self):
        if self.watch is not None:
            self.watch.reconcile()
        self.consumer = broker.consumer(self.bootstrap, self.group, self.timeout_ms)
        for topic in self.topics:  # know the partitions before joining: a leader without them assigns nothing
            self.consumer.partitions_for_topic(topic)
        self._seeker = SeekToStoredOffsets(self.consumer, self.applier, engine=self.engine,
                                           bootstrap=self.bootstrap, timeout_ms=self.timeout_ms, watch=self.watch)
        self.consumer.subscribe(self.topics, listener=self._seeker)
        self._idle_since = None
        self._fetched_at = time.monotonic()

    def poll_once(self, timeout_ms: int = 500) -> int:
        try:
            batches = self.consumer.poll(timeout_ms=timeout_ms)
        except OffsetOutOfRangeError as e:
            self._seeker.out_of_range(e.args[0])
            return 0
        except UNDECODABLE as e:  # the client cannot parse a fetched batch: find the record, pass over it
            pass_over(self.consumer, engine=self.engine, bootstrap=self.bootstrap, group=self.group,
                      timeout_ms=self.timeout_ms, error=e)
            return 0
        if self._seeker.needs_check:  # joined in this poll: before any record is applied
            self._seeker.check_assignment()
        if batches:
            self._check_same_cluster()
            self._fetched_at = time.monotonic()
        self._watch_assignment()
        n = 0
        for tp, records in batches.items():
            for start in range(0, len(records), self.batch_size):
                try:
                    n += self.applier.apply(records[start:start + self.batch_size])
                except Retry as e:
                    self.consumer.seek(tp, e.record.offset)
                    threading.Event().wait(self.applier.retry_delay(e.record))
                    break
        if batches:
            self._update_lag(batches.keys())
        return n

    def run(self, stop: threading.Event) -> None:
        """Poll until stopped; after an error, leave the group and start again (seeking to the stored offsets)."""
        keep_running(self._poll_started, stop, name=self.group, after_error=self.close,
                     first_wait=0.5, longest_wait=4.0)
        self.close()

    def _poll_started(self) -> None:
        if self.consumer is None:
            self.start()
        self.poll_once()

    def close(self):
        for client in (self.consumer, self._seeker and self._seeker.probe):
            if client is not None:
                try:
                    client.close(autocommit=False)
                except Exception as e:
                    log.warning("%s: closing consumer: %r", self.group, e)
        self.consumer = self._seeker = None

    def _watch_assignment(self) -> None:
        """A member with no partitions may rightly be idle (more members than partitions), but the
        group may also have assigned partitions to no one: a leader that joined before it knew the
        topics' partitions (seen in CI with kafka-python 3.0) may never rebalance. After a while
        without partitions, ask the group; if some partition has no owner, rejoin."""
        if self.consumer.assignment():
            self._idle_since = None
            self._watch_progress()
            return
        now = time.monotonic()
        if self._idle_since is None:
            self._idle_since = now
        elif now - self._idle_since > self.orphan_check_after:
            self._idle_since = now
            orphans = self.unowned_partitions()
            if orphans:
                raise Orphaned(f"partitions owned by no member of {self.group}: {sorted(orphans)}")

    def _watch_progress(self) -> None:
        """Holding partitions but fetching nothing for a while: fine when everything is applied, a stall
        (raise Stalled, so the run loop rejoins) when the stored offsets lie behind the log end."""
        if time.monotonic() - self._fetched_at < self.stall_check_after:
            return
        self._fetched_at = time.monotonic()
        behind = self.partitions_behind()
        if behind:
            raise Stalled(f"{self.group} fetched nothing for {self.stall_check_after:.0f}s while records wait "
                          f"in {sorted(behind)}")

    def partitions_behind(self) -> set[tuple[str, int]]:
        """Assigned partitions with records not yet applied: the stored offset (or the log start, when
        retention removed what was never read) lies before the log end."""
        parts = list(self.consumer.assignment())
        if not parts:
            return set()
        starts, ends = self.consumer.beginning_offsets(parts), self.consumer.end_offsets(parts)
        stored = self.stored_offsets()
        return {(tp.topic, tp.partition) for tp, end in ends.items()
                if max(stored.get((tp.topic, tp.partition), 0), starts.get(tp, 0)) < end}

    def unowned_partitions(self) -> set[tuple[str, int]]:
        return unowned_partitions(self.bootstrap, self.group, self.topics, self.timeout_ms)

    def _check_same_cluster(self):
        """Records fetched from another cluster (the broker came back empty) must not meet old offsets."""
        cluster = getattr(getattr(self.consumer, "_client", None), "cluster", None)
        current = getattr(cluster, "cluster_id", None)
        known = self.applier.cluster_id
        if known and current and current != known:
            raise ClusterChanged(f"cluster id changed {known} -> {current}")

    def _update_lag(self, tps):
        for tp in tps:
            end = self.consumer.highwater(tp)
            pos = self.consumer.position(tp) if tp in self.consumer.assignment() else None
            if end is not None and pos is not None:
                metrics.CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(max(0, end - pos))
