"""Section 4: cross-organisation latency of a referral (the sender's POST until the receiver holds the incoming
referral) on a launcher stack of two organisations, against raw kafka-python produce->consume on its broker
at the same rate; where the time goes, and the CPU each referral costs."""
from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from kafka import KafkaConsumer, TopicPartition
from sqlalchemy import text

from devstack.client import NotInTime, StackClient, eventually
from tests.support.people import synthetic_client

from .common import RECEIVER, SENDER, Row, Run, p50_p99, percentile, say, tree_cpu
from .engines import create_topic, database, running_stack
from .engines import producer as new_producer

WARM = 5


def raw_latency(bootstrap: str, rate: float, count: int) -> list[float]:
    """Producer sends time.time() at `rate`/s; a consumer thread measures now - ts (milliseconds)."""
    topic = f"bench.latency.{uuid.uuid4().hex[:6]}"
    create_topic(bootstrap, topic, 6)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    tps = [TopicPartition(topic, p) for p in range(6)]
    consumer.assign(tps)
    consumer.seek_to_end()
    for tp in tps:
        consumer.position(tp)
    lat: list[float] = []
    seen = {"n": 0}
    stop = threading.Event()

    def consume():
        while not stop.is_set():
            for recs in consumer.poll(timeout_ms=100).values():
                now = time.time()
                for r in recs:
                    seen["n"] += 1
                    if not r.key.startswith(b"warm"):
                        lat.append((now - float(r.value)) * 1000)

    t = threading.Thread(target=consume, daemon=True)
    t.start()
    producer = new_producer(bootstrap)
    try:
        for i in range(WARM):
            producer.send(topic, key=b"warm%d" % i, value=repr(time.time()).encode())
            time.sleep(1 / rate)
        deadline = time.monotonic() + 15
        while seen["n"] < WARM and time.monotonic() < deadline:
            time.sleep(0.05)
        t0 = time.monotonic()
        for i in range(count):
            delay = t0 + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            producer.send(topic, key=b"%d" % i, value=repr(time.time()).encode())
        deadline = time.monotonic() + 30
        while len(lat) < count and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        t.join(5)
        producer.close(timeout=5)
        consumer.close(autocommit=False)
    if len(lat) < count:
        raise RuntimeError(f"raw latency: received {len(lat)} of {count}")
    return lat


def decompose(tx, rx, ids: list[str]) -> dict[str, list[float]]:
    """Where a referral's latency goes, from the databases' own timestamps (all on this machine's clock):
    relay = sender outbox.published_at (the relay's mark-published transaction, after the broker acked)
    − requested_at; to-consumer = receiver inbox.processed_at (the consumer's transaction start) −
    published_at; apply = received_at − processed_at."""
    with tx.connect() as c:
        sent = {r.event_id: r for r in c.execute(text(
            "SELECT o.event_id, o.key, o.published_at, r.requested_at FROM outbox o JOIN referral r "
            "ON r.id::text = o.key WHERE o.event_type LIKE '%referral.requested%' AND o.key = ANY(:ids)"),
            {"ids": ids})}
    with rx.connect() as c:
        rows = c.execute(text("SELECT event_id, processed_at FROM inbox WHERE event_id = ANY(:e)"),
                         {"e": list(sent)}).all()
        received = dict(c.execute(text("SELECT id::text, received_at FROM referral WHERE direction = 'incoming' "
                                       "AND id::text = ANY(:ids)"), {"ids": ids}).all())
    out = {"relay": [], "to-consumer": [], "apply": []}
    for event_id, processed_at in rows:
        row = sent[event_id]
        if row.published_at is None or received.get(row.key) is None:
            continue
        out["relay"].append((row.published_at - row.requested_at).total_seconds() * 1000)
        out["to-consumer"].append((processed_at - row.published_at).total_seconds() * 1000)
        out["apply"].append((received[row.key] - processed_at).total_seconds() * 1000)
    return out


def arrived(rx, ids: list[str]) -> list:
    """(id, received_at − requested_at in ms) of the referrals that reached the receiver."""
    with rx.connect() as conn:
        return conn.execute(text(
            "SELECT id::text, EXTRACT(EPOCH FROM (received_at - requested_at)) * 1000 FROM referral "
            "WHERE direction = 'incoming' AND received_at IS NOT NULL AND id::text = ANY(:ids)"),
            {"ids": ids}).all()


def acknowledged(tx, ids: list[str]) -> int:
    """How many of the sender's referrals have their receipt back."""
    with tx.connect() as c:
        return c.execute(text("SELECT count(*) FROM referral WHERE received_at IS NOT NULL "
                              "AND id::text = ANY(:ids)"), {"ids": ids}).scalar()


def cpu_snapshot(pids: dict) -> dict[str, float]:
    """CPU seconds (user + system) used so far by each part of a running stack."""
    return {name: tree_cpu(pid) for name, pid in pids.items()}


class Referrals:
    """Referrals of one client with consent at the sender to a service the receiver published."""

    def __init__(self, client: StackClient, rx):
        self.client, self.rx = client, rx
        self.service_id = client.publish_service(RECEIVER, {
            "name": {"fi": "Kuntouttava työtoiminta"}, "categories": ["rehabilitative-work-activity"],
            "areas": ["oulu"]})["id"]
        client.target(SENDER, RECEIVER, service_id=self.service_id, timeout=60)
        self.client_id = client.client_with_consent(SENDER, RECEIVER, synthetic_client(7))

    def post(self) -> tuple[str, float]:
        t = time.perf_counter()
        referral = self.client.refer(SENDER, self.client_id, self.service_id)
        return referral["id"], (time.perf_counter() - t) * 1000

    def send(self, n: int, rate: float) -> tuple[list[str], list[float], float]:
        """Open loop: one POST every 1/rate s (a few in flight if one is slow), like independent users."""
        futures = []
        t0 = time.monotonic()
        with ThreadPoolExecutor(max_workers=8) as pool:
            for i in range(n):
                delay = t0 + i / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                futures.append(pool.submit(self.post))
            took = time.monotonic() - t0
            done = [f.result() for f in futures]
        return [d[0] for d in done], [d[1] for d in done], took

    def wait_arrived(self, ids: list[str], timeout: float = 90) -> list:
        return eventually(lambda: len(rows := arrived(self.rx, ids)) == len(ids) and rows, timeout, interval=0.3,
                          what=f"the arrival of all {len(ids)} referrals at {RECEIVER}")


def wait_acknowledged(run: Run, tx, ids: list[str], timeout: float = 60) -> None:
    try:
        eventually(lambda: acknowledged(tx, ids) == len(ids), timeout, interval=0.3, what="receipts")
    except NotInTime:
        shortfall = f"only {acknowledged(tx, ids)} of {len(ids)} receipts reached {SENDER} in {timeout:.0f}s"
        say(f"  {shortfall}")
        run.observed.append(f"section 4: {shortfall}")


def cross_organisation(run: Run) -> tuple[list[Row], dict]:
    rate = 20.0
    count = int(rate * (5 if run.quick else 10))
    t = time.monotonic()
    with running_stack(run.tmp / "fed", 240, only={SENDER: ("referrals",), RECEIVER: ("referrals", "catalogue")},
                       with_reporting=False) as (stack, desc, urls):
        say(f"cross-org: {len(stack.children)} processes of {SENDER} and {RECEIVER} up in "
            f"{time.monotonic() - t:.0f}s")
        tx, rx = database(urls[(SENDER, "referrals")]), database(urls[(RECEIVER, "referrals")])
        try:
            return measure(run, stack.kafka.bootstrap, desc, tx, rx, rate, count)
        finally:
            tx.dispose()
            rx.dispose()


def measure(run: Run, bootstrap: str, desc: dict, tx, rx, rate: float, count: int) -> tuple[list[Row], dict]:
    referrals = Referrals(StackClient(desc), rx)
    referrals.wait_arrived(referrals.send(10, rate)[0])   # warm-up: first requests, first events of each process
    time.sleep(3)
    # raw baseline on the same broker, same rate and count, while the stack idles
    raw = raw_latency(bootstrap, rate, count)
    say(f"  raw kafka produce→consume: {p50_p99(raw)}")
    # CPU the idle stack burns anyway (polls, heartbeats, jobs), to subtract from the busy window
    idle0, t_idle = cpu_snapshot(desc["pids"]), time.monotonic()
    time.sleep(5)
    cpu0, t_busy = cpu_snapshot(desc["pids"]), time.monotonic()
    idle = {k: (cpu0[k] - idle0.get(k, 0.0)) / (t_busy - t_idle) for k in cpu0}
    ids, post_ms, took = referrals.send(count, rate)
    ours = [float(r[1]) for r in referrals.wait_arrived(ids)]
    wait_acknowledged(run, tx, ids)   # the receipt travelling back is part of the work each referral causes
    cpu1, busy = cpu_snapshot(desc["pids"]), time.monotonic() - t_busy
    cpu_ms = {k: (cpu1[k] - cpu0.get(k, 0.0) - idle.get(k, 0.0) * busy) * 1000 / count for k in cpu1}
    stages = decompose(tx, rx, ids)
    say(f"  cross-org ({count} referrals at {count / took:.1f}/s): {p50_p99(ours)}; "
        f"POST p50 {percentile(post_ms, 50):.1f} ms")
    L = {"rate": rate, "count": count, "achieved_rate": count / took, "stages_ms": stages,
         "cpu_ms_per_referral": cpu_ms, "raw_ms": raw, "ours_ms": ours, "post_ms": post_ms,
         "raw_p50": percentile(raw, 50), "raw_p99": percentile(raw, 99),
         "ours_p50": percentile(ours, 50), "ours_p99": percentile(ours, 99),
         "ours_max": max(ours), "post_p50": percentile(post_ms, 50), "post_p99": percentile(post_ms, 99)}
    note = (f"{count} referrals {SENDER}→{RECEIVER} at {L['achieved_rate']:.1f}/s; latency = received_at − "
            f"requested_at of the incoming row; max {L['ours_max']:.0f} ms; the sender's POST itself took "
            f"p50 {L['post_p50']:.0f} / p99 {L['post_p99']:.0f} ms; raw = kafka-python producer→consumer "
            f"thread at the same rate on the same broker; stages p50/p99 ms: " +
            ", ".join(f"{k} {percentile(v, 50):.0f}/{percentile(v, 99):.0f}" for k, v in stages.items()) +
            "; CPU per referral above idle (all processes, incl. the receipt back) "
            f"{sum(cpu_ms.values()):.0f} ms: " +
            ", ".join(f"{k} {v:.1f}" for k, v in sorted(cpu_ms.items(), key=lambda kv: -kv[1]) if v >= 0.5))
    return [Row("4", "cross-org latency p50", "ms", L["raw_p50"], L["ours_p50"]),
            Row("4", "cross-org latency p99", "ms", L["raw_p99"], L["ours_p99"], target="p99 ≤ 100 ms",
                met=L["ours_p99"] <= 100, note=note)], {"latency_idle_cpu_per_s": idle, "latency": L}
