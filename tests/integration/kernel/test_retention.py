"""The retention plan on a real broker and database: topic configs kept to the plan, the inbox pruned, a member
back after the retention window reading on."""
from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from kafka import KafkaAdminClient, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
from sqlalchemy import func, insert, select, text

from services import attendance, referrals, reporting
from services.attendance import service as attendance_service
from services.kernel import broker, retention
from services.kernel.auth import Actor, Role
from services.kernel.config import Settings
from services.kernel.tables import inbox, outbox

pytestmark = pytest.mark.integration
WORKER = Actor("worker@odl", "Demo", Role.CASEWORKER, "odl")


def topic_configs(admin, name: str, keys: list[str]) -> dict:
    described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name, keys)], config_filter="all")
    return {k: c["value"] for k, c in described["topic"][name].items()}


def until(predicate, timeout: float = 30.0):
    """`predicate()` once true, polled with a generous bound (the broker applies config changes from the
    controller's metadata log a moment after the request returns)."""
    deadline = time.monotonic() + timeout
    while not (result := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(0.1)
    return result


@pytest.fixture
def admin(kafka):
    a = KafkaAdminClient(bootstrap_servers=kafka.bootstrap)
    yield a
    a.close()


def test_ensure_topics_sets_the_plan_on_topics_that_already_exist(kafka, admin):
    prefix = f"up{uuid.uuid4().hex[:8]}."  # a deployment from before the plan: default configs, one changed
    admin.create_topics([NewTopic(prefix + "yhd.catalogue", 3, 1, topic_configs={"max.message.bytes": "2000000"}),
                         NewTopic(prefix + "yhd.referrals", 6, 1, topic_configs={"retention.ms": "3600000"})],
                        wait_for_metadata=True)
    created = broker.ensure_topics(kafka.bootstrap, Settings.topics_file, prefix=prefix)
    assert prefix + "yhd.catalogue" not in created and prefix + "yhd.referrals" not in created
    assert prefix + "yhd.attendance" in created and prefix + "yhd.referrals.DLT" in created
    plan = {t.name: t.topic_configs for t in broker.topic_plan(Settings.topics_file, prefix)}
    for name, planned in plan.items():
        until(lambda: topic_configs(admin, name, list(planned)) == planned)
    assert topic_configs(admin, prefix + "yhd.catalogue", ["max.message.bytes"]) == {"max.message.bytes": "2000000"}
    assert broker.config_drift(admin, broker.topic_plan(Settings.topics_file, prefix)) == {}
    assert broker.ensure_topics(kafka.bootstrap, Settings.topics_file, prefix=prefix) == []


def test_a_config_changed_by_hand_is_put_back_to_the_plan(kafka, admin, topic_prefix):
    name = topic_prefix + "yhd.attendance"
    admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, name, {"retention.ms": "60000"})])
    plan = [t for t in broker.topic_plan(Settings.topics_file, topic_prefix) if t.name == name]
    planned = plan[0].topic_configs["retention.ms"]
    until(lambda: broker.config_drift(admin, plan) == {name: {"retention.ms": planned}})
    broker.ensure_topics(kafka.bootstrap, Settings.topics_file, prefix=topic_prefix)
    until(lambda: topic_configs(admin, name, ["retention.ms"]) == {"retention.ms": planned})


def add_inbox_rows(engine, ages_hours: list[float]) -> None:
    with engine.begin() as c:
        for age in ages_hours:
            c.execute(insert(inbox).values(
                event_id=str(uuid.uuid4()), source="/orgs/odl/referrals", event_type="fi.yhdistamo.x.v1",
                topic="yhd.referrals", partition=0, offset=0,
                processed_at=text(f"now() - interval '{age} hours'")))


def inbox_ages(engine) -> list[int]:
    with engine.connect() as c:
        return sorted(c.execute(text("SELECT round(extract(epoch FROM now() - processed_at) / 3600)::int"
                                     " FROM inbox")).scalars())


def test_the_relays_cleanup_prunes_inbox_rows_past_the_window_and_keeps_newer_ones(instance):
    inst = instance(referrals.DEFINITION, "odl")
    window = inst.relay.retention_hours
    kept = retention.inbox_window_hours(window)
    add_inbox_rows(inst.ctx.engine, [0, 1, window, kept - 1, kept + 1, kept + 48, 24 * 365])
    inst.relay.cleanup()
    assert inbox_ages(inst.ctx.engine) == [0, 1, round(window), round(kept - 1)]


def test_pruning_goes_in_bounded_batches_oldest_first(instance):
    inst = instance(referrals.DEFINITION, "odl")
    add_inbox_rows(inst.ctx.engine, [1, 30, 40, 50])
    with inst.ctx.engine.begin() as c:
        assert retention.prune_inbox(c, 24, limit=2) == 2
    assert inbox_ages(inst.ctx.engine) == [1, 30]
    with inst.ctx.engine.begin() as c:
        assert retention.prune_inbox(c, 24, limit=2) == 1
        assert retention.prune_inbox(c, 24, limit=2) == 0
    assert inbox_ages(inst.ctx.engine) == [1]


def test_cleanup_leaves_unpublished_outbox_rows_whatever_their_age(instance):
    inst = instance(referrals.DEFINITION, "odl")
    with inst.ctx.engine.begin() as c:
        for i, published in enumerate([None, "now() - interval '400 days'", "now()"]):
            c.execute(insert(outbox).values(
                event_id=f"e{i}", event_type="fi.yhdistamo.x.v1", topic="yhd.referrals", key="k", headers=[],
                value=b"{}", created_at=text("now() - interval '400 days'"),
                published_at=text(published) if published else None))
    assert inst.relay.cleanup() == 1
    with inst.ctx.engine.connect() as c:
        assert sorted(c.execute(select(outbox.c.event_id)).scalars()) == ["e0", "e2"]
        assert c.execute(select(func.count()).select_from(outbox)).scalar() == 2



def test_a_member_offline_longer_than_the_retention_resumes_at_the_log_start(instance, admin, caplog):
    odl, region = instance(attendance.DEFINITION, "odl"), instance(reporting.DEFINITION, "region")
    topic = odl.topic("yhd.attendance")

    def record(n: int) -> None:
        for _ in range(n):
            attendance_service.record_encounter(odl.ctx.uow, WORKER, {"kind": "drop-in",
                                                "occurred_at": datetime.now(timezone.utc) - timedelta(hours=1)})
        odl.publish()

    def applied() -> int:
        with region.ctx.engine.connect() as c:
            return c.execute(select(func.count()).select_from(inbox).where(inbox.c.topic == topic)).scalar()
    record(6)
    region.consume_until(lambda: applied() == 6)
    region.runner.close()  # offline, while six more are written and retention removes them unread
    record(6)
    probe = broker.consumer(odl.ctx.settings.kafka_bootstrap_servers, None)
    try:
        ends = probe.end_offsets([TopicPartition(topic, p) for p in range(3)])
    finally:
        probe.close()
    admin.delete_records(ends)  # what retention does: the log start moves past the stored offsets
    record(6)
    region.runner.start()
    region.consume_until(lambda: applied() == 12)
    assert "removed by retention before they were read" in caplog.text


def test_cleanup_counts_the_window_from_creation_so_a_requeue_does_not_extend_it(instance):
    inst = instance(referrals.DEFINITION, "odl")
    with inst.ctx.engine.begin() as c:
        for i, (created, published) in enumerate([("8 days", "2 hours"),    # re-published in a recovery
                                                  ("6 days", "6 days")]):   # inside the window
            c.execute(insert(outbox).values(
                event_id=f"r{i}", event_type="fi.yhdistamo.x.v1", topic="yhd.referrals", key="k", headers=[],
                value=b"{}", created_at=text(f"now() - interval '{created}'"),
                published_at=text(f"now() - interval '{published}'")))
    assert inst.relay.cleanup() == 1
    with inst.ctx.engine.connect() as c:
        assert sorted(c.execute(select(outbox.c.event_id)).scalars()) == ["r1"]
