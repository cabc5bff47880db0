"""Reporting counts a young person once across organisations, under a pseudonym only it can make (no I/O)."""
from __future__ import annotations

import base64
import uuid
from datetime import date

import pytest
from nacl.public import PrivateKey

from services.kernel import sealed
from services.kernel.errors import Rejected
from services.referrals.domain import Referral
from services.referrals.domain.identity import pathway_key, synthetic_identity_code
from services.reporting.domain import people_table, person_key, pseudonym

REPORTING_KEY = PrivateKey.generate()
REPORTING_PUBLIC = base64.b64encode(bytes(REPORTING_KEY.public_key)).decode()
PATHWAY_SECRET, PSEUDONYM_SECRET = b"federation", b"reporting only"


def referral(from_org, code, to_org="oulu-social"):
    r, _ = Referral.send(from_org=from_org, to_org=to_org, service_id=uuid.uuid4(), client_id=uuid.uuid4(),
                         consent_id=uuid.uuid4(), categories=["identity"], age_band="18-24", gender="man",
                         pathway_key=pathway_key(code, PATHWAY_SECRET), by=f"caseworker@{from_org}")
    return r


def person_box(r) -> str:
    return sealed.seal(r.person_for_reporting(), REPORTING_PUBLIC)


def opened_key(r, box=None):
    return person_key(sealed.open_sealed(box or person_box(r), REPORTING_KEY), referral_id=str(r.id),
                      signer=r.from_org, to_org=r.to_org)


CODE = synthetic_identity_code(date(2003, 4, 5), 931)


def test_the_same_person_travels_in_boxes_no_one_can_link():
    a, b = referral("odl", CODE), referral("oulu-parish", CODE)
    boxes = {person_box(a), person_box(a), person_box(b)}
    assert len(boxes) == 3  # a fresh, randomised box every time: equal persons give unequal ciphertexts
    assert all(a.pathway_key not in box and CODE not in box for box in boxes)
    assert opened_key(a) == opened_key(b) == a.pathway_key  # only reporting's key opens them to one person


def test_reporting_keeps_its_own_pseudonym_never_the_pathway_key():
    key = pathway_key(CODE, PATHWAY_SECRET)
    p = pseudonym(key, PSEUDONYM_SECRET)
    assert p.startswith("rp1-") and key[4:] not in p and len(p) <= 64
    assert p == pseudonym(key, PSEUDONYM_SECRET) != pseudonym(key, b"another secret")
    assert p != pseudonym(pathway_key(synthetic_identity_code(date(2003, 4, 5), 932),
                                      PATHWAY_SECRET), PSEUDONYM_SECRET)


def test_a_person_box_copied_into_another_event_is_refused():
    original, own = referral("odl", CODE), referral("oulu-parish", CODE)
    with pytest.raises(Rejected, match=f"bound to .*{original.id}"):
        person_key(sealed.open_sealed(person_box(original), REPORTING_KEY), referral_id=str(own.id),
                   signer="oulu-parish", to_org="oulu-social")
    with pytest.raises(Rejected, match="bound to"):  # the right referral, but signed by another member
        person_key(sealed.open_sealed(person_box(original), REPORTING_KEY), referral_id=str(original.id),
                   signer="oulu-parish", to_org="oulu-social")


@pytest.mark.parametrize("box", [{"pathway_key": "pk1-" + "0" * 40}, "pk1-" + "0" * 40,
                                 {"bound": "x", "pathway_key": "pk1-" + "0" * 40}])
def test_an_unbound_person_box_is_refused(box):
    with pytest.raises(Rejected, match="bound to"):
        person_key(box, referral_id="r", signer="odl", to_org="oulu-social")


def test_a_bound_box_without_a_pathway_key_is_refused():
    r = referral("odl", CODE)
    with pytest.raises(Rejected, match="no pathway key"):
        person_key({"bound": r.binding(), "pathway_key": CODE}, referral_id=str(r.id), signer="odl",
                   to_org="oulu-social")


def test_people_are_counted_once_across_organisations_and_small_counts_suppressed():
    rows = [{"pseudonym": f"rp1-{i}", "org_id": "odl"} for i in range(6)]
    rows += [{"pseudonym": "rp1-0", "org_id": "oulu-parish"}, {"pseudonym": "rp1-1", "org_id": "oulu-parish"}]
    assert people_table(rows) == {"people": 6, "by_org": {"odl": 6, "oulu-parish": "<5"}}
    assert people_table(rows[:2] + rows[6:]) == {"people": "<5", "by_org": {"odl": "<5", "oulu-parish": "<5"}}
    assert people_table([]) == {"people": 0, "by_org": {}}
