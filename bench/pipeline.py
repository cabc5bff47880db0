"""Sections 1, 2 and 6: the outbox relay and the consumer runner against raw kafka-python, at two sizes.

1. relay publish rate vs raw produce (the product's producer settings), 2. consumer runner rate (with its
database writes) vs a raw group-less consume, 6. cost per event of both from the small to the large size.
"""
from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone

from kafka import TopicPartition
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert

import services.attendance as attendance
import services.reporting as reporting
from services.attendance.domain import Encounter
from services.kernel.tables import consumer_offset, outbox
from services.kernel.worker import consumer_for, relay_for

from .common import SENDER, Profiler, Row, Run, say
from .engines import Engines, create_topic, end_offsets, federation, groupless_consumer
from .engines import producer as new_producer

STAGE_BATCH = 500


def stage_encounters(ctx, n: int, batch: int = STAGE_BATCH) -> float:
    """Stage n encounter events with the real Outbox.add in the attendance unit of work; returns seconds."""
    occurred = datetime.now(timezone.utc) - timedelta(hours=1)
    t = time.perf_counter()
    done = 0
    while done < n:
        k = min(batch, n - done)
        with ctx.uow() as uow:
            for _ in range(k):
                e = Encounter.record(organization_id=ctx.settings.org_id, kind="drop-in", anonymous=True,
                                     participants=2, occurred_at=occurred, by=f"caseworker@{ctx.settings.org_id}")
                uow.encounters.add(e)
                uow.outbox.add("attendance.encounter-recorded.v1", str(e.id), e.recorded_event())
            uow.commit()
        done += k
    return time.perf_counter() - t


def sample_records(ctx, limit: int = 1000) -> list[tuple[bytes, bytes, list]]:
    """Real staged records (key, value, headers), as the relay would send them."""
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(outbox.c.key, outbox.c.headers, outbox.c.value)
                            .where(outbox.c.published_at.is_(None)).order_by(outbox.c.seq).limit(limit)).all()
    return [(r.key.encode(), bytes(r.value), [(k, v.encode()) for k, v in r.headers]) for r in rows]


def raw_produce(bootstrap: str, topic: str, records: list, n: int) -> float:
    """n records with the product's producer settings (acks=all, idempotent); returns seconds (warm)."""
    producer = new_producer(bootstrap)
    try:
        key, value, headers = records[0]
        producer.send(topic, key=b"warm-up", value=value, headers=headers).get(timeout=30)
        t = time.perf_counter()
        futures = []
        m = len(records)
        for i in range(n):
            key, value, headers = records[i % m]
            futures.append(producer.send(topic, key=b"%d" % i, value=value, headers=headers))
        producer.flush(timeout=120)
        elapsed = time.perf_counter() - t
        failed = [f for f in futures if not f.is_done or f.failed()]
        if failed:
            raise RuntimeError(f"raw produce: {len(failed)} sends failed: {failed[0].exception}")
        return elapsed
    finally:
        producer.close(timeout=5)


def raw_consume(bootstrap: str, topic: str) -> tuple[int, float]:
    """Read every record of the topic with a group-less consumer (assign + seek_to_beginning)."""
    consumer = groupless_consumer(bootstrap)
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        consumer.assign(tps)
        want = sum(consumer.end_offsets(tps).values())
        consumer.seek_to_end()           # warm: connections and positions, nothing read
        consumer.poll(timeout_ms=100)
        consumer.seek_to_beginning()
        got = 0
        t = time.perf_counter()
        deadline = time.monotonic() + 300
        while got < want and time.monotonic() < deadline:
            for recs in consumer.poll(timeout_ms=500).values():
                got += len(recs)
        elapsed = time.perf_counter() - t
        if got < want:
            raise RuntimeError(f"raw consume read {got} of {want}")
        return got, elapsed
    finally:
        consumer.close(autocommit=False)


def preseed_offsets(ctx, offsets: dict) -> None:
    """Tell a fresh consumer database that everything before `offsets` was applied already (earlier runs)."""
    with ctx.engine.begin() as conn:
        for (topic, part), off in offsets.items():
            conn.execute(pg_insert(consumer_offset).values(topic=topic, partition=part, next_offset=off)
                         .on_conflict_do_update(index_elements=["topic", "partition"],
                                                set_={"next_offset": off}))


def join_at_log_end(runner, rep, start: dict) -> None:
    """The consumer joins its group and is positioned at the current log end (earlier runs' events count as
    applied), so that what is timed afterwards is the steady state of a running consumer."""
    preseed_offsets(rep, start)
    runner.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        runner.poll_once(timeout_ms=200)
        if set(start) <= {(tp.topic, tp.partition) for tp in runner.consumer.assignment()}:
            return
    raise RuntimeError("the consumer runner did not get its partitions")


def publish_all(relay, n: int) -> float:
    """Seconds for Relay.publish_pending() to drain the n staged events."""
    published = 0
    t = time.perf_counter()
    while k := relay.publish_pending():
        published += k
    elapsed = time.perf_counter() - t
    if published != n:
        raise RuntimeError(f"relay published {published}, staged {n}")
    return elapsed


def apply_all(runner, expected: int, ends: dict) -> float:
    """Seconds for the consumer runner to apply `expected` events and store the offsets up to `ends`."""
    applied = 0
    t = time.perf_counter()
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        applied += runner.poll_once(timeout_ms=500)
        if applied >= expected:
            stored = runner.stored_offsets()
            if all(stored.get(k, 0) >= v for k, v in ends.items()):
                return time.perf_counter() - t
    raise RuntimeError(f"consumer runner applied {applied} of {expected} in time")


def check_counted(rep, n: int) -> None:
    with rep.engine.connect() as c:
        counted = c.execute(text("SELECT coalesce(sum(count), 0) FROM event_count WHERE org_id = :o "
                                 "AND event_type LIKE '%encounter-recorded%'"), {"o": SENDER}).scalar()
    if counted != n:
        raise RuntimeError(f"reporting counted {counted} encounter events, expected {n}")


def pipeline(eng: Engines, n: int, run: Run, profile: bool) -> dict:
    """Stage n events, then time: raw produce, relay publish, raw consume, consumer runner."""
    say(f"pipeline n={n:,}: staging {n:,} encounter events in transactions of {STAGE_BATCH}")
    res = {"n": n}
    att = eng.context(attendance.DEFINITION, SENDER, eng.new_database("att"))
    rep = eng.context(reporting.DEFINITION, federation().reporting_org, eng.new_database("rep"))
    relay = relay_for(att)
    runner = None
    try:
        # warm the relay: its producer and the topic's metadata (one event, published before timing)
        stage_encounters(att, 1)
        while relay.publish_pending():
            pass
        runner = consumer_for(reporting.DEFINITION, rep)
        start = end_offsets(eng.bootstrap, runner.topics)
        res["stage_s"] = stage_encounters(att, n)
        say(f"  staged in {res['stage_s']:.1f}s ({res['stage_s'] / n * 1e6:.0f} µs/event, not part of any ratio)")
        records = sample_records(att)
        res["record_bytes"] = sum(len(k) + len(v) + sum(len(a) + len(b) for a, b in h)
                                  for k, v, h in records) / len(records)
        join_at_log_end(runner, rep, start)

        # 1. raw produce vs relay
        raw_topic = f"bench.raw.{n}.{uuid.uuid4().hex[:6]}"
        create_topic(eng.bootstrap, raw_topic, len([k for k in start if k[0] == "yhd.attendance"]))
        res["raw_produce_s"] = raw_produce(eng.bootstrap, raw_topic, records, n)
        say(f"  raw produce: {n / res['raw_produce_s']:,.0f} records/s")
        with Profiler(profile, f"relay publish n={n}", run):
            res["relay_s"] = publish_all(relay, n)
        say(f"  relay publish: {n / res['relay_s']:,.0f} events/s")

        # 2. raw consume vs the consumer runner (with its database writes)
        got, res["raw_consume_s"] = raw_consume(eng.bootstrap, raw_topic)
        res["raw_consume_n"] = got
        say(f"  raw consume: {got / res['raw_consume_s']:,.0f} records/s")
        ends = end_offsets(eng.bootstrap, runner.topics)
        expected = sum(ends[k] - start.get(k, 0) for k in ends)
        with Profiler(profile, f"consumer runner n={n}", run):
            res["runner_s"] = apply_all(runner, expected, ends)
        res["runner_n"] = expected
        say(f"  consumer runner: {expected / res['runner_s']:,.0f} events/s")
        check_counted(rep, n)
        return res
    finally:
        if runner is not None:
            runner.close()
        relay._reset_producer()
        att.dispose()
        rep.dispose()


def relay_and_consumer(run: Run) -> tuple[list[Row], dict]:
    small, large = run.sizes
    runs = {n: pipeline(run.engines, n, run, run.profile and n == small) for n in (small, large)}
    r = runs[small]
    skew = ("; PROFILED run: cProfile slows ours, not the baseline, so this ratio is not comparable"
            if run.profile else "")
    rows = [
        Row("1", f"relay publish rate, {small // 1000}k events", "ev/s", small / r["raw_produce_s"],
            small / r["relay_s"], target="≥ 0.5×", met=(r["raw_produce_s"] / r["relay_s"]) >= 0.5,
            note=f"raw = KafkaProducer acks=all idempotent, {r['record_bytes']:.0f}-byte records with ce_* headers; "
                 f"ours = Relay.publish_pending() draining outbox rows staged by Outbox.add" + skew),
        Row("2", f"consumer rate, {small // 1000}k events", "ev/s", r["raw_consume_n"] / r["raw_consume_s"],
            r["runner_n"] / r["runner_s"], target="≥ 0.5×",
            met=(r["runner_n"] / r["runner_s"]) / (r["raw_consume_n"] / r["raw_consume_s"]) >= 0.5,
            note="raw = group-less KafkaConsumer assign+seek_to_beginning; ours = reporting ConsumerRunner "
                 "(verify, inbox, handler, offset, commit)" + skew),
    ]
    for label, key in (("relay publish", "relay_s"), ("consumer runner", "runner_s"),
                       ("raw produce (context)", "raw_produce_s"), ("raw consume (context)", "raw_consume_s")):
        a = runs[small][key] / small * 1e6
        b = runs[large][key] / large * 1e6
        ratio = b / a
        context = "context" in label
        rows.append(Row("6", f"{label} µs/event {small // 1000}k→{large // 1000}k", "µs", a, b, ratio=ratio,
                        target="" if context else "≈ 1.0× (≤ 1.25)", met=None if context else ratio <= 1.25,
                        baseline_label=f"{small // 1000}k", ours_label=f"{large // 1000}k"))
    return rows, {"pipeline": runs}
