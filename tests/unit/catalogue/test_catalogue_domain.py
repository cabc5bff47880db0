"""Catalogue rules without a database: the lifecycle, and what a publisher may not say."""
import uuid

import pytest
from marshmallow import ValidationError

from services.catalogue.profile import profile
from services.catalogue.publishing.domain import CatalogueService, Location
from services.catalogue.publishing.schemas import LocationIn, ServiceCreate, ServiceIn
from services.kernel.config import PROJECT_ROOT
from services.kernel.contracts import ContractRegistry
from services.kernel.errors import Conflict

CONTRACTS = ContractRegistry(PROJECT_ROOT / "contracts")
HELMI = {"name": {"fi": "HELMI-kahvila"}, "address": {"street": "Isokatu 47", "postal_code": "90100", "city": "Oulu"},
         "area": "oulu-keskusta", "latitude": 65.0118, "longitude": 25.4720}


def drop_in(**extra):
    return {"name": {"fi": "Yhdistämön kohtaamispaikka", "en": "Yhdistämö drop-in"}, "categories": ["drop-in"],
            "areas": ["oulu-keskusta"], "delivery_modes": ["in-person"], "min_age": 15, "max_age": 35,
            "opening_hours": [{"days": ["MO"], "opens_at": "13:00", "closes_at": "17:00"}], **extra}


def errors(schema, data) -> dict:
    with pytest.raises(ValidationError) as e:
        schema.load(data)
    return e.value.messages


def test_lifecycle_draft_publish_close_reopen_withdraw_and_illegal_moves():
    s = CatalogueService.create("odl", ServiceIn().load(drop_in()), status="draft")
    assert not s.public
    s.transition("publish")
    assert s.status == "active" and s.version == 2
    s.transition("close", {"fi": "Suljettu remontin vuoksi"})
    assert s.status == "temporarily-closed" and s.closed_reason == {"fi": "Suljettu remontin vuoksi"}
    with pytest.raises(Conflict):
        s.transition("close")
    s.transition("reopen")
    assert s.closed_reason is None and s.version == 4
    s.transition("withdraw")
    assert s.withdrawn_event()["version"] == 5
    for action in ("withdraw", "publish", "reopen", "close"):
        with pytest.raises(Conflict):
            s.transition(action)
    with pytest.raises(Conflict):
        s.update(ServiceIn().load(drop_in()))


def test_published_event_carries_the_locations_and_satisfies_the_contract():
    loc = Location.create("odl", LocationIn().load(HELMI))
    doc = ServiceIn().load(drop_in(location_ids=[str(loc.id)], capacity={"available": 3, "maximum": 12},
                                   exceptions=[{"starts_on": "2026-12-24", "ends_on": "2026-12-26", "closed": True,
                                                "reason": {"fi": "Joulun pyhät"}}]))
    s = CatalogueService.create("odl", doc)
    data = s.published_event([loc])
    CONTRACTS.validate("fi.yhdistamo.catalogue.service-published.v2", data)
    assert data["locations"][0]["address"]["street"] == "Isokatu 47"
    assert data["service"]["exceptions"][0]["starts_on"] == "2026-12-24"  # dates travel as ISO text


@pytest.mark.parametrize("hours, field", [
    ({"days": ["MO"], "opens_at": "17:00", "closes_at": "13:00"}, "closes_at"),
    ({"days": ["MO"], "opens_at": "13:00", "closes_at": "13:00"}, "closes_at"),
    ({"days": ["MO"], "opens_at": "25:00", "closes_at": "26:00"}, "opens_at"),
    ({"days": ["MO"], "opens_at": "13:60", "closes_at": "17:00"}, "opens_at"),
    ({"days": ["MO"], "opens_at": "24:00", "closes_at": "24:00"}, "opens_at"),
    ({"days": [], "opens_at": "13:00", "closes_at": "17:00"}, "days"),
    ({"days": ["MO", "MO"], "opens_at": "13:00", "closes_at": "17:00"}, "days"),
    ({"days": ["MONDAY"], "opens_at": "13:00", "closes_at": "17:00"}, "days"),
    ({"days": ["MO"], "opens_at": "13:00", "closes_at": "17:00", "valid_from": "2026-06-01",
      "valid_to": "2026-05-01"}, "valid_to"),
    ({"days": ["MO"], "opens_at": "13:00", "closes_at": "17:00", "location_id": str(uuid.uuid4())}, "location_id"),
    ({"days": ["MO"], "opens_at": "20:00", "closes_at": "24:00\n"}, "closes_at"),     # a trailing newline
    ({"days": ["MO"], "opens_at": "0\u0669:00", "closes_at": "17:00"}, "opens_at"),   # an Arabic-Indic digit
])
def test_impossible_weekly_hours_are_rejected_with_the_field_named(hours, field):
    messages = errors(ServiceIn(), drop_in(opening_hours=[hours]))
    assert field in str(messages["opening_hours"]), messages


def test_overlapping_hours_on_one_day_are_rejected_but_split_and_seasonal_hours_are_fine():
    overlap = [{"days": ["MO", "TU"], "opens_at": "10:00", "closes_at": "14:00"},
               {"days": ["TU"], "opens_at": "13:00", "closes_at": "17:00"}]
    assert "Overlaps" in str(errors(ServiceIn(), drop_in(opening_hours=overlap)))
    fine = [{"days": ["MO"], "opens_at": "10:00", "closes_at": "12:00"},
            {"days": ["MO"], "opens_at": "13:00", "closes_at": "24:00"},
            {"days": ["TU"], "opens_at": "10:00", "closes_at": "14:00", "valid_to": "2026-05-31"},
            {"days": ["TU"], "opens_at": "12:00", "closes_at": "16:00", "valid_from": "2026-06-01"}]
    assert len(ServiceIn().load(drop_in(opening_hours=fine))["opening_hours"]) == 4


@pytest.mark.parametrize("exception, field", [
    ({"starts_on": "2026-12-26", "ends_on": "2026-12-24", "closed": True}, "ends_on"),
    ({"starts_on": "2026-01-01", "ends_on": "2027-06-01", "closed": True}, "ends_on"),
    ({"starts_on": "2026-12-24", "ends_on": "2026-12-24", "closed": True, "opens_at": "10:00"}, "opens_at"),
    ({"starts_on": "2026-12-24", "ends_on": "2026-12-24", "closed": False}, "opens_at"),
    ({"starts_on": "2026-12-24", "ends_on": "2026-12-24", "closed": False, "opens_at": "14:00",
      "closes_at": "12:00"}, "closes_at"),
    ({"starts_on": "2026-02-30", "ends_on": "2026-03-01", "closed": True}, "starts_on"),
])
def test_impossible_exceptions_are_rejected(exception, field):
    assert field in str(errors(ServiceIn(), drop_in(exceptions=[exception]))["exceptions"])


def test_profile_codes_ages_fees_and_capacity_are_checked():
    m = errors(ServiceCreate(), drop_in(categories=["astrology"], areas=["helsinki"], languages=["fi", "fi"],
                                        status="withdrawn", capacity={"available": 5, "maximum": 2}))
    assert {"categories", "areas", "languages", "status", "capacity"} <= set(m), m
    assert "max_age" in errors(ServiceIn(), drop_in(min_age=30, max_age=20))
    assert "fees" in errors(ServiceIn(), drop_in(free=False))
    assert errors(ServiceIn(), drop_in(extra_field=1)) == {"extra_field": ["Unknown field."]}
    only_lat = {k: v for k, v in HELMI.items() if k != "longitude"}
    assert "latitude" in errors(LocationIn(), only_lat)
    assert "postal_code" in errors(LocationIn(), {**HELMI, "address": {**HELMI["address"], "postal_code": "9010"}})["address"]
    for code in ("\u0669\u0660\u0661\u0660\u0660", "90100\n"):  # digits of another script; a trailing newline
        assert "postal_code" in errors(LocationIn(), {**HELMI, "address": {**HELMI["address"], "postal_code": code}})["address"]
    assert "url" in errors(ServiceIn(), drop_in(url="javascript:alert(1)"))


def test_the_contract_itself_refuses_open_exceptions_without_hours_and_non_web_addresses():
    s = CatalogueService.create("odl", ServiceIn().load(drop_in()))
    data = s.published_event([])
    from services.kernel.contracts import ContractError
    for bad in ({**data["service"], "exceptions": [{"starts_on": "2026-12-24", "ends_on": "2026-12-24", "closed": False}]},
                {**data["service"], "exceptions": [{"starts_on": "2026-12-24", "ends_on": "2026-12-24", "closed": True,
                                                    "opens_at": "10:00"}]},
                {**data["service"], "url": "javascript:alert(1)"}):
        with pytest.raises(ContractError):
            CONTRACTS.validate("fi.yhdistamo.catalogue.service-published.v2", {**data, "service": bad})


def test_areas_roll_up_to_their_municipality_and_filters_roll_down():
    p = profile()
    assert p.with_ancestors("area", ["kiiminki", "oulu-keskusta"]) == ["kiiminki", "oulu", "oulu-keskusta"]
    assert {"oulu", "kiiminki", "yli-ii", "oulu-keskusta"} <= set(p.with_descendants("area", "oulu"))
    assert p.with_descendants("area", "kouvola") == ["kouvola"]
    assert p.term_by_id(p.term("service-category", "food-aid").id).code == "food-aid"
    assert p.term_by_id("not-a-uuid") is None
