"""The relay's decisions on one batch: what is marked, quarantined or retried — no I/O (a producer that answers
as told stands in for the broker, which cannot be made to take a record after refusing the one before it)."""
from types import SimpleNamespace

import pytest
from kafka.errors import KafkaTimeoutError, MessageSizeTooLargeError

from services.kernel.relay import Relay


class Future:
    def __init__(self, error=None, done=True):
        self.is_done, self.exception = done, error

    def succeeded(self):
        return self.is_done and self.exception is None


class Producer:
    """Answers each send with `plan[value]`: a Future, or an exception raised at once."""

    def __init__(self, plan):
        self.plan, self.sent = plan, []

    def send(self, topic, key, value, headers):
        answer = self.plan.get(value, Future())
        if isinstance(answer, Exception):
            raise answer
        self.sent.append(value)
        return answer

    def flush(self, timeout=None):
        pass

    def close(self, timeout=None):
        pass


def row(seq, key, value, topic="yhd.referrals"):
    return SimpleNamespace(seq=seq, event_type="fi.yhdistamo.test.v1", topic=topic, key=key, headers=[],
                           value=value)


class Relayed(Relay):
    """The relay on an outbox in memory: `_next_rows` and `_settle` as their SQL would answer and do."""

    def __init__(self):
        super().__init__(engine=None, bootstrap="unused")
        self.rows, self.quarantined, self.settled = [], [], []

    def _next_rows(self):
        behind = {(q.topic, q.key) for q in self.quarantined}
        return [r for r in self.rows if (r.topic, r.key) not in behind]

    def _settle(self, published, quarantine):
        self.settled.append(([r.seq for r in published], [(r.seq, type(e).__name__) for r, e in quarantine]))
        done = {r.seq for r in published} | {r.seq for r, _ in quarantine}
        self.quarantined += [r for r, _ in quarantine]
        self.rows = [r for r in self.rows if r.seq not in done]
        return len(done)


@pytest.fixture
def relay():
    return Relayed()


def given(relay, rows, plan):
    relay.rows = list(rows)
    relay._producer = Producer(plan)
    return relay._producer


def test_a_row_the_producer_refuses_is_quarantined_and_its_aggregate_is_not_sent_further(relay):
    producer = given(relay, [row(1, "k", b"a1"), row(2, "k", b"a2"), row(3, "l", b"b"), row(4, "k", b"a3")],
                     {b"a2": MessageSizeTooLargeError("too large")})
    assert relay.publish_pending() == 3
    assert relay.settled == [([1, 3], [(2, "MessageSizeTooLargeError")])]
    assert producer.sent == [b"a1", b"b"]  # a3 waits behind the quarantined a2
    assert relay.publish_pending() == 0 and [r.seq for r in relay.rows] == [4]


def test_a_row_taken_after_a_failed_row_of_its_aggregate_is_not_marked_and_the_failed_row_is_isolated(relay):
    given(relay, [row(1, "k", b"a1"), row(2, "k", b"a2"), row(3, "l", b"b")],
          {b"a1": Future(MessageSizeTooLargeError())})  # a2 was taken by the broker all the same
    with pytest.raises(RuntimeError, match="1 row"):
        relay.publish_pending()
    # a1's error may be the producer's fatal state rather than a1's own: nothing is quarantined on its say-so
    assert relay.settled == [([3], [])] and relay._suspects == {1}
    relay._producer = producer = Producer({b"a1": Future(MessageSizeTooLargeError())})
    assert relay.publish_pending() == 1  # sent alone, a1 is refused again: now the error is its own
    assert producer.sent == [b"a1"] and relay.settled[-1] == ([], [(1, "MessageSizeTooLargeError")])
    assert relay._suspects == set() and relay.publish_pending() == 0  # a2 waits behind it


def test_an_isolated_row_that_gets_through_is_published_and_the_batch_goes_on_as_usual(relay):
    relay._suspects = {1}
    producer = given(relay, [row(1, "k", b"a1"), row(2, "k", b"a2"), row(3, "l", b"b")], {})
    assert relay.publish_pending() == 1 and producer.sent == [b"a1"]
    assert relay.publish_pending() == 2 and relay.settled == [([1], []), ([2, 3], [])]


def test_a_transient_failure_quarantines_nothing_and_a_topic_without_metadata_waits(relay):
    rows = [row(1, "k", b"a", topic="missing"), row(2, "m", b"c", topic="missing"), row(3, "l", b"b"),
            row(4, "n", b"d")]
    producer = given(relay, rows, {b"a": KafkaTimeoutError("no metadata"), b"d": Future(KafkaTimeoutError())})
    with pytest.raises(RuntimeError, match="waiting for topics"):
        relay.publish_pending()
    assert producer.sent == [b"b", b"d"]  # nothing more is tried on the topic without metadata
    assert relay.settled == [([3], [])] and relay.quarantined == []
    assert relay._suspects == set()  # a delivery timeout is no record's doing: d goes with the next batch


def test_rows_without_an_answer_are_isolated_with_the_other_failed_ones(relay):
    given(relay, [row(1, "k", b"a"), row(2, "l", b"b"), row(3, "m", b"c")],
          {b"a": Future(KafkaTimeoutError()), b"b": Future(done=False)})
    with pytest.raises(RuntimeError, match="2 row"):
        relay.publish_pending()
    assert relay.settled == [([3], [])] and relay._suspects == {1, 2}
