"""Is this instance's consumer group advancing? Watched from outside the consumer, for /healthz.

A consumer that loops on one record, or whose process is gone, still looks
alive from inside; from outside it is plain: the stored offset of a
partition (the service database owns them) has stayed at one place for a
while although records wait behind it. The web process compares the stored
offsets with the log ends (a group-less client, cached a few seconds) and
remembers since when each partition has been behind at the same offset.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from kafka import TopicPartition

from . import broker, metrics
from .consumer.offsets import stored_offsets

log = logging.getLogger(__name__)


@dataclass
class ConsumerProgress:
    engine: object
    bootstrap: str
    topics: list[str]
    stall_seconds: float = 120.0
    timeout_ms: int = 5000
    ttl: float = 5.0  # seconds a look at the log ends is reused
    _client: object = None
    _ends: dict = field(default_factory=dict)
    _looked_at: float = float("-inf")
    _behind_since: dict = field(default_factory=dict)  # (topic, partition) -> (stored offset, since)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def stalls(self) -> list[str]:
        """A sentence for each partition stuck at one offset for longer than `stall_seconds` with records
        waiting behind it; empty when all advance (or when the broker cannot be asked: /healthz says so)."""
        if not self.topics:
            return []
        with self._lock:
            try:
                ends = self._log_ends()
            except Exception as e:
                log.info("consumer progress: log ends unavailable: %r", e)
                self._close()
                return []
            stored, now, out = stored_offsets(self.engine), time.monotonic(), []
            for (topic, partition), (start, end) in ends.items():
                at = max(stored.get((topic, partition), 0), start)
                if at >= end:
                    self._behind_since.pop((topic, partition), None)
                    metrics.CONSUMER_STALLED.labels(topic, str(partition)).set(0)
                    continue
                offset, since = self._behind_since.get((topic, partition), (None, now))
                if offset != at:
                    since = now
                self._behind_since[(topic, partition)] = (at, since)
                stuck = now - since
                metrics.CONSUMER_STALLED.labels(topic, str(partition)).set(stuck)
                if stuck > self.stall_seconds:
                    out.append(f"{topic}/{partition} has stayed at offset {at} for {stuck:.0f}s "
                               f"with {end - at} records waiting")
            return out

    def _log_ends(self) -> dict[tuple[str, int], tuple[int, int]]:
        if time.monotonic() - self._looked_at < self.ttl:
            return self._ends
        if self._client is None:
            self._client = broker.consumer(self.bootstrap, None, self.timeout_ms)
        parts = [TopicPartition(t, p) for t in self.topics for p in sorted(self._client.partitions_for_topic(t) or ())]
        starts = self._client.beginning_offsets(parts, timeout_ms=self.timeout_ms)
        ends = self._client.end_offsets(parts, timeout_ms=self.timeout_ms)
        self._ends = {(tp.topic, tp.partition): (starts.get(tp, 0), ends[tp]) for tp in parts if tp in ends}
        self._looked_at = time.monotonic()
        return self._ends

    def _close(self):
        if self._client is not None:
            try:
                self._client.close()
            except Exception:
                pass
            self._client = None
        self._looked_at = float("-inf")
