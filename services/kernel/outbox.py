"""Transactional outbox: the database side of producing events.

`Outbox.add` validates an event against the contract version the producer
names, signs it and inserts it in the caller's transaction; the outbox
table's trigger (`NOTIFY outbox`) wakes the relay (relay.py) when that
transaction commits. Published rows are kept for a retention window, so
`requeue` can have them re-published (e.g. after the broker lost its data).

An event is refused when it is staged (EventTooLarge, 422 naming the field)
rather than left for the broker to refuse: a string the contract leaves
unbounded may take UNBOUNDED_STRING_BYTES (contracts.py), and the whole record
(key, headers and value) MAX_EVENT_BYTES: a quarter of the 1 MiB that the
producer and the broker take at most, so that a record still fits when a
consumer dead-letters it with its reasons, and over 60 times the largest
service of the demo catalogue (under 4 KiB with its locations). A row the
broker refuses all the same is quarantined by the relay; `quarantined`,
`republish` and `drop` are what the admin commands do with such rows, and
`outbox_health` is what /healthz reports.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete, insert, text, update
from sqlalchemy.engine import Connection, Engine

from .contracts import TYPE_PREFIX, Contract, ContractRegistry, StringSize
from .errors import Invalid
from .events import CloudEvent, new_event
from .parking import encode_headers
from .tables import outbox

NOTIFY_CHANNEL = "outbox"  # the outbox table's trigger NOTIFYs it; the relay LISTENs
OUTBOX_INSERT = insert(outbox)
MAX_EVENT_BYTES = 256 * 1024  # key + headers + value of one record


class EventTooLarge(Invalid):
    """The event a change publishes would be too large to publish: the change is refused with it.
    `field` names the string of the event's data to shorten."""
    title, code = "Too large to publish", "event-too-large"


def record_bytes(key: str, headers: list[tuple[str, bytes]], value: bytes) -> int:
    """What a record takes on the broker, less the few bytes of framing."""
    return len(key.encode()) + len(value) + sum(len(k.encode()) + len(v) for k, v in headers)


def _kib(n: int) -> str:
    return f"{n / 1024:.1f} KiB"


def check_sizes(contract: Contract, sizes: list[StringSize]) -> None:
    """EventTooLarge for the first string over its own byte limit."""
    for s in sizes:
        if s.too_large:
            raise EventTooLarge(f"{s.field} takes {s.size:,} bytes; at most {s.limit:,} can be published in "
                                f"{contract.type}.", field=s.field, event=contract.type, bytes=s.size,
                                limit=s.limit)


def check_record(contract: Contract, sizes: list[StringSize], size: int) -> None:
    """EventTooLarge naming the longest strings when the whole record exceeds MAX_EVENT_BYTES."""
    if size <= MAX_EVENT_BYTES:
        return
    longest = sorted(sizes, key=lambda s: -s.size)[:3]
    raise EventTooLarge(
        f"The event this change publishes ({contract.type}) would take {_kib(size)}; at most "
        f"{_kib(MAX_EVENT_BYTES)} can be published. Shorten the longest texts: "
        + ", ".join(f"{s.field} ({_kib(s.size)})" for s in longest) + ".",
        field=longest[0].field if longest else None, event=contract.type, bytes=size, limit=MAX_EVENT_BYTES)


@dataclass
class EventWriter:
    """Who produces: the instance's CloudEvents source, signing key and contracts."""
    source: str
    signing_key: Ed25519PrivateKey
    contracts: ContractRegistry

    def outbox(self, conn: Connection) -> "Outbox":
        return Outbox(conn, self)


class Outbox:
    def __init__(self, conn: Connection, writer: EventWriter | None):
        self.conn = conn
        self.writer = writer

    def add(self, event: str, key: str, data: dict, *, subject: str | None = None,
            extensions: dict | None = None) -> CloudEvent:
        """Stage `event`, named with its version ("referral.requested.v1"), in this transaction.

        The producer names the version it emits: a new contract version is a new
        file, and never switches a producer that did not ask for it. Raises
        ContractError for data its contract does not allow, EventTooLarge for
        data too large to publish.
        """
        if self.writer is None:
            raise RuntimeError("this instance has no signing key, so it cannot produce events")
        contract = self.writer.contracts.validate(TYPE_PREFIX + event, data)
        sizes = contract.string_sizes(data)
        check_sizes(contract, sizes)
        staged = new_event(source=self.writer.source, type=contract.type, key=key, data=data,
                           signing_key=self.writer.signing_key, topic=contract.topic, subject=subject,
                           dataschema=contract.dataschema, extensions=extensions)
        headers = staged.headers()
        check_record(contract, sizes, record_bytes(str(key), headers, staged.data_bytes))
        self.add_record(event_id=staged.id, event_type=staged.type, topic=contract.topic, key=str(key),
                        headers=headers, value=staged.data_bytes)
        return staged

    def add_record(self, *, event_id: str, event_type: str, topic: str, key: str,
                   headers: list[tuple[str, bytes | None]], value: bytes) -> None:
        # one prepared statement; the table's trigger NOTIFYs the relay when this transaction commits
        self.conn.execute(OUTBOX_INSERT, {
            "event_id": event_id, "event_type": event_type, "topic": topic, "key": key,
            "headers": encode_headers(headers), "value": value})


def requeue(conn: Connection) -> int:
    """Mark every retained row unpublished again (in the caller's transaction), so the relay
    re-publishes them in order once it commits."""
    n = len(conn.execute(update(outbox).where(outbox.c.published_at.is_not(None)).values(published_at=None)
                         .returning(outbox.c.seq)).all())
    conn.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))
    return n


def requeue_retained(engine: Engine) -> int:
    with engine.begin() as conn:
        return requeue(conn)


# -- rows the broker refused (the relay quarantines them; operators decide) ---------------------------
@dataclass(frozen=True)
class QuarantinedRow:
    seq: int
    event_id: str
    event_type: str
    topic: str
    key: str
    created_at: datetime
    quarantined_at: datetime
    error: str
    size: int      # record bytes: key, headers and value
    waiting: int   # later rows of the same aggregate (topic and key) that wait behind it


_QUARANTINED = """
SELECT q.seq, q.event_id, q.event_type, q.topic, q.key, q.created_at, q.quarantined_at,
       q.quarantine_error AS error,
       octet_length(q.key) + octet_length(q.value)
         + (SELECT coalesce(sum(octet_length(h->>0) + octet_length(h->>1)), 0)
            FROM jsonb_array_elements(q.headers) h) AS size,
       (SELECT count(*) FROM outbox w WHERE w.published_at IS NULL AND w.quarantined_at IS NULL
          AND w.topic = q.topic AND w.key = q.key AND w.seq > q.seq) AS waiting
FROM outbox q WHERE q.quarantined_at IS NOT NULL
"""


def quarantined(conn: Connection, seq: int | None = None) -> list[QuarantinedRow]:
    """The quarantined rows in `seq` order (or the one row `seq`, if it is quarantined)."""
    sql = _QUARANTINED + (" AND q.seq = :seq" if seq is not None else "") + " ORDER BY q.seq"
    return [QuarantinedRow(**r._mapping) for r in conn.execute(text(sql), {"seq": seq})]


def republish(conn: Connection, seqs: list[int] | None = None) -> list[int]:
    """Clear the quarantine of rows `seqs` (all when None), so that the relay tries them again; returns
    the rows cleared."""
    stmt = update(outbox).where(outbox.c.quarantined_at.is_not(None))
    if seqs is not None:
        stmt = stmt.where(outbox.c.seq.in_(seqs))
    cleared = conn.execute(stmt.values(quarantined_at=None, quarantine_error=None)
                           .returning(outbox.c.seq)).scalars().all()
    conn.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))
    return sorted(cleared)


def drop(conn: Connection, seq: int) -> QuarantinedRow | None:
    """Delete quarantined row `seq` for good (the rows of its aggregate behind it then go on); returns it,
    or None when no such row is quarantined."""
    found = quarantined(conn, seq)
    if not found:
        return None
    conn.execute(delete(outbox).where(outbox.c.seq == seq, outbox.c.quarantined_at.is_not(None)))
    conn.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))
    return found[0]


_FIRST_WAITING = text("SELECT seq, extract(epoch FROM now() - created_at)::float AS age FROM outbox "
                      "WHERE published_at IS NULL AND quarantined_at IS NULL ORDER BY seq LIMIT 1")
_FIRST_QUARANTINED = text("SELECT count(*) OVER () AS n, seq, event_type, quarantine_error FROM outbox "
                          "WHERE quarantined_at IS NOT NULL ORDER BY seq LIMIT 1")


_LAST_PUBLISHED = text("SELECT extract(epoch FROM now() - max(published_at)) FROM outbox "
                       "WHERE published_at IS NOT NULL")


def _idle_for(conn: Connection) -> float:
    """Seconds since the relay last published a row (infinite when none is kept)."""
    idle = conn.execute(_LAST_PUBLISHED).scalar()
    return float("inf") if idle is None else float(idle)


def outbox_health(conn: Connection, stall_seconds: float) -> dict:
    """What the outbox tells about the relay, from two index scans: how long the first row in line has
    waited, how many rows are quarantined, and `problems` (empty: healthy) — the first row in line
    waiting longer than `stall_seconds` with nothing published for as long, or any row quarantined."""
    first = conn.execute(_FIRST_WAITING).first()
    q = conn.execute(_FIRST_QUARANTINED).first()
    problems = []
    if first is not None and first.age > stall_seconds and _idle_for(conn) > stall_seconds:
        # (a re-queued backlog, rows old and many, is not a stall while the relay keeps publishing)
        problems.append(f"stalled: row {first.seq} has waited {first.age:.0f} s to be published "
                        f"(more than {stall_seconds:g} s) and nothing was published meanwhile")
    if q is not None:
        problems.append(f"quarantined: {q.n} row(s) the broker refused, the first row {q.seq} "
                        f"({q.event_type}): {q.quarantine_error[:200]}")
    return {"waiting_seconds": first.age if first is not None else 0.0, "quarantined": q.n if q else 0,
            "problems": problems}


def outbox_check(engine: Engine, stall_seconds: float) -> str:
    """/healthz's one-line verdict: "ok", or what is wrong."""
    try:
        with engine.connect() as conn:
            problems = outbox_health(conn, stall_seconds)["problems"]
    except Exception as e:
        return f"unknown: {type(e).__name__}"
    return "; ".join(problems) or "ok"
