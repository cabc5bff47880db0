"""Attendance rules without a database: the kinds and what each takes, groups and their marks, intensity,
the referral loop, measurement series."""
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest

from services.attendance import instruments
from services.attendance.domain import (ARRIVED, NOT_ARRIVED, Encounter, Followed, Group, IncomingReferral,
                                        Measurement, Participant, ReferralLink, Session, change, current_series,
                                        enrol, leave, overdue)
from services.attendance.domain import codes
from services.kernel.errors import Conflict, Invalid

NOW = datetime.now(timezone.utc)
AN_HOUR_AGO = NOW - timedelta(hours=1)
CLIENT = uuid.uuid4()


def record(kind, **f):
    return Encounter.record(organization_id="odl", kind=kind, occurred_at=f.pop("occurred_at", AN_HOUR_AGO),
                            by="worker", **f)


def refused(code, fn, *a, **kw):
    with pytest.raises((Invalid, Conflict)) as e:
        fn(*a, **kw)
    assert e.value.code == code, e.value.detail
    return e.value


# -- kinds -----------------------------------------------------------------------------------------------
def test_an_anonymous_drop_in_visit_is_counted_never_identified():
    e = record("drop-in", age_band="18-24", gender="woman")
    event = e.recorded_event()
    assert e.anonymous and event["count"] == 1 and event["registered"] is False
    assert (event["age_band"], event["gender"]) == ("18-24", "woman")
    refused("field-not-taken", record, "drop-in", client_id=CLIENT)


def test_a_drop_in_without_age_band_or_gender_is_unknown_not_refused():
    event = record("drop-in").recorded_event()
    assert (event["age_band"], event["gender"]) == ("unknown", "unknown")


def test_a_contact_has_a_channel_and_the_matters_it_concerned():
    e = record("contact", channel="phone", matters=["work", "money", "work"], new_matter=True)
    assert e.matters == ["money", "work"] and e.new_matter and e.anonymous
    refused("matters-required", record, "contact", channel="phone")
    refused("unknown-channel", record, "contact", channel="carrier-pigeon", matters=["work"])
    refused("unknown-matters", record, "contact", channel="chat", matters=["astrology"])


def test_a_contact_may_be_with_a_registered_client_and_then_takes_no_age_band():
    e = record("contact", channel="on-site", matters=["housing"], client_id=CLIENT)
    assert not e.anonymous and e.recorded_event()["registered"] is True
    refused("field-not-taken", record, "contact", channel="on-site", matters=["housing"], client_id=CLIENT,
            age_band="18-24")


@pytest.mark.parametrize("kind", ["guidance", "home-visit", "network-meeting"])
def test_guidance_home_visits_and_network_meetings_are_with_a_registered_client(kind):
    extra = {"channel": "video"} if kind == "guidance" else {}
    extra |= {"partner_orgs": ["oulu-social"]} if kind == "network-meeting" else {}
    refused("client-required", record, kind, **extra)
    assert record(kind, client_id=CLIENT, **extra).status == "attended"


def test_guidance_is_in_person_remote_or_outreach():
    for mode in codes.codes("guidance_modes"):
        assert record("guidance", client_id=CLIENT, channel=mode).channel == mode
    refused("unknown-channel", record, "guidance", client_id=CLIENT)
    assert record("home-visit", client_id=CLIENT).channel == "outreach-home"


def test_a_missed_appointment_is_recorded_and_an_excused_one_has_a_reason():
    assert not record("guidance", client_id=CLIENT, channel="phone", status="missed").attended
    refused("unknown-excuse-reason", record, "guidance", client_id=CLIENT, channel="phone", status="excused")
    e = record("guidance", client_id=CLIENT, channel="phone", status="excused", excuse_reason="illness")
    assert e.recorded_event()["excuse_reason"] == "illness"
    refused("reason-not-taken", record, "guidance", client_id=CLIENT, channel="phone", excuse_reason="illness")


def test_a_network_meeting_names_the_organisations_that_took_part():
    refused("partners-required", record, "network-meeting", client_id=CLIENT)
    e = record("network-meeting", client_id=CLIENT, partner_orgs=["oulu-social", "nuorten-polku", "oulu-social"])
    assert e.recorded_event()["partner_orgs"] == ["nuorten-polku", "oulu-social"]


def test_aid_is_a_count_of_people_or_households():
    e = record("aid", aid_kind="food", count=12, count_unit="households")
    assert (e.count, e.count_unit, e.anonymous) == (12, "households", True)
    assert record("aid", aid_kind="food", count=3).count_unit == "people"
    refused("unknown-aid-kind", record, "aid", count=3)
    refused("bad-count", record, "aid", aid_kind="food", count=0)
    refused("bad-count", record, "aid", aid_kind="food", count=501)


def test_an_event_for_professionals_has_a_format_and_a_participant_count():
    assert record("professional-event", format="webinar", count=40).recorded_event()["format"] == "webinar"
    refused("unknown-format", record, "professional-event", count=40)


def test_an_encounter_is_never_in_the_future_and_always_has_a_time_zone():
    refused("future-encounter", record, "drop-in", occurred_at=NOW + timedelta(hours=1))
    refused("naive-time", record, "drop-in", occurred_at=datetime(2026, 11, 2, 13, 0))
    refused("implausible-date", record, "drop-in", occurred_at=datetime(1999, 1, 1, tzinfo=timezone.utc))
    assert record("drop-in", occurred_at=NOW + timedelta(minutes=2))  # a phone's clock a little ahead


def test_an_unknown_kind_and_an_absurd_duration_are_refused():
    refused("unknown-kind", record, "seance")
    refused("bad-duration", record, "drop-in", duration_minutes=0)
    assert record("drop-in", duration_minutes=30).duration_minutes == 30


def test_the_events_carry_no_client_id_worker_or_idempotency_key():
    e = record("guidance", client_id=CLIENT, channel="phone", worker="Maija", idempotency_key="k" * 20)
    text = repr(e.recorded_event())
    assert str(CLIENT) not in text and "Maija" not in text and "kkkk" not in text and "worker" not in text


def test_an_entry_can_be_undone_once_within_twelve_hours():
    e = record("drop-in")
    e.void(by="worker")
    assert e.voided_event()["encounter_id"] == str(e.id)
    refused("already-voided", e.void, by="worker")
    old = record("drop-in")
    refused("void-too-late", old.void, by="worker", at=old.recorded_at + timedelta(hours=13))


# -- groups and sessions -----------------------------------------------------------------------------------
def group(**kw):
    return Group.create(organization_id="odl", service_id=uuid.uuid4(), name=kw.pop("name", "Tiistairyhmä"),
                        starts_on=kw.pop("starts_on", date.today() - timedelta(days=30)), by="worker", **kw)


def test_a_group_needs_a_name_and_sane_dates():
    refused("name-required", group, name="  ")
    refused("ends-before-start", group, starts_on=date(2026, 5, 1), ends_on=date(2026, 4, 1))


def test_enrolment_is_once_per_client_and_within_capacity():
    g = group(capacity=2)
    a = enrol(g, [], CLIENT, on=date.today(), by="w")
    refused("already-enrolled", enrol, g, [a], CLIENT, on=date.today(), by="w")
    b = enrol(g, [a], uuid.uuid4(), on=date.today(), by="w")
    refused("group-full", enrol, g, [a, b], uuid.uuid4(), on=date.today(), by="w")
    leave(b, on=date.today())
    assert enrol(g, [a, b], uuid.uuid4(), on=date.today(), by="w")  # a place freed
    refused("already-left", leave, b, on=date.today())


def test_a_session_is_planned_within_the_groups_dates():
    g = group(starts_on=date(2026, 1, 1), ends_on=date(2026, 6, 30))
    refused("outside-group-dates", Session.plan, g, starts_at=datetime(2026, 7, 1, 10, tzinfo=timezone.utc), by="w")


def session_with(participants_n=2, starts=AN_HOUR_AGO):
    g = group()
    people = [Participant(g.id, uuid.uuid4(), g.starts_on) for _ in range(participants_n)]
    return g, people, Session.plan(g, starts_at=starts, by="w")


def test_attendance_needs_a_mark_for_every_participant_and_only_for_them():
    g, people, s = session_with()
    a, b = people
    refused("unmarked", s.take_attendance, people, {a.client_id: ("attended", None)}, guests=0, by="w")
    refused("not-a-participant", s.take_attendance, people,
            {a.client_id: ("attended", None), b.client_id: ("absent", None), uuid.uuid4(): ("attended", None)},
            guests=0, by="w")
    marks = s.take_attendance(people, {a.client_id: ("attended", None), b.client_id: ("excused", "illness")},
                              guests=3, by="w")
    assert s.status == "held" and s.guests == 3 and sorted(m.mark for m in marks) == ["attended", "excused"]
    event = s.recorded_event(g, marks)
    assert (event["enrolled"], event["attended"], event["excused"], event["absent"], event["guests"]) == (2, 1, 1, 0, 3)


def test_an_excused_absence_needs_a_reason_and_only_it_takes_one():
    g, people, s = session_with(1)
    who = people[0].client_id
    refused("unknown-excuse-reason", s.take_attendance, people, {who: ("excused", None)}, guests=None, by="w")
    refused("reason-not-taken", s.take_attendance, people, {who: ("absent", "illness")}, guests=None, by="w")
    refused("unknown-mark", s.take_attendance, people, {who: ("asleep", None)}, guests=None, by="w")


def test_a_session_not_yet_begun_or_cancelled_takes_no_attendance():
    g, people, s = session_with(1, starts=NOW + timedelta(hours=2))
    refused("session-not-begun", s.take_attendance, people, {people[0].client_id: ("attended", None)},
            guests=0, by="w", at=NOW)
    s.cancel()
    refused("session-cancelled", s.take_attendance, people, {people[0].client_id: ("attended", None)},
            guests=0, by="w", at=NOW + timedelta(hours=3))


def test_a_participant_who_joined_later_is_not_expected_at_earlier_sessions():
    g, people, s = session_with(1, starts=AN_HOUR_AGO - timedelta(days=10))
    late = Participant(g.id, uuid.uuid4(), date.today())
    marks = s.take_attendance(people + [late], {people[0].client_id: ("attended", None)}, guests=0, by="w")
    assert [m.client_id for m in marks] == [people[0].client_id]


def test_a_held_session_cannot_be_cancelled():
    g, people, s = session_with(1)
    s.take_attendance(people, {people[0].client_id: ("attended", None)}, guests=0, by="w")
    refused("session-held", s.cancel)


# -- intensity --------------------------------------------------------------------------------------------
def test_a_client_without_contact_for_more_than_n_days_is_listed_longest_wait_first():
    today = date(2026, 12, 2)
    at = lambda d: datetime(2026, 12, d, 12, tzinfo=timezone.utc)  # noqa: E731
    weekly = Followed(uuid.uuid4(), date(2026, 10, 1), "w", at(1))
    quiet = Followed(uuid.uuid4(), date(2026, 10, 1), "w", datetime(2026, 11, 20, tzinfo=timezone.utc), 2)
    new = Followed(uuid.uuid4(), date(2026, 11, 30), "w", None)
    never = Followed(uuid.uuid4(), date(2026, 11, 1), "w", None)
    found = overdue([weekly, quiet, new, never], today=today, days=7)
    assert [(o.client, o.days_without) for o in found] == [(never, 31), (quiet, 12)]
    assert found[1].client.missed_since == 2
    assert overdue([quiet], today=today, days=12) == []   # exactly N days is not more than N


# -- the referral loop --------------------------------------------------------------------------------------
def linked():
    incoming = IncomingReferral(uuid.uuid4(), "oulu-social", uuid.uuid4(), "18-24", AN_HOUR_AGO)
    return ReferralLink.link(incoming, CLIENT, org_id="odl", by="w")


def test_the_first_attended_encounter_tells_the_sender_arrived_once():
    link = linked()
    told = link.observe(attended=True, at=AN_HOUR_AGO, kind="group-session", no_show_after=2)
    assert told["arrival"] == ARRIVED and told["to_org"] == "odl" and told["from_org"] == "oulu-social"
    assert told["encounter_kind"] == "group-session" and told["missed"] == 0
    assert link.observe(attended=True, at=NOW, kind="guidance", no_show_after=2) is None
    assert link.observe(attended=False, at=NOW, kind="guidance", no_show_after=2) is None


def test_missing_the_first_n_sessions_tells_not_arrived_with_the_count_then_arrival_still_follows():
    link = linked()
    assert link.observe(attended=False, at=AN_HOUR_AGO, kind="group-session", no_show_after=3) is None
    assert link.observe(attended=False, at=AN_HOUR_AGO, kind="group-session", no_show_after=3) is None
    told = link.observe(attended=False, at=AN_HOUR_AGO, kind="group-session", no_show_after=3)
    assert (told["arrival"], told["missed"]) == (NOT_ARRIVED, 3) and "encounter_kind" not in told
    assert link.observe(attended=False, at=NOW, kind="group-session", no_show_after=3) is None  # told once
    came = link.observe(attended=True, at=NOW, kind="group-session", no_show_after=3)
    assert (came["arrival"], came["missed"]) == (ARRIVED, 4)


def test_a_closed_referral_cannot_be_linked_and_a_linked_one_not_to_another_client():
    incoming = IncomingReferral(uuid.uuid4(), "oulu-social", uuid.uuid4(), "18-24", AN_HOUR_AGO, "cancelled")
    refused("referral-closed", ReferralLink.link, incoming, CLIENT, org_id="odl", by="w")
    incoming.status = "accepted"
    link = ReferralLink.link(incoming, CLIENT, org_id="odl", by="w")
    refused("referral-linked", ReferralLink.link, incoming, uuid.uuid4(), org_id="odl", by="w", existing=link)
    assert ReferralLink.link(incoming, CLIENT, org_id="odl", by="w", existing=link) is link


# -- measurement series ------------------------------------------------------------------------------------
METER = instruments.available()["life-domains.v1"]
ITEMS = METER.item_ids


def measure(point, earlier, scores=None, at=AN_HOUR_AGO):
    return Measurement.record(METER, earlier, organization_id="odl", client_id=CLIENT, point=point,
                              measured_at=at, scores=scores or {ITEMS[0]: 4, ITEMS[1]: 6}, by="w")


def test_a_series_begins_with_a_baseline_and_follow_ups_need_one():
    refused("no-baseline", measure, "follow-up", [])
    base = measure("baseline", [], at=AN_HOUR_AGO - timedelta(days=60))
    refused("baseline-exists", measure, "baseline", [base])
    follow = measure("follow-up", [base], {ITEMS[0]: 7, ITEMS[1]: 6}, at=AN_HOUR_AGO - timedelta(days=30))
    end = measure("end", [base, follow], {ITEMS[0]: 8, ITEMS[1]: 5})
    assert base.series_id == follow.series_id == end.series_id
    assert current_series([base, follow, end]) == []
    again = measure("baseline", [base, follow, end], at=NOW)  # a new series after the end
    assert again.series_id != base.series_id
    refused("before-baseline", measure, "follow-up", [again], at=AN_HOUR_AGO - timedelta(days=400))


def test_change_is_per_item_from_baseline_to_latest_with_bands():
    base = measure("baseline", [], {ITEMS[0]: 4, ITEMS[1]: 6}, at=AN_HOUR_AGO - timedelta(days=60))
    later = measure("follow-up", [base], {ITEMS[0]: 8, ITEMS[1]: 6})
    moved = change(METER, [later, base])
    assert moved[ITEMS[0]]["change"] == 4 and moved[ITEMS[1]]["change"] == 0
    assert moved[ITEMS[0]]["band_from"] != moved[ITEMS[0]]["band_to"]


def test_a_measurement_keeps_its_instruments_scale_and_its_event_no_series_or_client():
    m = measure("baseline", [])
    event = m.recorded_event()
    assert (event["scale_min"], event["scale_max"], event["instrument_version"]) == (0, 10, 1)
    assert str(CLIENT) not in repr(event) and str(m.series_id) not in repr(event)
    refused("score-off-scale", measure, "baseline", [], {ITEMS[0]: 11})
    refused("unknown-point", measure, "midpoint", [])


def test_every_code_list_has_fi_sv_and_en_labels():
    for name, entries in codes.lists().items():
        for code, label in entries.items():
            assert set(label) == {"fi", "sv", "en"} and all(label.values()), (name, code)
