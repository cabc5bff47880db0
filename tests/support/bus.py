"""Reading and writing the shared topics as an outsider would: every record of a topic, raw records sent
past the services, and where the readers parked them."""
from __future__ import annotations

from dataclasses import dataclass

from kafka import KafkaConsumer, TopicPartition

from services.kernel import broker


@dataclass(frozen=True)
class Raw:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple

    def header(self, name: str) -> str | None:
        return next((v.decode(errors="replace") for k, v in self.headers if k == name and v is not None), None)

    def blob(self) -> bytes:
        """Everything the record carries, for scanning."""
        return b"\n".join([self.key or b"", self.value or b""] + [k.encode() + b"=" + (v or b"")
                                                                   for k, v in self.headers])


def topics(bootstrap: str) -> list[str]:
    c = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        return sorted(t for t in c.topics() if not t.startswith("__"))
    finally:
        c.close()


def records(bootstrap: str, topic: str) -> list[Raw]:
    """Every record of `topic` now, from the beginning of every partition up to its end."""
    c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        parts = [TopicPartition(topic, p) for p in sorted(c.partitions_for_topic(topic) or ())]
        if not parts:
            return []
        c.assign(parts)
        c.seek_to_beginning(*parts)
        ends = c.end_offsets(parts)
        out: list[Raw] = []
        while any(c.position(tp) < ends[tp] for tp in parts):
            for tp, batch in c.poll(timeout_ms=1000).items():
                out += [Raw(r.topic, r.partition, r.offset, r.key, r.value, tuple(r.headers or ()))
                        for r in batch if r.offset < ends[tp]]
        return out
    finally:
        c.close()


def send(bootstrap: str, topic: str, key: bytes | None, value: bytes | None, headers) -> tuple[int, int]:
    """One raw record, sent past every service; its (partition, offset)."""
    p = broker.producer(bootstrap)
    try:
        md = p.send(topic, key=key, value=value, headers=list(headers)).get(timeout=30)
        return md.partition, md.offset
    finally:
        p.close()


def parked(bootstrap: str, topic: str) -> dict[tuple[int, int], list[dict]]:
    """(partition, offset) of the original record -> what each reader that parked it said."""
    out: dict[tuple[int, int], list[dict]] = {}
    for r in records(bootstrap, topic + ".DLT"):
        at = (int(r.header("dlt_partition")), int(r.header("dlt_offset")))
        out.setdefault(at, []).append({"group": r.header("dlt_consumer_group"), "reason": r.header("dlt_reason"),
                                       "error": r.header("dlt_error")})
    return out
