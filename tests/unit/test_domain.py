"""Domain rules, without a database."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from services.attendance.domain import Encounter
from services.catalogue.domain import CatalogueService
from services.kernel.errors import Conflict, Invalid
from services.referrals.domain import Referral, State
from services.reporting.domain import count_table, suppress


def sent():
    return Referral.send(from_org="odl", to_org="oulu-social", service_id=uuid.uuid4(), age_band="18-24",
                         note=None, by="caseworker@odl")


def test_referral_to_own_service_is_refused():
    with pytest.raises(Invalid):
        Referral.send(from_org="odl", to_org="odl", service_id=uuid.uuid4(), age_band="18-24", note=None, by="x")


@pytest.mark.parametrize("path", [
    [State.ACCEPTED, State.IN_PROGRESS, State.ON_HOLD, State.IN_PROGRESS, State.COMPLETED],
    [State.REJECTED], [State.CANCELLED], [State.ACCEPTED, State.FAILED],
])
def test_legal_referral_transitions(path):
    r = sent()
    for s in path:
        r.transition(s)
    assert r.status == path[-1]


@pytest.mark.parametrize("path", [
    [State.COMPLETED], [State.REJECTED, State.ACCEPTED], [State.ACCEPTED, State.REJECTED],
    [State.CANCELLED, State.REQUESTED],
])
def test_illegal_referral_transitions_are_conflicts(path):
    r = sent()
    with pytest.raises(Conflict):
        for s in path:
            r.transition(s)


def test_requested_event_carries_no_personal_data():
    data = sent().requested_event()
    assert set(data) <= {"referral_id", "from_org", "to_org", "service_id", "requested_at", "age_band", "note"}


def test_withdrawing_twice_is_a_conflict_and_versions_increase():
    s = CatalogueService.create("odl", {"fi": "Ruoka-apu"})
    s.withdraw()
    assert s.version == 2 and s.withdrawn_event()["version"] == 2
    with pytest.raises(Conflict):
        s.withdraw()


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
        {"org_id": "odl", "event_type": "fi.yhdistamo.catalogue.service-published.v1", "count": 2},
    ])
    assert table == {"odl": {"referral.requested": "<5", "catalogue.service-published": 2}}
