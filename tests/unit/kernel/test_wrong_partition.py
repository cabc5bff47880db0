"""A record must be on the partition the producers' partitioner (kafka-python's default) puts its key on."""
from __future__ import annotations

from collections import namedtuple

from kafka.partitioner.default import DefaultPartitioner

from services.kernel.consumer.apply import RecordApplier

Rec = namedtuple("Rec", "topic partition offset key")


class Cluster:
    def __init__(self, n):
        self.n = n

    def topics(self):
        return {"yhd.referrals"}

    def partitions_for_topic(self, topic):
        return set(range(self.n))

    available_partitions_for_topic = partitions_for_topic


def applier(partitions):
    return RecordApplier(group="g", uow_factory=None, handlers=None, federation=None, contracts=None,
                         partitions=partitions)


def test_the_producers_partition_passes_and_any_other_is_named():
    key, n = b"0b6f0c57-2c43-4bb6-9d3c-0c1bb1f1a1b2", 6
    right = DefaultPartitioner().partition("yhd.referrals", None, key, None, None, Cluster(n))  # KafkaProducer's
    a = applier(lambda topic: n)
    assert a._misplaced(Rec("yhd.referrals", right, 0, key)) is None
    wrong = (right + 1) % n
    assert a._misplaced(Rec("yhd.referrals", wrong, 0, key)) == (
        f"key '{key.decode()}' belongs on partition {right} of 6 of yhd.referrals, read from partition {wrong}")


def test_unchecked_without_a_partition_count():
    assert applier(None)._misplaced(Rec("t", 5, 0, b"k")) is None
    assert applier(lambda topic: None)._misplaced(Rec("t", 5, 0, b"k")) is None
