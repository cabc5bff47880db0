"""The indicator maths and who sees what, without a database."""
import pytest

from services.kernel.errors import Forbidden
from services.reporting.domain import count_table, region_table, suppress, viewer_scope

CONTRACT_NAMES = ["attendance.encounter-recorded", "catalogue.service-published", "catalogue.service-withdrawn",
                  "consent.expired", "consent.granted", "consent.withdrawn", "referral.accepted",
                  "referral.cancelled", "referral.escalated", "referral.outcome-recorded", "referral.received",
                  "referral.rejected", "referral.requested", "referral.status-changed"]


def rows(org, counts):
    return [{"org_id": org, "event_type": f"fi.yhdistamo.{name}.v1", "count": n} for name, n in counts.items()]


def test_small_people_counts_are_suppressed_but_catalogue_counts_are_not():
    assert suppress(0) == 0 and suppress(3) == "<5" and suppress(5) == 5
    table = count_table(rows("odl", {"referral.requested": 2, "catalogue.service-published": 2}))
    assert table == {"odl": {"referral.requested": "<5", "catalogue.service-published": 2}}


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_every_people_related_count_of_one_to_four_is_shown_as_under_five(n):
    shown = count_table(rows("odl", {name: n for name in CONTRACT_NAMES}))["odl"]
    assert {k: v for k, v in shown.items() if v != "<5"} == {"catalogue.service-published": n,
                                                             "catalogue.service-withdrawn": n}


def test_an_event_type_reporting_does_not_know_yet_is_suppressed():
    assert count_table(rows("odl", {"referral.something-new": 1}))["odl"] == {"referral.something-new": "<5"}


def test_versions_of_one_event_add_up_before_suppression():
    table = count_table([{"org_id": "odl", "event_type": "fi.yhdistamo.catalogue.service-published.v1", "count": 2},
                         {"org_id": "odl", "event_type": "fi.yhdistamo.catalogue.service-published.v2", "count": 3},
                         {"org_id": "odl", "event_type": "fi.yhdistamo.referral.requested.v1", "count": 3},
                         {"org_id": "odl", "event_type": "fi.yhdistamo.referral.requested.v2", "count": 3}])
    assert table == {"odl": {"catalogue.service-published": 5, "referral.requested": 6}}


def test_a_manager_sees_only_their_organisation_and_the_coordinator_the_region():
    data = rows("odl", {"referral.requested": 7}) + rows("oulu-social", {"referral.requested": 9})
    assert viewer_scope("coordinator", None) is None and viewer_scope("admin", None) is None
    assert count_table(data, viewer_scope("manager", "odl")) == {"odl": {"referral.requested": 7}}
    with pytest.raises(Forbidden):
        viewer_scope("manager", None)
    with pytest.raises(Forbidden):
        viewer_scope("caseworker", "odl")


def test_the_public_view_is_the_regions_totals_suppressed():
    data = rows("odl", {"referral.requested": 3, "consent.granted": 2}) + rows("oulu-social", {"referral.requested": 3})
    assert region_table(data) == {"consent.granted": "<5", "referral.requested": 5}


def test_public_people_totals_move_in_fives_so_a_manager_cannot_subtract_the_rest():
    """ODL's manager knows ODL's exact 100; the rest of the region made 2. The public total must not say so."""
    data = rows("odl", {"referral.requested": 100, "catalogue.service-published": 7}) + \
        rows("oulu-social", {"referral.requested": 2})
    public = region_table(data)
    assert public == {"referral.requested": 100, "catalogue.service-published": 7}
    assert count_table(data, "odl")["odl"]["referral.requested"] == 100   # what the manager subtracts
    for n in range(0, 40):
        shown = region_table(rows("odl", {"referral.requested": n}))["referral.requested"]
        assert shown in (0, "<5") if n < 5 else (shown % 5 == 0 and n - 5 < shown <= n), (n, shown)
