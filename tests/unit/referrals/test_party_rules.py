"""Who may change a referral from the other side: only its other party as stored, only its side's moves."""
from __future__ import annotations

import uuid

import pytest

from services.kernel.errors import Rejected
from datetime import datetime, timezone

from services.referrals.domain import Referral, State

AT = datetime(2026, 12, 2, 11, tzinfo=timezone.utc)


def sent():
    r, _ = Referral.send(from_org="odl", to_org="oulu-social", service_id=uuid.uuid4(), client_id=uuid.uuid4(),
                         consent_id=uuid.uuid4(), categories=["identity"], age_band="18-24", gender="man",
                         pathway_key=None, by="caseworker@odl")
    return r


def received():
    return Referral.incoming({"referral_id": str(uuid.uuid4()), "from_org": "odl", "to_org": "oulu-social",
                              "service_id": str(uuid.uuid4()), "age_band": "18-24", "gender": "man",
                              "requested_at": "2026-12-02T10:00:00Z"}, None)


@pytest.mark.parametrize("to", [State.ACCEPTED, State.REJECTED, State.IN_PROGRESS, State.ON_HOLD, State.COMPLETED,
                                State.FAILED, State.CANCELLED])
def test_the_receiver_makes_its_moves_on_the_senders_copy(to):
    sent().check_remote("oulu-social", to=to)
    sent().check_remote("oulu-social", receiver_only=True)  # outcomes, escalations, the receipt


@pytest.mark.parametrize("to", [State.ACCEPTED, State.REJECTED, State.IN_PROGRESS, State.COMPLETED, State.FAILED])
def test_the_sender_only_cancels(to):
    received().check_remote("odl", to=State.CANCELLED)
    with pytest.raises(Rejected, match="sender odl cannot"):
        received().check_remote("odl", to=to)
    with pytest.raises(Rejected):
        received().check_remote("odl", receiver_only=True)


@pytest.mark.parametrize("copy, org", [(sent, "oulu-parish"), (received, "oulu-parish"), (sent, "odl"),
                                       (received, "oulu-social")])
def test_no_one_but_the_other_party_as_stored(copy, org):
    with pytest.raises(Rejected, match="is not the other party"):
        copy().check_remote(org, to=State.CANCELLED)


def test_the_senders_cancellation_applies_while_the_receivers_copy_is_requested():
    r = received()
    change = r.apply_remote(State.CANCELLED, by_org="odl", reason_code="need-resolved", at=AT,
                            previous=State.REQUESTED)
    assert (change.to_state, r.status) == (State.CANCELLED, State.CANCELLED)


@pytest.mark.parametrize("state", [State.ACCEPTED, State.IN_PROGRESS, State.ON_HOLD])
def test_a_cancellation_that_crossed_the_receivers_answer_does_not_cancel_it(state):
    r = received()
    r.status = state
    assert r.apply_remote(State.CANCELLED, by_org="odl", reason_code="need-resolved", at=AT,
                          previous=State.REQUESTED) is None
    assert r.status == state


@pytest.mark.parametrize("state", [State.ACCEPTED, State.IN_PROGRESS, State.ON_HOLD])
def test_the_sender_cannot_cancel_after_acceptance(state):
    r = received()
    r.status = state
    with pytest.raises(Rejected, match="cancels only until acceptance"):
        r.apply_remote(State.CANCELLED, by_org="odl", reason_code="need-resolved", at=AT, previous=state)
    assert r.status == state


@pytest.mark.parametrize("to, reason", [(State.CANCELLED, None), (State.CANCELLED, "made-up"),
                                        (State.ACCEPTED, "waitlist"), (State.FAILED, "need-resolved")])
def test_a_remote_reason_must_be_one_of_the_domains(to, reason):
    r = sent()
    if to == State.FAILED:
        r.act("accept", org_id="oulu-social", by="x")
    before = r.status
    with pytest.raises(Rejected, match="the reasons for it are"):
        r.apply_remote(to, by_org="oulu-social", reason_code=reason, at=AT)
    assert r.status == before
