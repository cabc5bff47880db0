"""The receiver's attendance telling whether a referred client arrived (Referral.note_arrival): who may tell it,
what it changes on each copy, and that nothing changes twice — no I/O."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from services.kernel.errors import Rejected
from services.referrals.domain import NOTIFICATIONS, State

from .test_party_rules import received, sent

CAME = datetime(2026, 12, 9, 10, tzinfo=timezone.utc)
MISSED = datetime(2026, 12, 8, 10, tzinfo=timezone.utc)


def at_receiver(state: State):
    r = received()
    r.status = state
    return r


@pytest.mark.parametrize("state", [State.ACCEPTED, State.ON_HOLD])
def test_an_arrival_starts_the_receivers_accepted_or_held_referral_as_a_system_change(state):
    r = at_receiver(state)
    noted = r.note_arrival("arrived", at=CAME, missed=0, by_org="oulu-social")
    assert r.status == State.IN_PROGRESS
    change = noted.change
    assert (change.from_state, change.to_state, change.by_org, change.by_user) == \
        (state, State.IN_PROGRESS, "oulu-social", None)
    assert (r.arrival, r.arrived_at, r.missed_sessions) == ("arrived", CAME, 0)
    assert (noted.arrival.arrival, noted.arrival.at, noted.arrival.by_org) == ("arrived", CAME, "oulu-social")
    assert noted.notify is None
    name, data = r.change_event(change)  # what the sender hears: an ordinary status change
    assert (name, data["state"], data["previous_state"], data["by_org"]) == \
        ("referral.status-changed", "in-progress", state.value, "oulu-social")


def test_an_arrival_at_an_unanswered_referral_goes_to_the_caseworker_to_answer():
    r = at_receiver(State.REQUESTED)
    noted = r.note_arrival("arrived", at=CAME, missed=None, by_org="oulu-social")
    assert (r.status, noted.change, noted.notify) == (State.REQUESTED, None, "arrived-unanswered")
    assert noted.notify in NOTIFICATIONS
    assert r.arrival == "arrived" and r.answered_at is None


@pytest.mark.parametrize("state", [State.IN_PROGRESS, State.COMPLETED, State.FAILED, State.CANCELLED, State.REJECTED])
def test_an_arrival_is_recorded_whatever_else_the_receivers_copy_is(state):
    r = at_receiver(state)
    noted = r.note_arrival("arrived", at=CAME, missed=None, by_org="oulu-social")
    assert (r.status, noted.change, noted.notify, r.arrival) == (state, None, None, "arrived")


def test_a_client_who_did_not_arrive_is_noted_and_the_receivers_caseworker_told():
    r = at_receiver(State.ACCEPTED)
    noted = r.note_arrival("not-arrived", at=MISSED, missed=3, by_org="oulu-social")
    assert (r.status, noted.change, noted.notify) == (State.ACCEPTED, None, "not-arrived")
    assert (r.arrival, r.arrived_at, r.missed_sessions) == ("not-arrived", None, 3)


@pytest.mark.parametrize("arrival", ["arrived", "not-arrived"])
def test_the_senders_copy_records_the_arrival_and_tells_its_caseworker(arrival):
    r = sent()
    r.status = State.ACCEPTED
    noted = r.note_arrival(arrival, at=CAME, missed=2, by_org="oulu-social")
    assert (r.status, noted.change, noted.notify) == (State.ACCEPTED, None, arrival)  # the receiver's event moves it
    assert noted.notify in NOTIFICATIONS
    assert (r.arrival, r.missed_sessions) == (arrival, 2)


@pytest.mark.parametrize("copy", [sent, received])
def test_a_repeat_changes_nothing(copy):
    r = copy()
    r.status = State.ACCEPTED
    r.note_arrival("arrived", at=CAME, missed=0, by_org="oulu-social")
    before = dict(r.__dict__)
    noted = r.note_arrival("arrived", at=CAME, missed=0, by_org="oulu-social")
    assert (noted.arrival, noted.change, noted.notify) == (None, None, None)
    assert r.__dict__ == before


def test_the_first_arrival_stands():
    r = at_receiver(State.ACCEPTED)
    r.note_arrival("arrived", at=CAME, missed=0, by_org="oulu-social")
    later = datetime(2026, 12, 16, 10, tzinfo=timezone.utc)
    assert r.note_arrival("arrived", at=later, missed=0, by_org="oulu-social").arrival is None
    assert r.arrived_at == CAME


def test_not_arrived_after_arrived_is_ignored():
    r = sent()
    r.note_arrival("arrived", at=CAME, missed=0, by_org="oulu-social")
    assert r.note_arrival("not-arrived", at=CAME, missed=3, by_org="oulu-social").arrival is None
    assert (r.arrival, r.arrived_at, r.missed_sessions) == ("arrived", CAME, 0)


def test_a_second_not_arrived_changes_nothing():
    r = sent()
    r.note_arrival("not-arrived", at=MISSED, missed=3, by_org="oulu-social")
    assert r.note_arrival("not-arrived", at=CAME, missed=4, by_org="oulu-social").arrival is None
    assert r.missed_sessions == 3


def test_a_client_who_came_later_replaces_not_arrived_and_starts_the_referral():
    r = at_receiver(State.ACCEPTED)
    first = r.note_arrival("not-arrived", at=MISSED, missed=3, by_org="oulu-social")
    then = r.note_arrival("arrived", at=CAME, missed=3, by_org="oulu-social")
    assert (first.arrival.arrival, then.arrival.arrival) == ("not-arrived", "arrived")  # both on the timeline
    assert (r.arrival, r.arrived_at, r.status) == ("arrived", CAME, State.IN_PROGRESS)
    assert then.change.to_state == State.IN_PROGRESS


# -- who may tell it -------------------------------------------------------------------
@pytest.mark.parametrize("copy, org", [(sent, "odl"), (sent, "oulu-parish"), (received, "odl"),
                                       (received, "oulu-parish")])
def test_only_the_receiver_tells_whether_the_client_arrived(copy, org):
    r = copy()
    r.status = State.ACCEPTED
    with pytest.raises(Rejected, match="only oulu-social tells"):
        r.note_arrival("arrived", at=CAME, missed=0, by_org=org)
    assert (r.status, r.arrival) == (State.ACCEPTED, None)


def test_at_the_sender_the_party_rule_lets_only_the_receiver_as_stored_say_it():
    sent().check_remote("oulu-social", receiver_only=True)
    with pytest.raises(Rejected, match="is not the other party"):
        sent().check_remote("oulu-parish", receiver_only=True)      # a third member
    with pytest.raises(Rejected, match="sender odl cannot"):
        received().check_remote("odl", receiver_only=True)           # the sender claiming the arrival


def test_an_unknown_arrival_is_rejected():
    r = received()
    with pytest.raises(Rejected, match="not one of arrived, not-arrived"):
        r.note_arrival("maybe", at=CAME, missed=None, by_org="oulu-social")

