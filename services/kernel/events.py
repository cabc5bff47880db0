"""The CloudEvents 1.0 envelope in Kafka binary content mode, and its signature.

Attributes travel as `ce_*` headers, the data as the JSON record value; the
Kafka key is the aggregate id (`partitionkey`). `ce_signature` carries the
producing organisation's Ed25519 signature over id, source, type, time and
the exact data bytes.
"""
from __future__ import annotations

import base64
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .contracts import ContractRegistry
from .federation import Federation

SOURCE_RE = re.compile(r"^/orgs/(?P<org>[a-z0-9][a-z0-9-]*)/(?P<service>[a-z]+)$")
REQUIRED = ("id", "source", "specversion", "type", "time", "partitionkey", "signature")
MAX_ATTRIBUTE_CHARS = 200


class EnvelopeError(ValueError):
    """The record is not a well-formed, correctly signed CloudEvent of a member."""


def canonical_json(data) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def utcnow_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class CloudEvent:
    id: str
    source: str
    type: str
    time: str
    partitionkey: str
    data: dict
    data_bytes: bytes
    dataschema: str | None = None
    subject: str | None = None
    extensions: dict = field(default_factory=dict)
    signature: str | None = None

    @property
    def org(self) -> str:
        m = SOURCE_RE.match(self.source)
        if not m:
            raise EnvelopeError(f"source {self.source!r} is not /orgs/<org>/<service>")
        return m["org"]

    def signing_input(self) -> bytes:
        return "\n".join([self.id, self.source, self.type, self.time]).encode() + b"\n" + self.data_bytes

    def headers(self) -> list[tuple[str, bytes]]:
        h = {"ce_specversion": "1.0", "ce_id": self.id, "ce_source": self.source, "ce_type": self.type,
             "ce_time": self.time, "ce_partitionkey": self.partitionkey, "content-type": "application/json"}
        if self.dataschema:
            h["ce_dataschema"] = self.dataschema
        if self.subject:
            h["ce_subject"] = self.subject
        for k, v in self.extensions.items():
            h[f"ce_{k}"] = str(v)
        if self.signature:
            h["ce_signature"] = self.signature
        return [(k, v.encode()) for k, v in h.items()]


def new_event(*, source: str, type: str, key: str, data: dict, signing_key: Ed25519PrivateKey,
              subject: str | None = None, dataschema: str | None = None,
              extensions: dict | None = None) -> CloudEvent:
    unsigned = CloudEvent(id=str(uuid.uuid4()), source=source, type=type, time=utcnow_iso(),
                          partitionkey=str(key), data=data, data_bytes=canonical_json(data),
                          dataschema=dataschema, subject=subject, extensions=dict(extensions or {}))
    signature = base64.b64encode(signing_key.sign(unsigned.signing_input())).decode()
    return CloudEvent(**{**unsigned.__dict__, "signature": signature})


def decode_record(headers, key: bytes | None, value: bytes | None) -> CloudEvent:
    """Parse a Kafka record in binary content mode; raises EnvelopeError."""
    try:
        h = {k: (v.decode() if v is not None else "") for k, v in (headers or [])}
    except UnicodeDecodeError as e:
        raise EnvelopeError(f"header is not UTF-8: {e}") from None
    attrs = {k[3:]: v for k, v in h.items() if k.startswith("ce_")}
    missing = [a for a in REQUIRED if not attrs.get(a)]
    if missing:
        raise EnvelopeError(f"missing CloudEvents attributes: {', '.join(missing)}")
    if any("\x00" in k or "\x00" in v for k, v in attrs.items()):  # no database column can hold it
        raise EnvelopeError("a CloudEvents attribute holds a NUL character")
    too_long = [a for a in ("id", "source", "type", "partitionkey", "subject")
                if len(attrs.get(a) or "") > MAX_ATTRIBUTE_CHARS]  # they go to varchar(200) columns
    if too_long:
        raise EnvelopeError(f"attributes longer than {MAX_ATTRIBUTE_CHARS} characters: {', '.join(too_long)}")
    if attrs["specversion"] != "1.0":
        raise EnvelopeError(f"unsupported specversion {attrs['specversion']!r}")
    if h.get("content-type", "application/json").split(";")[0].strip() != "application/json":
        raise EnvelopeError(f"unsupported content-type {h.get('content-type')!r}")
    if key is None or key.decode(errors="replace") != attrs["partitionkey"]:
        raise EnvelopeError("Kafka key does not equal the partitionkey attribute")
    try:
        datetime.fromisoformat(attrs["time"].replace("Z", "+00:00"))
    except ValueError:
        raise EnvelopeError(f"time {attrs['time']!r} is not RFC 3339") from None
    if value is None:
        raise EnvelopeError("record has no data")
    try:
        data = json.loads(value)
    except (ValueError, RecursionError) as e:
        raise EnvelopeError(f"data is not JSON: {type(e).__name__}: {e}"[:500]) from None
    if b"\\u0000" in value and _holds_nul(data):  # PostgreSQL text cannot store it
        raise EnvelopeError("data holds a NUL character")
    known = {"id", "source", "specversion", "type", "time", "partitionkey", "dataschema",
             "subject", "signature"}
    return CloudEvent(id=attrs["id"], source=attrs["source"], type=attrs["type"], time=attrs["time"],
                      partitionkey=attrs["partitionkey"], data=data, data_bytes=value,
                      dataschema=attrs.get("dataschema"), subject=attrs.get("subject"),
                      extensions={k: v for k, v in attrs.items() if k not in known},
                      signature=attrs["signature"])


def _holds_nul(data) -> bool:
    if isinstance(data, str):
        return "\x00" in data
    if isinstance(data, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in data.items())
    if isinstance(data, list):
        return any(_holds_nul(v) for v in data)
    return False


def verify(event: CloudEvent, federation: Federation) -> None:
    """The signature must verify with the key of the organisation named in `source`."""
    key = federation.public_key(event.org)
    if key is None:
        raise EnvelopeError(f"organisation {event.org!r} is not a member of the federation")
    try:
        key.verify(base64.b64decode(event.signature, validate=True), event.signing_input())
    except (InvalidSignature, ValueError):
        raise EnvelopeError(f"signature does not verify for organisation {event.org!r}") from None


def check(event: CloudEvent, federation: Federation, contracts: ContractRegistry) -> None:
    """Everything a consumer checks before applying an event."""
    verify(event, federation)
    contract = contracts.validate(event.type, event.data)
    if contract.producer_field and event.data.get(contract.producer_field) != event.org:
        raise EnvelopeError(f"{contract.producer_field}={event.data.get(contract.producer_field)!r} "
                            f"but the event was produced by {event.org!r}")
