"""The replay window: events older than what the inbox remembers are refused, not applied again.

The inbox keeps an event's (source, id) for the outbox window plus a day
(retention.py); after that a genuine event replayed onto the bus by anyone who
kept a copy would find no inbox row and be applied a second time. So on a topic
that is not compacted an event whose (signed) `time` is older than the window
is parked ("older than the replay window"). The window is an hour shorter than
the inbox keeps its rows, which covers a producer's clock up to the
FUTURE_SECONDS allowed ahead and the database's clock beside the consumer's; it
is still 23 hours longer than the outbox re-publishes, so a genuine re-publish
(recovery after the broker lost its data) is never refused. An event stamped
more than FUTURE_SECONDS ahead is parked too ("in the future"): otherwise it
would stay inside the window for longer than its inbox row lives.

A compacted topic (the catalogue) keeps old records for good, for members that
join later: there the read models' versions decide instead (a version older
than or equal to the stored one changes nothing, and a service id claimed by two
organisations is disputed, whichever claim came first).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from .. import broker
from ..events import CloudEvent, EnvelopeError
from ..retention import inbox_window_hours

FUTURE_SECONDS = 300.0
MARGIN_HOURS = 1.0


class OutsideReplayWindow(EnvelopeError):
    """The event's time lies before the replay window, or implausibly far ahead."""


def replay_window_hours(outbox_window_hours: float) -> float:
    return inbox_window_hours(outbox_window_hours) - MARGIN_HOURS


@dataclass(frozen=True)
class ReplayWindow:
    hours: float
    compacted: frozenset[str] = frozenset()  # topics (with their prefix) where versions decide instead
    future_seconds: float = FUTURE_SECONDS

    @classmethod
    def for_settings(cls, settings) -> "ReplayWindow":
        compacted = broker.compacted_topics(settings.topics_file, settings.topic_prefix) if settings.topics_file \
            else frozenset()
        return cls(replay_window_hours(settings.outbox_retention_hours), frozenset(compacted))

    def check(self, event: CloudEvent, now: datetime | None = None) -> None:
        now = now or datetime.now(timezone.utc)
        at = datetime.fromisoformat(event.time.replace("Z", "+00:00"))
        at = at if at.tzinfo else at.replace(tzinfo=timezone.utc)
        if at > now + timedelta(seconds=self.future_seconds):
            raise OutsideReplayWindow(f"time {event.time} is in the future (more than {self.future_seconds:g} s "
                                      f"ahead of this consumer's clock)")
        if event.topic not in self.compacted and at < now - timedelta(hours=self.hours):
            raise OutsideReplayWindow(f"time {event.time} is older than the replay window ({self.hours:g} h, "
                                      f"what the inbox remembers): a replay cannot be told from a new event")
