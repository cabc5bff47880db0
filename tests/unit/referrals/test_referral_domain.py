"""Referrals domain: identity codes, consent, the state machine — no I/O."""
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings, strategies as st

from services.kernel.errors import Conflict, Invalid
from services.referrals.domain import (ACTIONS, OUTCOME_POINTS, OUTCOMES, REASONS, TRANSITIONS, Client, Consent,
                                       Outcome, Referral, State, choose_consent, disclose)
from services.referrals.domain.identity import (age_band, is_synthetic, parse_identity_code, pathway_key,
                                                synthetic_identity_code)

NOW = datetime.now(timezone.utc)


def sent(to="oulu-social"):
    r, _ = Referral.send(from_org="odl", to_org=to, service_id=uuid.uuid4(), client_id=uuid.uuid4(),
                         consent_id=uuid.uuid4(), categories=["identity"], age_band="18-24", gender="woman",
                         pathway_key="pk1-" + "0" * 40, by="caseworker@odl")
    return r


# -- identity codes --------------------------------------------------------------
@pytest.mark.parametrize("code,born", [("010199-9034", date(1999, 1, 1)), ("140301A934U", date(2001, 3, 14)),
                                       ("311299Y9019", date(1999, 12, 31))])
def test_valid_identity_codes(code, born):
    assert parse_identity_code(code) == born


@pytest.mark.parametrize("code", ["010199-9035", "320199-9034", "010199*9034", "0101999034", "290201A9005", "",
                                  "010199-0014"])
def test_invalid_identity_codes_are_422(code):
    with pytest.raises(Invalid) as e:
        parse_identity_code(code)
    assert e.value.status == 422


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)), st.integers(900, 999))
def test_synthetic_codes_are_valid_and_synthetic(born, individual):
    code = synthetic_identity_code(born, individual)
    assert parse_identity_code(code) == born and is_synthetic(code)


def test_pathway_key_is_stable_keyed_and_not_the_code():
    code = "010199-9034"
    assert pathway_key(code, b"s1") == pathway_key(code.lower(), b"s1")
    assert pathway_key(code, b"s1") != pathway_key(code, b"s2")
    assert code not in pathway_key(code, b"s1")


def test_age_bands():
    assert age_band(date(2008, 6, 1), date(2026, 5, 31)) == "15-17"
    assert age_band(date(2008, 6, 1), date(2026, 6, 1)) == "18-24"
    assert age_band(date(1990, 1, 1), date(2026, 1, 1)) == "over-35"


def test_client_birth_date_must_match_code():
    with pytest.raises(Invalid):
        Client.register(name="Testi Nuori", identity_code="010199-9034", secret=b"x", by="u",
                        date_of_birth=date(1999, 1, 2))


# -- consent -----------------------------------------------------------------------
def consent(**kw):
    base = dict(client_id=uuid.uuid4(), recipient_org="oulu-social", categories=["identity", "contact"],
                purpose="referral", decision="granted", valid_from=NOW - timedelta(days=1),
                valid_until=NOW + timedelta(days=30), method="in-person", by="cw", own_org="odl")
    return Consent.record(**{**base, **kw})


def test_valid_consent_permits_its_categories_only():
    c = consent()
    assert choose_consent([c], "oulu-social", "referral", ["identity"]) is c
    with pytest.raises(Conflict) as e:
        choose_consent([c], "oulu-social", "referral", ["identity", "referral-details"])
    assert e.value.code == "consent-category-missing"


@pytest.mark.parametrize("kw,code", [
    ({"valid_until": NOW - timedelta(seconds=1), "valid_from": NOW - timedelta(days=2)}, "consent-expired"),
    ({"decision": "denied"}, "consent-denied"),
    ({"recipient_org": "oulu-parish"}, "consent-missing"),
    ({"purpose": "service-coordination"}, "consent-other-purpose"),
])
def test_consent_refusals_say_why(kw, code):
    with pytest.raises(Conflict) as e:
        choose_consent([consent(**kw)], "oulu-social", "referral", ["identity"])
    assert e.value.code == code and e.value.status == 409


def test_withdrawn_consent_permits_nothing():
    c = consent()
    c.withdraw("cw")
    with pytest.raises(Conflict) as e:
        choose_consent([c], "oulu-social", "referral", ["identity"])
    assert e.value.code == "consent-withdrawn"


def test_disclose_gives_only_consented_fields():
    client = {"name": "A", "identity_code": "010199-9034", "date_of_birth": "1999-01-01", "phone": "040",
              "email": None, "municipality": "Oulu", "gender": "man", "language": "fi"}
    assert disclose(client, ["contact"], "note") == {"phone": "040", "municipality": "Oulu"}
    assert disclose(client, ["referral-details"], "note") == {"note": "note"}


# -- the state machine ---------------------------------------------------------------
def test_referral_to_own_service_is_refused():
    with pytest.raises(Invalid):
        sent(to="odl")


def test_reason_required_and_other_needs_text():
    r = sent()
    with pytest.raises(Invalid):
        r.act("reject", org_id="oulu-social", by="x")
    with pytest.raises(Invalid):
        r.act("reject", org_id="oulu-social", by="x", reason_code="other")
    r.act("reject", org_id="oulu-social", by="x", reason_code="other", reason_text="ei sovi")
    assert r.status == State.REJECTED


def test_only_receiver_answers_and_sender_cancels_only_until_acceptance():
    r = sent()
    with pytest.raises(Conflict):
        r.act("accept", org_id="odl", by="x")
    r.act("accept", org_id="oulu-social", by="x")
    with pytest.raises(Conflict) as e:
        r.act("cancel", org_id="odl", by="x", reason_code="need-resolved")
    assert e.value.code == "already-accepted"
    r.act("cancel", org_id="oulu-social", by="x", reason_code="client-declined")
    assert r.status == State.CANCELLED


def test_an_answer_that_crossed_the_senders_cancel_wins_at_the_sender():
    r = sent()
    r.act("cancel", org_id="odl", by="x", reason_code="sent-in-error")
    change = r.apply_remote(State.ACCEPTED, by_org="oulu-social", reason_code=None, at=NOW,
                            previous=State.REQUESTED)
    assert (change.from_state, change.to_state, r.status) == (State.CANCELLED, State.ACCEPTED, State.ACCEPTED)
    assert r.answered_at == NOW


def test_a_remote_change_that_no_longer_applies_is_ignored():
    r = sent()
    r.act("accept", org_id="oulu-social", by="x")
    r.act("cancel", org_id="oulu-social", by="x", reason_code="client-declined")  # answered, then cancelled
    assert r.apply_remote(State.IN_PROGRESS, by_org="oulu-social", reason_code=None, at=NOW) is None
    assert r.apply_remote(State.ACCEPTED, by_org="oulu-social", reason_code=None, at=NOW,
                          previous=State.REQUESTED) is None  # not a crossing: it had been answered
    assert r.status == State.CANCELLED


ACTION_STRATEGY = st.lists(st.tuples(st.sampled_from(sorted(ACTIONS)), st.sampled_from(["odl", "oulu-social"]),
                                     st.sampled_from([None, "other", "client-declined", "waitlist", "lost-contact"])),
                           max_size=12)


@settings(max_examples=300, deadline=None)
@given(ACTION_STRATEGY)
def test_no_sequence_of_actions_reaches_an_illegal_state(steps):
    r = sent()
    history = [r.status]
    for action, org, reason in steps:
        before = r.status
        try:
            change = r.act(action, org_id=org, by="x", reason_code=reason, reason_text="teksti")
        except (Conflict, Invalid):
            assert r.status == before  # a refused action changes nothing
            continue
        assert change.to_state in TRANSITIONS[before]
        assert change.to_state == r.status
        if r.status in REASONS:
            assert r.reason_code in REASONS[r.status]
        history.append(r.status)
    for a, b in zip(history, history[1:]):
        assert b in TRANSITIONS[a]


def test_outcomes_are_recorded_after_the_pathway():
    r = sent()
    with pytest.raises(Conflict):
        Outcome.record(r, point="completion", outcome="studies", detail=None, org_id="oulu-social", by="x")
    r.act("accept", org_id="oulu-social", by="x")
    r.act("complete", org_id="oulu-social", by="x")
    for point in OUTCOME_POINTS:
        o = Outcome.record(r, point=point, outcome=OUTCOMES[0], detail=None, org_id="oulu-social", by="x")
        assert o.event(r)["point"] == point


def test_lifecycle_events_carry_no_name_or_identity_code():
    r = sent()
    change = r.act("accept", org_id="oulu-social", by="x")
    name, data = r.change_event(change)
    assert name == "referral.accepted"
    assert not {"name", "identity_code", "date_of_birth", "personal", "client_id"} & set(data)
