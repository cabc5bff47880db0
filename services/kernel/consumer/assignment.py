"""Where a member of the consumer group starts reading, and noticing partitions nobody reads."""
from __future__ import annotations

import logging

from kafka import ConsumerRebalanceListener, KafkaAdminClient

from .. import broker
from .apply import RecordApplier
from .offsets import reset_offsets, stored_offsets

log = logging.getLogger(__name__)


class Orphaned(Exception):
    """Partitions of the subscribed topics are assigned to no member of the group."""


class Stalled(Orphaned):
    """This member holds partitions with records waiting but has been fetching nothing: kafka-python 3.0 can
    leave a member so after a rejoin whose SyncGroup answer arrived after poll() gave up (the new assignment
    is never applied, the old one stays paused, and the broker drops the member). Rejoining mends it."""


class SeekToStoredOffsets(ConsumerRebalanceListener):
    """On every (re)join: is the broker still the cluster the stored offsets refer to? Then each
    assigned partition is read from its stored offset (from the beginning if there is none).

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

    def on_partitions_revoked(self, revoked):
        log.info("%s: revoked %s", self.group, sorted((tp.topic, tp.partition) for tp in revoked))

    def on_partitions_assigned(self, assigned):
        if self.watch is not None:
            self.watch.reconcile()
            self.applier.cluster_id = self.watch.cluster_id()
        stored = stored_offsets(self.engine)
        ends = self._end_offsets(assigned)
        beyond = [(tp.topic, tp.partition) for tp in assigned
                  if stored.get((tp.topic, tp.partition), 0) > ends.get(tp, 0)]
        if beyond:
            # the log is shorter than what we applied: the broker lost its data (or a topic was recreated)
            log.warning("%s: stored offsets beyond the log end for %s", self.group, beyond)
            if self.watch is None or not self.watch.reconcile():
                with self.engine.begin() as conn:
                    reset_offsets(conn, beyond)
            stored = stored_offsets(self.engine)
        starts = self._log_starts(assigned, stored)
        for tp in assigned:
            offset = stored.get((tp.topic, tp.partition))
            if offset is None:
                self.consumer.seek_to_beginning(tp)
            elif offset < starts.get(tp, 0):
                # offline longer than the topic's retention: what it never read is gone (README, "Retention plan")
                log.warning("%s: %s/%d: records %d..%d were removed by retention before they were read; "
                            "reading from the log start", self.group, tp.topic, tp.partition, offset, starts[tp] - 1)
                self.consumer.seek(tp, starts[tp])
            else:
                self.consumer.seek(tp, offset)
        log.info("%s: assigned %s", self.group,
                 {f"{tp.topic}/{tp.partition}": stored.get((tp.topic, tp.partition), 0) for tp in assigned})

    def _log_starts(self, tps, stored: dict) -> dict:
        """The log start of each partition with a stored offset (a seek below it would fail every poll);
        asked of the probe that `_end_offsets` made."""
        with_offsets = [tp for tp in tps if (tp.topic, tp.partition) in stored]
        if not with_offsets:
            return {}
        return self.probe.beginning_offsets(with_offsets, timeout_ms=self.timeout_ms)

    def _end_offsets(self, tps) -> dict:
        if self.probe is None:  # a group-less client: no re-entrant calls inside the rebalance callback
            self.probe = broker.consumer(self.bootstrap, None, self.timeout_ms)
        return self.probe.end_offsets(list(tps), timeout_ms=self.timeout_ms)  # bounded: runs inside the rebalance


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
