"""The most a caseworker can enter still fits the sealed part of a referral (no I/O): the contract bounds
`sealed` to 20,000 characters, and the API's limits are what keeps a referral within it."""
import base64
import uuid

from nacl.public import PrivateKey

from services.kernel import sealed
from services.kernel.config import PROJECT_ROOT
from services.kernel.contracts import ContractRegistry
from services.referrals.domain import Referral
from services.referrals.domain.consent import CATEGORIES, disclose
from services.referrals.schemas import ClientIn, ReferralIn

REQUESTED = ContractRegistry(PROJECT_ROOT / "contracts").get("fi.yhdistamo.referral.requested.v2").schema
SEALED_MAX = REQUESTED["properties"]["sealed"]["maxLength"]
RECEIVER = base64.b64encode(PrivateKey.generate().public_key.encode()).decode()


def longest(field, schema, char: str) -> str:
    (length,) = [v for v in schema().fields[field].validators if hasattr(v, "max")]
    return char * length.max


def longest_referral() -> Referral:
    """A referral between organisations with the longest ids a contract takes: its binding is sealed too."""
    r, _ = Referral.send(from_org="a" * 63, to_org="b" * 63, service_id=uuid.uuid4(), client_id=uuid.uuid4(),
                         consent_id=uuid.uuid4(), categories=list(CATEGORIES), age_band="18-24", gender="man",
                         pathway_key=None, by="caseworker")
    return r


def test_the_longest_client_data_and_note_the_api_takes_fit_the_sealed_field():
    for char in ("\N{SMILING FACE WITH SMILING EYES}", "\x01"):  # four bytes in UTF-8; six as a JSON escape
        client = {"name": longest("name", ClientIn, char), "identity_code": "010199-900U",
                  "date_of_birth": "1999-01-01", "municipality": longest("municipality", ClientIn, char),
                  "phone": "+358 40 123 4567 890", "email": "a" * 242 + "@example.fi", "gender": "unknown",
                  "language": "fi"}
        payload = disclose(client, list(CATEGORIES), longest("note", ReferralIn, char))
        box = sealed.seal(longest_referral().sealed_payload(payload), RECEIVER)
        assert len(box) <= SEALED_MAX, (repr(char), len(box))


def test_the_person_sealed_for_reporting_fits_its_field():
    r = longest_referral()
    r.pathway_key = "pk1-" + "f" * 40
    assert len(sealed.seal(r.person_for_reporting(), RECEIVER)) <= REQUESTED["properties"]["person"]["maxLength"]


def test_an_email_longer_than_an_address_can_be_is_refused():
    base = {"name": "Testi Asiakas", "identity_code": "010199-900U"}
    assert "email" in ClientIn().validate({**base, "email": "a" * 300 + "@example.fi"})
    assert "email" not in ClientIn().validate({**base, "email": "a" * 242 + "@example.fi"})
