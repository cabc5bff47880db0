"""Domain rules, without a database."""
from datetime import datetime, timedelta, timezone

import pytest

from services.attendance.domain import Encounter
from services.kernel.errors import Invalid
from services.reporting.domain import count_table, suppress


def test_encounter_rules():
    now = datetime.now(timezone.utc)
    e = Encounter.record(organization_id="odl", kind="drop-in", anonymous=True, participants=4,
                         occurred_at=now - timedelta(hours=1), by="x")
    assert e.recorded_event()["participants"] == 4
    with pytest.raises(Invalid):
        Encounter.record(organization_id="odl", kind="drop-in", anonymous=True, participants=1,
                         occurred_at=now + timedelta(hours=1), by="x")
    with pytest.raises(Invalid):
        Encounter.record(organization_id="odl", kind="home-visit", anonymous=False, participants=3,
                         occurred_at=now, by="x")


def test_small_people_counts_are_suppressed_but_catalogue_counts_are_not():
    assert suppress(0) == 0 and suppress(3) == "<5" and suppress(5) == 5
    table = count_table([
        {"org_id": "odl", "event_type": "fi.yhdistamo.referral.requested.v1", "count": 2},
        {"org_id": "odl", "event_type": "fi.yhdistamo.catalogue.service-published.v2", "count": 2},
    ])
    assert table == {"odl": {"referral.requested": "<5", "catalogue.service-published": 2}}
