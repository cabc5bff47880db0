"""Records the Kafka client cannot even decode: found, noted, and passed over.

kafka-python raises from `poll` when a fetched batch cannot be parsed (a
header name that is not UTF-8, a codec it lacks, a corrupt batch); the
position stays at the record, so every later poll raises again and the
partition never advances. Such a record has no key, headers or value to park
on the dead-letter topic. The runner finds the partition with a group-less
probe (the one whose fetch at its position fails), the first offset after it
that can be read, and notes the skipped range in `parking_failure` with the
stored offset advanced past it, in one transaction.
"""
from __future__ import annotations

import logging
import time

from kafka import TopicPartition
from kafka.errors import CorruptRecordError, KafkaError, UnsupportedCodecError
from sqlalchemy import insert

from .. import broker, metrics
from ..parking import clean_text
from ..tables import parking_failure
from .offsets import advance_offset, lock_offset

log = logging.getLogger(__name__)
UNDECODABLE = (CorruptRecordError, UnsupportedCodecError)
MAX_SKIP = 100_000  # offsets tried past one undecodable record (a batch is far smaller)


def readable_at(probe, tp: TopicPartition, offset: int, end: int, timeout_s: float) -> bool:
    """Can the client decode the record at `offset`? (Fetching from it parses its batch up to it.)"""
    probe.seek(tp, offset)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            got = probe.poll(timeout_ms=500, max_records=1)
        except UNDECODABLE:
            return False
        if got or probe.position(tp) >= end:
            return True
    raise TimeoutError(f"no answer for {tp.topic}/{tp.partition}@{offset} within {timeout_s:.0f}s")


def pass_over(consumer, *, engine, bootstrap: str, group: str, timeout_ms: int, error: Exception) -> list[str]:
    """Find each assigned partition stuck on an undecodable record, note and pass over it; what was skipped."""
    probe = broker.consumer(bootstrap, None, timeout_ms, max_poll_records=1)
    skipped = []
    try:
        for tp in sorted(consumer.assignment()):
            position = consumer.position(tp)
            probe.assign([tp])
            end = probe.end_offsets([tp])[tp]
            if position >= end or readable_at(probe, tp, position, end, timeout_ms / 1000):
                continue
            nxt = position + 1
            while nxt < min(end, position + MAX_SKIP) and not readable_at(probe, tp, nxt, end, timeout_ms / 1000):
                nxt += 1
            detail = clean_text(f"{type(error).__name__}: {error}", 2000)
            with engine.begin() as conn:
                if lock_offset(conn, tp.topic, tp.partition) <= position:
                    conn.execute(insert(parking_failure).values(
                        consumer_group=group, topic=tp.topic, partition=tp.partition, offset=position,
                        reason="Undecodable", error=f"offsets {position}..{nxt - 1} cannot be decoded: {detail}"))
                    advance_offset(conn, tp.topic, tp.partition, nxt)
            consumer.seek(tp, nxt)
            metrics.PARKING_FAILURES.labels(tp.topic).inc(nxt - position)
            log.error("%s: %s/%d offsets %d..%d cannot be decoded (%s); noted in parking_failure, passed over",
                      group, tp.topic, tp.partition, position, nxt - 1, detail)
            skipped.append(f"{tp.topic}/{tp.partition}@{position}..{nxt - 1}")
    except KafkaError as e:
        log.warning("%s: could not look for undecodable records: %r", group, e)
    finally:
        probe.close()
    if not skipped:
        raise error  # not a record's doing that we could find: the runner restarts and tries again
    return skipped
