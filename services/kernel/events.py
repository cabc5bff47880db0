"""The CloudEvents 1.0 envelope in Kafka binary content mode, and its signature.

Attributes travel as `ce_*` headers, the data as the JSON record value; the
Kafka key is the aggregate id (`partitionkey`). `ce_signature` carries the
producing organisation's Ed25519 signature over the whole envelope: every
attribute (id, source, specversion, type, time, partitionkey, subject,
dataschema, the content type and every extension, among them `recipient` and
`signaturekid`, the kid of the signing key), the Kafka topic the record is
produced to, and the SHA-256 of the exact data bytes. The signing input is the
canonical JSON of these (`signing_input`): unambiguous, whatever the values
hold. A consumer verifies against the topic it read the record from, so a
genuine event re-published under another key, on another topic, or with an
attribute changed, added or removed does not verify.
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .contracts import ContractRegistry
from .errors import Rejected
from .federation import Federation
from .keys import signing_kid

SOURCE_RE = re.compile(r"^/orgs/(?P<org>[a-z0-9][a-z0-9-]*)/(?P<service>[a-z]+)$")
KID = "signaturekid"  # the extension attribute naming the signing key (signed like every other)
REQUIRED = ("id", "source", "specversion", "type", "time", "partitionkey", "signature", KID)
MAX_ATTRIBUTE_CHARS = 200
NAME_RE = re.compile(r"^[a-z0-9]{1,20}$")  # CloudEvents attribute names
CORE = {"id", "source", "specversion", "type", "time", "partitionkey", "dataschema", "subject", "signature",
        "datacontenttype", "data", KID}  # no extension may take one of these names
CONTENT_TYPE = "application/json"
SIGNATURE_FORMAT = "yhdistamo.event-signature.v2"


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
    topic: str | None = None          # the Kafka topic it is produced to / was read from (signed)
    datacontenttype: str | None = CONTENT_TYPE  # the record's content-type header (signed)

    @property
    def org(self) -> str:
        m = SOURCE_RE.match(self.source)
        if not m:
            raise EnvelopeError(f"source {self.source!r} is not /orgs/<org>/<service>")
        return m["org"]

    @property
    def kid(self) -> str | None:
        """The kid of the key that signed it (`ce_signaturekid`)."""
        return self.extensions.get(KID)

    def attributes(self) -> dict[str, str]:
        """Every CloudEvents attribute but the signature, as the headers carry it (an empty one is absent)."""
        attrs = {"id": self.id, "source": self.source, "specversion": "1.0", "type": self.type,
                 "time": self.time, "partitionkey": self.partitionkey, "dataschema": self.dataschema,
                 "subject": self.subject, **{k: str(v) for k, v in self.extensions.items()}}
        return {k: v for k, v in attrs.items() if v not in (None, "") and k != "signature"}

    def signing_input(self) -> bytes:
        """What the signature covers: every attribute, the content type, the topic and the data's SHA-256."""
        if not self.topic:
            raise EnvelopeError("an event is signed and verified for a topic, and this one has none")
        return canonical_json({"format": SIGNATURE_FORMAT, "attributes": self.attributes(),
                               "datacontenttype": self.datacontenttype, "topic": self.topic,
                               "data_sha256": hashlib.sha256(self.data_bytes).hexdigest()})

    def headers(self) -> list[tuple[str, bytes]]:
        h = {f"ce_{k}": v for k, v in self.attributes().items()}
        if self.datacontenttype:
            h["content-type"] = self.datacontenttype
        if self.signature:
            h["ce_signature"] = self.signature
        return [(k, v.encode()) for k, v in h.items()]


def new_event(*, source: str, type: str, key: str, data: dict, signing_key: Ed25519PrivateKey, topic: str,
              subject: str | None = None, dataschema: str | None = None,
              extensions: dict | None = None) -> CloudEvent:
    """A new event for `topic` (the contract's, with the instance's prefix: the name it is produced to),
    signed with `signing_key`, whose kid it carries."""
    extensions = {k: str(v) for k, v in (extensions or {}).items()}
    bad = [k for k in extensions if not NAME_RE.match(k) or k in CORE]
    if bad:
        raise ValueError(f"not extension attribute names of one's own: {bad}")
    unsigned = CloudEvent(id=str(uuid.uuid4()), source=source, type=type, time=utcnow_iso(),
                          partitionkey=str(key), data=data, data_bytes=canonical_json(data),
                          dataschema=dataschema, subject=subject,
                          extensions={**extensions, KID: signing_kid(signing_key)}, topic=topic)
    return sign(unsigned, signing_key)


def sign(event: CloudEvent, signing_key: Ed25519PrivateKey) -> CloudEvent:
    """`event` signed with `signing_key` (its `signaturekid` must name that key)."""
    if event.kid != signing_kid(signing_key):
        raise ValueError(f"the event names signing key {event.kid!r}, not {signing_kid(signing_key)!r}")
    signature = base64.b64encode(signing_key.sign(event.signing_input())).decode()
    return CloudEvent(**{**event.__dict__, "signature": signature})


def decode_record(headers, key: bytes | None, value: bytes | None, *, topic: str) -> CloudEvent:
    """Parse a Kafka record in binary content mode, read from `topic`; raises EnvelopeError."""
    try:
        pairs = [(k, v.decode() if v is not None else "") for k, v in (headers or [])]
    except UnicodeDecodeError as e:
        raise EnvelopeError(f"header is not UTF-8: {e}") from None
    h = dict(pairs)
    twice = sorted(k for k, n in Counter(k for k, _ in pairs).items()
                   if n > 1 and (k.startswith("ce_") or k == "content-type"))
    if twice:  # which of them would count? refused rather than guessed
        raise EnvelopeError(f"headers given more than once: {', '.join(twice)}"[:500])
    attrs = {k[3:]: v for k, v in h.items() if k.startswith("ce_")}
    missing = [a for a in REQUIRED if not attrs.get(a)]
    if missing:
        raise EnvelopeError(f"missing CloudEvents attributes: {', '.join(missing)}")
    empty = sorted(a for a, v in attrs.items() if v == "")
    if empty:  # an attribute is present with a value, or absent (what is signed)
        raise EnvelopeError(f"CloudEvents attributes without a value: {', '.join(empty)}"[:500])
    if any("\x00" in k or "\x00" in v for k, v in attrs.items()):  # no database column can hold it
        raise EnvelopeError("a CloudEvents attribute holds a NUL character")
    misnamed = [a for a in attrs if not NAME_RE.match(a) or a in ("data", "datacontenttype")]  # binary mode:
    # the data is the value, its content type the content-type header
    if misnamed:
        raise EnvelopeError(f"not CloudEvents attribute names (a-z, 0-9, at most 20): {misnamed}"[:500])
    too_long = [a for a in ("id", "source", "type", "partitionkey", "subject")
                if len(attrs.get(a) or "") > MAX_ATTRIBUTE_CHARS]  # they go to varchar(200) columns
    if too_long:
        raise EnvelopeError(f"attributes longer than {MAX_ATTRIBUTE_CHARS} characters: {', '.join(too_long)}")
    if attrs["specversion"] != "1.0":
        raise EnvelopeError(f"unsupported specversion {attrs['specversion']!r}")
    if h.get("content-type", CONTENT_TYPE).split(";")[0].strip() != CONTENT_TYPE:
        raise EnvelopeError(f"unsupported content-type {h.get('content-type')!r}")
    if key is None or key.decode(errors="replace") != attrs["partitionkey"]:
        raise EnvelopeError("Kafka key does not equal the partitionkey attribute")
    try:
        datetime.fromisoformat(attrs["time"].replace("Z", "+00:00"))
    except ValueError:
        raise EnvelopeError(f"time {attrs['time']!r} is not RFC 3339") from None
    if value is None:
        raise EnvelopeError("record has no data (a null value, a tombstone, is never an event: nothing is removed)")
    try:
        data = json.loads(value)
    except (ValueError, RecursionError) as e:
        raise EnvelopeError(f"data is not JSON: {type(e).__name__}: {e}"[:500]) from None
    if b"\\u0000" in value and _holds_nul(data):  # PostgreSQL text cannot store it
        raise EnvelopeError("data holds a NUL character")
    return CloudEvent(id=attrs["id"], source=attrs["source"], type=attrs["type"], time=attrs["time"],
                      partitionkey=attrs["partitionkey"], data=data, data_bytes=value,
                      dataschema=attrs.get("dataschema"), subject=attrs.get("subject"),
                      extensions={k: v for k, v in attrs.items() if k not in CORE or k == KID},
                      signature=attrs["signature"], topic=topic, datacontenttype=h.get("content-type"))


def _holds_nul(data) -> bool:
    if isinstance(data, str):
        return "\x00" in data
    if isinstance(data, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in data.items())
    if isinstance(data, list):
        return any(_holds_nul(v) for v in data)
    return False


def verify(event: CloudEvent, federation: Federation) -> None:
    """The signature must verify with the key `signaturekid` names among those of the organisation named in
    `source`, for the topic the event was read from."""
    if federation.get(event.org) is None:
        raise EnvelopeError(f"organisation {event.org!r} is not a member of the federation")
    entry = federation.signing_key(event.org, event.kid)
    if entry is None:
        raise EnvelopeError(f"signing key {event.kid!r} is not a key of organisation {event.org!r} "
                            f"(unknown, or removed from the federation file)"[:500])
    if entry.not_after is not None and _time(event.time) > entry.not_after:
        raise EnvelopeError(f"signed with key {event.kid} of {event.org!r} after its not_after "
                            f"({entry.not_after.isoformat()})")
    try:
        entry.key.verify(base64.b64decode(event.signature, validate=True), event.signing_input())
    except (InvalidSignature, ValueError):
        raise EnvelopeError(f"signature does not verify for organisation {event.org!r} on topic "
                            f"{event.topic!r} (another topic, key or attributes than it was signed for, "
                            f"or other data)"[:500]) from None


def _time(value: str) -> datetime:
    t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def keyed_by(event: CloudEvent, field: str) -> None:
    """Rejected unless the event's key (`partitionkey`, signed) is `<producing organisation>/<aggregate id>` of
    its data: on a compacted topic compaction keeps one record a key, so each organisation's records about an
    id sit under its own key, and no member's record can displace another's (a claim on another organisation's
    id stays beside the genuine record, and the read models see both: "disputed")."""
    expected = f"{event.org}/{event.data.get(field)}"
    if event.partitionkey != expected:
        raise Rejected(f"the event's key {event.partitionkey!r} is not {expected!r} (its organisation/{field})"[:500])


def check(event: CloudEvent, federation: Federation, contracts: ContractRegistry) -> None:
    """Everything a consumer checks before applying an event."""
    verify(event, federation)
    contract = contracts.validate(event.type, event.data)
    if event.topic != contract.topic:  # e.g. a referral event on the compacted catalogue topic, kept for good
        raise EnvelopeError(f"{event.type} travels on {contract.topic!r}, not on {event.topic!r}")
    if contract.producer_field and event.data.get(contract.producer_field) != event.org:
        raise EnvelopeError(f"{contract.producer_field}={event.data.get(contract.producer_field)!r} "
                            f"but the event was produced by {event.org!r}")
