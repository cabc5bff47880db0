"""The retention plan of deploy/topics.yaml, as topic_plan reads it (no I/O)."""
from services.kernel.broker import DLT_SUFFIX, topic_plan
from services.kernel.config import Settings

PLAN = {t.name: t for t in topic_plan(Settings.topics_file)}
DAY_MS = 24 * 3600 * 1000


def test_catalogue_is_compacted_so_the_latest_of_every_service_stays_for_good():
    c = PLAN["yhd.catalogue"].topic_configs
    assert c["cleanup.policy"] == "compact"  # not "compact,delete": nothing leaves by age
    assert "retention.ms" not in c
    assert int(c["min.compaction.lag.ms"]) >= DAY_MS // 24  # a version stays readable a while after the next
    assert int(c["delete.retention.ms"]) >= DAY_MS
    assert int(c["segment.ms"]) <= DAY_MS  # the active segment is never compacted


def test_referrals_and_attendance_keep_as_long_as_the_outbox_can_republish():
    window_ms = str(int(Settings.outbox_retention_hours * 3600 * 1000))
    for name in ("yhd.referrals", "yhd.attendance"):
        c = PLAN[name].topic_configs
        assert c.get("cleanup.policy", "delete") == "delete", name
        assert c["retention.ms"] == window_ms, name
        assert int(c["segment.ms"]) <= DAY_MS, name  # a record outlives retention.ms by at most a segment


def test_every_topic_has_a_dead_letter_twin_kept_thirty_days():
    for name in ("yhd.catalogue", "yhd.referrals", "yhd.attendance"):
        dlt = PLAN[name + DLT_SUFFIX]
        assert dlt.topic_configs["retention.ms"] == str(30 * DAY_MS)
        assert dlt.topic_configs.get("cleanup.policy", "delete") == "delete"
    assert len(PLAN) == 6


def test_the_prefix_names_every_topic_and_keeps_its_configs():
    prefixed = {t.name: t for t in topic_plan(Settings.topics_file, prefix="t0123.")}
    assert set(prefixed) == {"t0123." + name for name in PLAN}
    for name, t in PLAN.items():
        assert prefixed["t0123." + name].topic_configs == t.topic_configs
        assert prefixed["t0123." + name].num_partitions == t.num_partitions


def test_config_values_are_strings_as_the_broker_wants_them():
    for t in PLAN.values():
        assert t.topic_configs["min.insync.replicas"] == "1"
        assert all(isinstance(v, str) for v in t.topic_configs.values()), t.name
