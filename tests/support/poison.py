"""Records no consumer may choke on: every kind of poison, built around a genuine event.

Each case is (key, value, headers) as a Kafka producer sends them. Some are
nothing like an event (no headers, a null value, a binary key); others are
correctly signed by a member but odd (an id too long for any column, a NUL
character in the data). `producer` can send records close to the broker's
size limit.
"""
from __future__ import annotations

import builtins
import json

import kafka.producer.kafka as kafka_producer_module
import kafka.producer.producer_batch as producer_batch
from kafka.errors import KafkaError

from services.kernel import broker
from services.kernel.config import PROJECT_ROOT
from services.kernel.events import KID, CloudEvent, canonical_json, sign
from services.kernel.keys import load_private_key, signing_kid

NEAR_LIMIT = 1_000_000  # bytes: below the broker's message.max.bytes (1 MiB + 12), above what a DLT copy may hold


def demo_key(org: str):
    return load_private_key(PROJECT_ROOT / "deploy" / "demo-keys" / f"{org}.ed25519.pem")


def resign(ev: CloudEvent, org: str, **attrs) -> CloudEvent:
    """`ev` with `attrs` changed, signed again by `org` (a member's genuine signature, naming its key)."""
    base = {**ev.__dict__, **attrs}
    if "data" in attrs:
        base["data_bytes"] = canonical_json(attrs["data"])
    key = demo_key(org)
    base["extensions"] = {**base["extensions"], KID: signing_kid(key)}
    return sign(CloudEvent(**{**base, "signature": None}), key)


def with_nul(data: dict, field: str) -> dict:
    """`data` with a NUL character inside its string field `field` (a dotted path)."""
    out = json.loads(json.dumps(data))
    node = out
    *path, last = field.split(".")
    for p in path:
        node = node[p]
    node[last] = node[last] + "\x00tail"
    return out


def poison_cases(ev: CloudEvent, org: str, text_field: str) -> dict[str, tuple]:
    """Every kind of poison around `ev`, a genuine event of `org` whose data has a string at `text_field`."""
    key, value, headers = ev.partitionkey.encode(), ev.data_bytes, ev.headers()
    long_id = resign(ev, org, id="x" * 300)
    nul_data = resign(ev, org, data=with_nul(ev.data, text_field))
    return {
        "key-300-chars": (b"k" * 300, value, headers),
        "key-binary-5k": (bytes(range(256)) * 20, value, headers),
        "key-null": (None, value, headers),
        "header-null": (key, value, [(k, None if k == "ce_id" else v) for k, v in headers] + [("x-null", None)]),
        "header-nul": (key, value, headers + [("x-nul", b"a\x00b"), ("ce_note\x00", b"\x00")]),
        "header-binary": (key, value, headers + [("x-binary", b"\xff\xfe\x00\x01\x80")]),
        "no-headers": (key, value, None),
        "value-not-utf8": (key, b"\xff\xfe\xfa{", headers),
        "value-null": (key, None, headers),
        "value-near-limit": (key, b'{"a":"' + b"a" * (NEAR_LIMIT - 8) + b'"}', headers),
        "headers-near-limit": (key, value, headers + [("x-big", b"h" * (NEAR_LIMIT // 2)),
                                                      ("x-big-2", b"\xff" * (NEAR_LIMIT // 3))]),
        "nested-json": (key, b"[" * 60_000 + b"]" * 60_000, headers),
        "member-id-300-chars": (key, long_id.data_bytes, long_id.headers()),
        "member-nul-in-data": (key, nul_data.data_bytes, nul_data.headers()),
    }


class Producer:
    """A producer that sends what other clients may: records up to the broker's limit (kafka-python's default
    request limit is 1 MiB) and null header values (kafka-python's `send` refuses them, but its record
    format, like Kafka's, has them)."""

    def __init__(self, bootstrap: str):
        self._p = broker.producer(bootstrap, max_request_size=2 * 1024 * 1024)

    def send(self, topic, *, key, value, headers):
        if not (headers and any(v is None for _, v in headers)):
            return self._p.send(topic, key=key, value=value, headers=headers)
        # send() checks header types with all() and sizes them with len(): let both accept None, while it runs
        patched = [(kafka_producer_module, "all", lambda items: True)] + [
            (m, "len", lambda x: 0 if x is None else builtins.len(x)) for m in (kafka_producer_module, producer_batch)]
        for module, name, fn in patched:
            setattr(module, name, fn)
        try:
            return self._p.send(topic, key=key, value=value, headers=headers)
        finally:
            for module, name, _ in patched:
                delattr(module, name)

    def flush(self):
        self._p.flush()

    def close(self):
        self._p.close()


def producer(bootstrap: str) -> Producer:
    return Producer(bootstrap)


def send(bootstrap: str, topic: str, *, key, value, headers):
    """Produce one record with a producer of its own (kafka-python's producer is unusable after the broker
    refused a record); returns (its metadata, None) or (None, why the broker refused it)."""
    p = producer(bootstrap)
    try:
        return p.send(topic, key=key, value=value, headers=headers).get(timeout=30), None
    except KafkaError as e:
        return None, repr(e)
    finally:
        p.close()
