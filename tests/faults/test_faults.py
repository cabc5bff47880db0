"""Backbone under fire: break real processes, then count at every receiving database.

Each test sends a known set of referrals from ODL to the city across the
broker and asserts that every receiving database (the city's referrals, ODL's
referrals for the receipts, regional reporting) applied each exactly once,
within DRAIN seconds after the last fault.
"""
from __future__ import annotations

import os
import shutil
import signal
import threading
import time
import uuid

import pytest
from kafka import KafkaConsumer, TopicPartition

from devstack.client import eventually
from services.kernel import broker
from services.kernel.config import PROJECT_ROOT
from services.kernel.events import new_event
from services.kernel.keys import load_private_key
from tests.faults.harness import RECEIVER, SENDER

pytestmark = pytest.mark.faults
DRAIN = 60.0  # seconds allowed after the last fault for every backlog to drain


def crashed(fed, point) -> bool:
    """The crash point fired: its marker holds the pid of the process that killed itself."""
    marker = fed.stack.var / f"fault-{point}"
    return marker.exists() and int(marker.read_text()) > 0


def read_all(bootstrap, topic):
    c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=3000)
    tps = [TopicPartition(topic, p) for p in c.partitions_for_topic(topic)]
    c.assign(tps)
    c.seek_to_beginning(*tps)
    recs = list(c)
    c.close()
    return recs


def report(name, drain):
    print(f"\n[fault] {name}: drained {drain:.1f}s after the last fault")


def test_relay_killed_between_publish_and_mark_published(federation):
    fed = federation(env={"YHD_FAULT_INJECT": "relay.after-publish"})
    fed.publish_target()  # the city's catalogue relay dies once right after its first publish
    fed.send(20)
    drain = fed.wait_exactly_once(DRAIN)
    assert crashed(fed, "relay.after-publish")
    eventually(lambda: any(c.restarts for c in fed.stack.children if c.name.endswith("/relay")))
    # the crashed relay published its batch again after the restart: the log holds duplicates
    ids = [dict(r.headers)["ce_id"] for r in read_all(fed.stack.kafka.bootstrap, "yhd.catalogue")]
    assert len(ids) > len(set(ids))
    report("relay SIGKILL between publish and mark", drain)


def test_consumer_killed_mid_batch(federation):
    fed = federation(env={"YHD_FAULT_INJECT": "consumer.mid-batch"})
    fed.publish_target()
    fed.send(40)
    drain = fed.wait_exactly_once(DRAIN)
    assert crashed(fed, "consumer.mid-batch")
    report("consumer SIGKILL mid-batch", drain)


def test_broker_paused_longer_than_client_timeouts(federation):
    fed = federation()
    fed.publish_target()
    fed.send(5)
    pid = fed.stack.kafka.proc.pid
    os.kill(pid, signal.SIGSTOP)
    try:
        fed.send(10)  # writes go on while the broker is frozen
        time.sleep(8)  # longer than the clients' request and session timeouts (4 s / 6 s)
    finally:
        os.kill(pid, signal.SIGCONT)
    drain = fed.wait_exactly_once(DRAIN)
    report("broker SIGSTOP 8 s", drain)


def test_broker_killed_and_restarted_repeatedly_under_load(federation):
    fed = federation()
    fed.publish_target()
    stop = threading.Event()
    errors = []

    def load():
        while not stop.is_set():
            try:
                fed.send(1)
            except Exception as e:  # pragma: no cover - asserted below
                errors.append(e)
            time.sleep(0.05)
    t = threading.Thread(target=load)
    t.start()
    try:
        for _ in range(3):
            time.sleep(2)
            fed.stack.kafka.kill()
            time.sleep(1)
            fed.stack.kafka.start()
    finally:
        time.sleep(1)
        stop.set()
        t.join()
    assert errors == []
    assert len(fed.sent) > 20
    drain = fed.wait_exactly_once(DRAIN)
    report(f"broker SIGKILL+restart x3 under load ({len(fed.sent)} referrals)", drain)


def test_broker_data_directory_lost(federation):
    fed = federation()
    fed.publish_target()
    fed.send(10)
    fed.wait_exactly_once(DRAIN)
    old_cluster = fed.q(SENDER, "referrals", "SELECT cluster_id FROM kafka_cluster")
    fed.stack.kafka.kill()
    shutil.rmtree(fed.stack.kafka.data_dir)  # as after a disk loss
    fed.stack.kafka.start()  # formatted anew: another cluster id, no topics
    fed.send(10)
    drain = fed.wait_exactly_once(DRAIN)
    # every service noticed, recreated its topics and moved on to the new cluster
    new_cluster = fed.q(SENDER, "referrals", "SELECT cluster_id FROM kafka_cluster")
    assert new_cluster != old_cluster
    assert fed.q(RECEIVER, "referrals", "SELECT cluster_id FROM kafka_cluster") == new_cluster
    from kafka import KafkaAdminClient
    admin = KafkaAdminClient(bootstrap_servers=fed.stack.kafka.bootstrap)
    assert {"yhd.referrals", "yhd.catalogue", "yhd.referrals.DLT"} <= set(admin.list_topics())
    admin.close()
    # the city's service (published before the loss) came back through the re-published outbox
    fed.target(SENDER, RECEIVER, service_id=fed.service_id, timeout=30)
    report("broker data directory lost", drain)


def test_postgres_restarted_under_a_service(federation):
    fed = federation()
    fed.publish_target()
    fed.send(3)
    fed.stack.pg.stop()
    try:
        r = fed.call(SENDER, "referrals", "POST", "/api/v1/referrals",
                     json={"client_id": fed.client_id, "service_id": fed.service_id})
        assert r.status_code == 503
        assert r.headers["Content-Type"].startswith("application/problem+json")
        assert r.json()["status"] == 503
        h = fed.call(SENDER, "referrals", "GET", "/healthz", None)
        assert h.status_code == 503 and h.json()["checks"]["database"] != "ok"
    finally:
        fed.stack.pg.start()
    pids = {c.name: c.proc.pid for c in fed.stack.children}
    eventually(lambda: fed.call(SENDER, "referrals", "GET", "/api/v1/referrals").status_code == 200, 30)
    fed.send(3)
    drain = fed.wait_exactly_once(DRAIN)
    assert {c.name: c.proc.pid for c in fed.stack.children} == pids  # recovered without restarting anything
    report("PostgreSQL restarted under the services", drain)


def test_hundreds_of_malformed_and_forged_events_are_dead_lettered(federation):
    fed = federation()
    fed.publish_target()
    bootstrap = fed.stack.kafka.bootstrap
    producer = broker.producer(bootstrap)
    odl_key = load_private_key(PROJECT_ROOT / "deploy" / "demo-keys" / "odl.ed25519.pem")
    stranger = __import__("cryptography.hazmat.primitives.asymmetric.ed25519", fromlist=["x"]) \
        .Ed25519PrivateKey.generate()
    parish_key = load_private_key(PROJECT_ROOT / "deploy" / "demo-keys" / "oulu-parish.ed25519.pem")
    bad_ids = []
    for i in range(200):
        rid = str(uuid.uuid4())
        bad_ids.append(rid)
        data = {"referral_id": rid, "from_org": SENDER, "to_org": RECEIVER, "service_id": fed.service_id,
                "requested_at": "2026-11-25T10:00:00Z", "age_band": "18-24"}
        if i < 100:  # malformed: broken JSON, missing attributes, contract violations
            ev = new_event(source=f"/orgs/{SENDER}/referrals", type="fi.yhdistamo.referral.requested.v2",
                           key=rid, data=data, signing_key=odl_key, topic="yhd.referrals")
            headers = ev.headers()
            value = [b"{oops", ev.data_bytes, b'{"referral_id": 1}'][i % 3]
            if i % 3 == 1:
                headers = [h for h in headers if h[0] != "ce_id"]
        else:  # wrongly signed, unsigned, or signed by a non-member
            key = [stranger, parish_key, None][i % 3]
            ev = new_event(source=f"/orgs/{SENDER}/referrals", type="fi.yhdistamo.referral.requested.v2",
                           key=rid, data=data, signing_key=key or odl_key, topic="yhd.referrals")
            headers = [h for h in ev.headers() if not (key is None and h[0] == "ce_signature")]
            value = ev.data_bytes
        producer.send("yhd.referrals", key=rid.encode(), value=value, headers=headers)
    producer.flush()
    producer.close()
    fed.send(10)  # genuine referrals after the garbage
    drain = fed.wait_exactly_once(DRAIN)
    assert fed.q(RECEIVER, "referrals", "SELECT count(*) FROM referral WHERE id::text = ANY(:ids)", ids=bad_ids) == 0

    def parked(group):
        c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=3000)
        tp = TopicPartition("yhd.referrals.DLT", 0)
        c.assign([tp])
        c.seek_to_beginning(tp)
        recs = [dict((k, v.decode(errors="replace")) for k, v in r.headers) for r in c]
        c.close()
        return [r for r in recs if r.get("dlt_consumer_group") == group]
    for group in (f"{RECEIVER}.referrals", f"{SENDER}.referrals", "region.reporting"):
        # every consumer group parks all 200, each with the reason and where it came from
        eventually(lambda: len([r for r in parked(group) if r["dlt_reason"] and r["dlt_error"]
                                and r["dlt_topic"] == "yhd.referrals" and r["dlt_offset"]]) >= 200, 60)
    report("200 malformed / forged events dead-lettered", drain)


def test_two_consumers_share_partitions_and_hand_over_when_one_dies(federation):
    fed = federation(consumers=2)
    fed.publish_target()
    first, second = fed.child(f"{RECEIVER}/referrals/consumer"), fed.child(f"{RECEIVER}/referrals/consumer-2")
    eventually(lambda: "assigned" in second.log.read_text() and "assigned" in first.log.read_text(), 60)
    fed.send(15)
    first.stop(signal.SIGKILL)  # its partitions go to the other consumer
    fed.send(15)
    drain = fed.wait_exactly_once(DRAIN)
    report("one of two consumers SIGKILLed", drain)
