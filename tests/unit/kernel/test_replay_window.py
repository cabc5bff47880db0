"""The replay window (no I/O): an event older than what the inbox remembers, or stamped implausibly far ahead,
is refused on a topic that expires its records; on the compacted catalogue topic versions decide instead."""
from datetime import datetime, timedelta, timezone

import pytest

from services.kernel.broker import compacted_topics
from services.kernel.config import Settings
from services.kernel.consumer import OutsideReplayWindow, ReplayWindow
from services.kernel.events import CloudEvent
from services.kernel.retention import inbox_window_hours

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)
SETTINGS = Settings(org_id="odl", service="referrals", database_url="-", kafka_bootstrap_servers="-",
                    topic_prefix="t1.")
WINDOW = ReplayWindow.for_settings(SETTINGS)


def event(topic: str, age: timedelta) -> CloudEvent:
    at = (NOW - age).isoformat().replace("+00:00", "Z")
    return CloudEvent(id="e", source="/orgs/odl/referrals", type="t", time=at, partitionkey="k", data={},
                      data_bytes=b"{}", topic=topic)


def test_the_window_is_shorter_than_the_inbox_keeps_its_rows_and_longer_than_the_outbox_republishes():
    assert SETTINGS.outbox_retention_hours < WINDOW.hours < inbox_window_hours(SETTINGS.outbox_retention_hours)
    assert WINDOW.compacted == {"t1.yhd.catalogue"} == compacted_topics(SETTINGS.topics_file, "t1.")


@pytest.mark.parametrize("topic", ["t1.yhd.referrals", "t1.yhd.attendance"])
def test_an_event_older_than_the_window_is_refused_on_a_topic_that_expires(topic):
    WINDOW.check(event(topic, timedelta(hours=WINDOW.hours - 0.01)), NOW)  # a genuine re-publish, still in it
    with pytest.raises(OutsideReplayWindow, match="older than the replay window"):
        WINDOW.check(event(topic, timedelta(hours=WINDOW.hours + 0.01)), NOW)


def test_an_old_record_of_the_compacted_catalogue_is_taken():
    WINDOW.check(event("t1.yhd.catalogue", timedelta(days=400)), NOW)
    with pytest.raises(OutsideReplayWindow):  # the same topic name in another namespace is not compacted
        WINDOW.check(event("yhd.catalogue", timedelta(days=400)), NOW)


@pytest.mark.parametrize("topic", ["t1.yhd.referrals", "t1.yhd.catalogue"])
def test_an_event_from_the_future_is_refused(topic):
    WINDOW.check(event(topic, -timedelta(seconds=WINDOW.future_seconds - 1)), NOW)  # a clock a little ahead
    with pytest.raises(OutsideReplayWindow, match="in the future"):
        WINDOW.check(event(topic, -timedelta(seconds=WINDOW.future_seconds + 1)), NOW)
