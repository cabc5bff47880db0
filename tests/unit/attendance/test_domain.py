"""Attendance rules, without a database."""
from datetime import datetime, timedelta, timezone

import pytest

from services.attendance.domain import Encounter
from services.kernel.errors import Invalid


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
