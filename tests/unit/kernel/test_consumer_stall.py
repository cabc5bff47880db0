"""A member that holds partitions but fetches nothing while records wait rejoins (no I/O: a stub consumer)."""
import time
from collections import namedtuple

import pytest

from services.kernel.consumer import ConsumerRunner, Handlers, Stalled

TP = namedtuple("TP", "topic partition")
PART = TP("yhd.referrals", 0)


class StubConsumer:
    def __init__(self, start: int, end: int):
        self.start, self.end = start, end

    def assignment(self):
        return {PART}

    def beginning_offsets(self, parts):
        return {tp: self.start for tp in parts}

    def end_offsets(self, parts):
        return {tp: self.end for tp in parts}


def runner(stored: dict, start: int = 0, end: int = 5, idle_for: float = 11.0) -> ConsumerRunner:
    r = ConsumerRunner(group="odl.referrals", bootstrap="unused:9092", engine=None, uow_factory=None,
                       handlers=Handlers(), federation=None, contracts=None, topics=[PART.topic])
    r.consumer = StubConsumer(start, end)
    r.stored_offsets = lambda: stored
    r._fetched_at = time.monotonic() - idle_for
    return r


def test_records_waiting_behind_a_member_that_fetches_nothing_make_it_rejoin():
    with pytest.raises(Stalled, match="yhd.referrals"):
        runner({(PART.topic, 0): 3})._watch_assignment()


def test_an_idle_member_that_has_applied_everything_stays():
    runner({(PART.topic, 0): 5})._watch_assignment()


def test_records_removed_by_retention_before_they_were_read_are_not_a_stall():
    runner({}, start=5, end=5)._watch_assignment()


def test_a_member_that_fetched_a_moment_ago_is_not_asked():
    runner({(PART.topic, 0): 3}, idle_for=1.0)._watch_assignment()
