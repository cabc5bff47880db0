"""Raw Kafka records in the outbox, and the dead-letter copy of any record whatsoever.

The outbox keeps a record's headers as JSONB: a header value that is clean
UTF-8 text is stored as that string, any other value (binary, non-UTF-8,
holding a NUL byte that JSONB refuses) as `{"b64": ...}`, a null value as
null. `dead_letter` turns whatever a consumer fetched — any key length, a
null or binary key, null, binary or NUL-containing headers, no headers at
all, a value near the broker's size limit — into a record that the outbox
can always store and the broker always accept: the key is kept when it is a
short text, else replaced by its digest (the original, cut short, travels in
a header); a null header value becomes empty (noted: kafka-python cannot send
null); header values and the value are cut to a budget, each cut noted with
the original length and SHA-256.
"""
from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

MAX_KEY_CHARS = 200             # the outbox key column
MAX_HEADER_NAME_CHARS = 200
MAX_HEADER_VALUE_BYTES = 8192   # per copied header value
MAX_HEADERS = 64                # copied headers; the dlt_* headers come on top
MAX_ERROR_CHARS = 2000
RECORD_BUDGET = 900_000         # bytes of a dead-letter record, below the producer's 1 MiB request


def encode_header_value(value: bytes | None):
    """A header value as JSONB can hold it."""
    if value is None:
        return None
    if b"\x00" not in value:
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            pass
    return {"b64": base64.b64encode(value).decode("ascii")}


def decode_header_value(stored) -> bytes | None:
    if stored is None:
        return None
    if isinstance(stored, dict):
        return base64.b64decode(stored["b64"])
    return stored.encode("utf-8")


def encode_headers(headers) -> list:
    return [[name, encode_header_value(value)] for name, value in headers]


def decode_headers(stored) -> list[tuple[str, bytes | None]]:
    return [(name, decode_header_value(value)) for name, value in stored]


def text_of(raw: bytes | None) -> str | None:
    """`raw` as text fit for a varchar column and a Kafka key, or None when it is not."""
    if raw is None or b"\x00" in raw:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if len(text) <= MAX_KEY_CHARS else None


def digest(raw: bytes | None) -> str:
    return hashlib.sha256(raw or b"").hexdigest()


def clean_text(s: str, limit: int) -> str:
    """An error message or name cut to `limit` characters, without NUL (JSONB and varchar refuse it)."""
    s = s.replace("\x00", "\\x00")
    return s if len(s) <= limit else s[:limit - 1] + "…"


@dataclass(frozen=True)
class DeadLetter:
    """What the outbox stores to park a record on `<topic>.DLT`."""
    event_id: str
    key: str
    headers: list[tuple[str, bytes | None]]
    value: bytes

    @property
    def size(self) -> int:
        return (len(self.key.encode()) + len(self.value)
                + sum(len(n.encode()) + len(v or b"") for n, v in self.headers))


def dead_letter(rec, *, group: str, reason: str, error: str) -> DeadLetter:
    """The dead-letter copy of `rec` (a kafka-python ConsumerRecord) with `dlt_*` headers saying why."""
    notes: list[tuple[str, bytes | None]] = []
    key = text_of(rec.key)
    if key is None:
        key = "sha256:" + digest(rec.key)
        notes += [("dlt_key_sha256", digest(rec.key).encode()),
                  ("dlt_key_length", str(-1 if rec.key is None else len(rec.key)).encode())]
        if rec.key:
            notes.append(("dlt_key", rec.key[:MAX_HEADER_VALUE_BYTES]))
    copied = []
    original = list(rec.headers or [])
    for name, value in original[:MAX_HEADERS]:
        name = clean_text(str(name), MAX_HEADER_NAME_CHARS)
        if value is None:  # Kafka allows a null header value; kafka-python cannot send one
            notes.append(("dlt_header_null", name.encode()))
            value = b""
        elif len(value) > MAX_HEADER_VALUE_BYTES:
            notes.append(("dlt_header_cut", f"{name}:{len(value)}:{digest(value)}".encode()))
            value = value[:MAX_HEADER_VALUE_BYTES]
        copied.append((name, value))
    if len(original) > MAX_HEADERS:
        notes.append(("dlt_headers_dropped", str(len(original) - MAX_HEADERS).encode()))
    notes += [
        ("dlt_reason", clean_text(reason, 200).encode()), ("dlt_error", clean_text(error, MAX_ERROR_CHARS).encode()),
        ("dlt_topic", rec.topic.encode()), ("dlt_partition", str(rec.partition).encode()),
        ("dlt_offset", str(rec.offset).encode()), ("dlt_consumer_group", group.encode())]
    value = rec.value if rec.value is not None else b""
    if rec.value is None:
        notes.append(("dlt_value_null", b"true"))
    # the record's timestamp too: after a broker lost its data, offsets start again at 0
    parked = DeadLetter(event_id=f"dlt:{group}:{rec.topic}:{rec.partition}:{rec.offset}:{rec.timestamp}"[:200],
                        key=key,
                        headers=copied + notes, value=b"")
    room = RECORD_BUDGET - parked.size - 200  # 200: the cut notes below
    if len(value) > room:
        notes += [("dlt_value_cut", str(len(value)).encode()), ("dlt_value_sha256", digest(value).encode())]
        value = value[:max(room, 0)]
    return DeadLetter(event_id=parked.event_id, key=key, headers=copied + notes, value=value)
