"""Where a member of the consumer group starts reading, and noticing partitions nobody reads."""
from __future__ import annotations

import logging

from kafka import ConsumerRebalanceListener, KafkaAdminClient

from .. import broker
from .apply import ClusterChanged, RecordApplier
from .offsets import reset_offsets, stored_offsets

log = logging.getLogger(__name__)


class Orphaned(Exception):
    """Partitions of the subscribed topics are assigned to no member of the group."""


class Stalled(Orphaned):
    """This member holds partitions with records waiting but has been fetching nothing: kafka-python 3.0 can
    leave a member so after a rejoin whose SyncGroup answer arrived after poll() gave up (the new assignment
    is never applied, the old one stays paused, and the broker drops the member). Rejoining mends it."""


class Moved(Orphaned):
    """The stored offsets of partitions this member was just assigned changed before it applied anything
    (e.g. another process of the instance reset them): it rejoins and seeks again."""


class SeekToStoredOffsets(ConsumerRebalanceListener):
    """On every (re)join each assigned partition is read from its stored offset (from the beginning if
    there is none). kafka-python calls this on its network loop, where blocking stalls heartbeats and the
    SyncGroup that may follow, so it only reads the stored offsets (one local query) and seeks; what asks
    the broker — is it still the cluster the offsets refer to (`check_assignment`), does a stored offset lie
    outside the log (`out_of_range`) — the runner does in its own thread after the poll.

    `watch` is the instance's recovery.ClusterWatch (or None), passed in by the worker.
    """

    def __init__(self, consumer, applier: RecordApplier, *, engine, bootstrap: str, timeout_ms: int, watch=None):
        self.consumer = consumer
        self.applier = applier
        self.group = applier.group
        self.engine = engine
        self.bootstrap = bootstrap
        self.timeout_ms = timeout_ms
        self.watch = watch
        self.probe = None  # a group-less client for the log ends (the runner closes it)
        self.sought: dict[tuple[str, int], int | None] = {}  # where the last assignment started reading
        self.needs_check = False

    def on_partitions_revoked(self, revoked):
        log.info("%s: revoked %s", self.group, sorted((tp.topic, tp.partition) for tp in revoked))

    def on_partitions_assigned(self, assigned):
        stored = stored_offsets(self.engine)
        for tp in assigned:
            offset = stored.get((tp.topic, tp.partition))
            if offset is None:
                self.consumer.seek_to_beginning(tp)
            else:
                self.consumer.seek(tp, offset)
            self.sought[(tp.topic, tp.partition)] = offset
        self.needs_check = True
        log.info("%s: assigned %s", self.group,
                 {f"{tp.topic}/{tp.partition}": stored.get((tp.topic, tp.partition), 0) for tp in assigned})

    def check_assignment(self) -> None:
        """After a (re)join, before any record is applied: the broker must still be the cluster the stored
        offsets refer to, and the offsets must still be those sought; else ClusterChanged (the runner
        rejoins and seeks again)."""
        self.needs_check = False
        if self.watch is not None:
            changed = self.watch.reconcile()
            self.applier.cluster_id = self.watch.cluster_id()
            if changed:
                raise ClusterChanged("the broker lost its data: the stored offsets were reset")
        stored = stored_offsets(self.engine)
        moved = {k for k, v in self.sought.items() if stored.get(k) != v and k in _assigned_now(self.consumer)}
        if moved:
            raise Moved(f"stored offsets of {sorted(moved)} changed since they were sought")

    def out_of_range(self, positions: dict) -> None:
        """The fetch positions `positions` ({TopicPartition: offset}) lie outside their logs. Beyond the end:
        the broker lost its data (or a topic was recreated) — recover and rejoin. Before the start: retention
        removed records this member never read — say so and read on from the log start."""
        tps = list(positions)
        starts, ends = self._log_bounds(tps)
        beyond = [(tp.topic, tp.partition) for tp, off in positions.items() if off > ends.get(tp, 0)]
        if beyond:
            log.warning("%s: stored offsets beyond the log end for %s", self.group, sorted(beyond))
            if self.watch is None or not self.watch.reconcile():
                with self.engine.begin() as conn:
                    reset_offsets(conn, beyond)
            raise ClusterChanged(f"stored offsets beyond the log end for {sorted(beyond)}")
        for tp, off in positions.items():
            start = starts.get(tp, 0)
            if off < start:
                log.warning("%s: records %d..%d of %s/%d were removed by retention before they were read; "
                            "reading on from %d", self.group, off, start - 1, tp.topic, tp.partition, start)
                self.consumer.seek(tp, start)

    def _log_bounds(self, tps) -> tuple[dict, dict]:
        if self.probe is None:
            self.probe = broker.consumer(self.bootstrap, None, self.timeout_ms)
        return (self.probe.beginning_offsets(tps, timeout_ms=self.timeout_ms),
                self.probe.end_offsets(tps, timeout_ms=self.timeout_ms))


def _assigned_now(consumer) -> set[tuple[str, int]]:
    return {(tp.topic, tp.partition) for tp in consumer.assignment()}


def unowned_partitions(bootstrap: str, group_id: str, topics: list[str], timeout_ms: int) -> set[tuple[str, int]]:
    """The partitions of `topics` that no member of the group is assigned (none while it rebalances)."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=timeout_ms)
    try:
        group = admin.describe_groups([group_id])[group_id]
        if (group.get("group_state") or group.get("state") or "").lower() not in ("stable", "empty", "dead"):
            return set()  # a rebalance is under way: members' assignments are not settled yet
        described = admin.describe_topics(topics)
    finally:
        admin.close()
    wanted = {(t["name"], p["partition_index"]) for t in described if not t.get("error_code")
              for p in t.get("partitions", [])}
    owned = set()
    for member in group.get("members") or []:
        owned.update(_assigned(member.get("member_assignment") or {}))
    return wanted - owned


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
