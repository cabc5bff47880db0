"""The indicator maths, without a database."""
from services.reporting.domain import count_table, suppress


def test_small_people_counts_are_suppressed_but_catalogue_counts_are_not():
    assert suppress(0) == 0 and suppress(3) == "<5" and suppress(5) == 5
    table = count_table([
        {"org_id": "odl", "event_type": "fi.yhdistamo.referral.requested.v2", "count": 2},
        {"org_id": "odl", "event_type": "fi.yhdistamo.catalogue.service-published.v2", "count": 2},
    ])
    assert table == {"odl": {"referral.requested": "<5", "catalogue.service-published": 2}}
