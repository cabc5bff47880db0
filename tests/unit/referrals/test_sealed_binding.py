"""The personal data sealed for a referral's receiver is bound to that referral, its sender and its receiver:
a box pasted from another referral, or sent on by another organisation, is refused when it is opened (no I/O)."""
from __future__ import annotations

import base64
import uuid
from datetime import date

import pytest
from nacl.public import PrivateKey

from services.kernel import sealed
from services.kernel.errors import Rejected
from services.referrals.domain import Referral, unseal_personal
from services.referrals.domain.identity import synthetic_identity_code

PERSONAL = {"name": "Aino Testinen", "identity_code": synthetic_identity_code(date(2001, 1, 1), 917)}
RECEIVER_KEY = PrivateKey.generate()


def sent(from_org="odl", to_org="oulu-social"):
    r, _ = Referral.send(from_org=from_org, to_org=to_org, service_id=uuid.uuid4(), client_id=uuid.uuid4(),
                         consent_id=uuid.uuid4(), categories=["identity"], age_band="18-24", gender="man",
                         pathway_key=None, by=f"caseworker@{from_org}")
    return r


def opened(referral):
    """What the receiver finds in the box, after the real sealed-box round trip."""
    public = base64.b64encode(bytes(RECEIVER_KEY.public_key)).decode()
    return sealed.open_sealed(sealed.seal(referral.sealed_payload(PERSONAL), public), RECEIVER_KEY)


def test_the_sealed_data_names_its_referral_sender_and_receiver():
    r = sent()
    box = opened(r)
    assert box["bound"] == {"referral_id": str(r.id), "from_org": "odl", "to_org": "oulu-social"}
    assert unseal_personal(box, referral_id=str(r.id), signer="odl", receiver="oulu-social") == PERSONAL


def test_data_pasted_into_another_referral_is_refused():
    original, own = sent(), sent()
    with pytest.raises(Rejected, match=f"bound to .*{original.id}.*not to .*{own.id}"):
        unseal_personal(opened(original), referral_id=str(own.id), signer="odl", receiver="oulu-social")


@pytest.mark.parametrize("signer, receiver", [("oulu-parish", "oulu-social"), ("odl", "oulu-parish"),
                                              ("oulu-social", "odl")])
def test_data_signed_or_opened_by_another_pair_of_organisations_is_refused(signer, receiver):
    r = sent()
    with pytest.raises(Rejected, match="bound to"):
        unseal_personal(opened(r), referral_id=str(r.id), signer=signer, receiver=receiver)


@pytest.mark.parametrize("box", [PERSONAL, {"bound": None, "personal": PERSONAL}, [PERSONAL], "x",
                                 {"bound": {"referral_id": "r", "from_org": "odl", "to_org": "oulu-social",
                                            "extra": 1}, "personal": PERSONAL}])
def test_unbound_or_malformed_sealed_data_is_refused(box):
    with pytest.raises(Rejected):
        unseal_personal(box, referral_id="r", signer="odl", receiver="oulu-social")


def test_bound_data_without_personal_fields_is_refused():
    r = sent()
    with pytest.raises(Rejected, match="no personal data"):
        unseal_personal({"bound": r.binding(), "personal": "Aino"}, referral_id=str(r.id), signer="odl",
                        receiver="oulu-social")


def test_the_receiver_computes_the_pathway_key_from_the_disclosed_code_and_drops_it_on_restriction():
    from services.referrals.domain.identity import pathway_key
    r = sent()
    data = {**r.requested_event(None, "box"), "requested_at": "2026-12-02T10:00:00Z"}
    got = Referral.incoming(data, PERSONAL, b"federation")
    assert got.pathway_key == pathway_key(PERSONAL["identity_code"], b"federation")
    assert Referral.incoming(data, {"phone": "+358 40 000 0000"}, b"federation").pathway_key is None
    assert Referral.incoming(data, PERSONAL, None).pathway_key is None
    assert Referral.incoming(data, {"identity_code": "010199-900X"}, b"federation").pathway_key is None  # bad code
    got.restrict()
    assert got.personal is None and got.pathway_key is None
