"""CloudEvents envelope, signatures and contracts — no I/O."""
import base64
import json
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jsonschema import Draft7Validator, validators

from services.kernel.config import PROJECT_ROOT
from services.kernel.contracts import ContractError, ContractRegistry, parse_type
from services.kernel.errors import Rejected
from services.kernel.events import EnvelopeError, check, decode_record, keyed_by, new_event, verify
from services.kernel.federation import Federation
from services.kernel.keys import load_private_key
from tests.support.catalogue import catalogue_key, published_data

FED = Federation.load(PROJECT_ROOT / "deploy" / "federation.yaml")
CONTRACTS = ContractRegistry(PROJECT_ROOT / "contracts")
ODL_KEY = load_private_key(PROJECT_ROOT / "deploy" / "demo-keys" / "odl.ed25519.pem")


TOPIC = "yhd.catalogue"


def published(**override):
    sid = str(uuid.uuid4())
    data = {**published_data(sid), **override}
    return new_event(source="/orgs/odl/catalogue", type="fi.yhdistamo.catalogue.service-published.v2",
                     key=catalogue_key("odl", sid), data=data, signing_key=ODL_KEY, topic=TOPIC,
                     dataschema="https://yhdistamo.fi/contracts/events/catalogue.service-published/v2.json")


def roundtrip(ev, key=None, value=None, topic=TOPIC):
    return decode_record(ev.headers(), (key or ev.partitionkey).encode(), ev.data_bytes if value is None else value,
                         topic=topic)


def test_event_survives_kafka_binary_mode_roundtrip_and_verifies():
    ev = published()
    got = roundtrip(ev)
    assert (got.id, got.type, got.source, got.data, got.org) == (ev.id, ev.type, ev.source, ev.data, "odl")
    check(got, FED, CONTRACTS)


def test_headers_are_valid_cloudevents_attributes(shared_dir):
    schema = json.loads((shared_dir / "cloudevents" / "cloudevents.schema.json").read_text())
    validator_cls = validators.validator_for(schema, default=Draft7Validator)
    ev = published()
    attrs = {k[3:]: v.decode() for k, v in ev.headers() if k.startswith("ce_")}
    attrs["data"] = ev.data
    attrs["datacontenttype"] = "application/json"
    errors = list(validator_cls(schema).iter_errors(attrs))
    assert errors == []


def test_tampered_data_fails_verification():
    ev = published()
    forged = roundtrip(ev, value=json.dumps({**ev.data, "version": 2}).encode())
    with pytest.raises(EnvelopeError, match="does not verify"):
        verify(forged, FED)


def test_signature_of_another_member_or_stranger_is_refused():
    ev = published()
    for key in (Ed25519PrivateKey.generate(),
                load_private_key(PROJECT_ROOT / "deploy" / "demo-keys" / "oulu-parish.ed25519.pem")):
        sig = base64.b64encode(key.sign(ev.signing_input())).decode()
        headers = [(k, sig.encode() if k == "ce_signature" else v) for k, v in ev.headers()]
        with pytest.raises(EnvelopeError, match="does not verify"):
            verify(decode_record(headers, ev.partitionkey.encode(), ev.data_bytes, topic=TOPIC), FED)


def test_source_outside_federation_is_refused():
    ev = published()
    headers = [(k, b"/orgs/stranger/catalogue" if k == "ce_source" else v) for k, v in ev.headers()]
    with pytest.raises(EnvelopeError, match="not a member"):
        verify(decode_record(headers, ev.partitionkey.encode(), ev.data_bytes, topic=TOPIC), FED)


@pytest.mark.parametrize("drop", ["ce_id", "ce_source", "ce_type", "ce_time", "ce_signature", "ce_specversion",
                                  "ce_partitionkey", "ce_signaturekid"])
def test_missing_attribute_is_refused(drop):
    ev = published()
    with pytest.raises(EnvelopeError, match="missing"):
        decode_record([h for h in ev.headers() if h[0] != drop], ev.partitionkey.encode(), ev.data_bytes,
                      topic=TOPIC)


def test_key_must_equal_partitionkey():
    with pytest.raises(EnvelopeError, match="partitionkey"):
        roundtrip(published(), key="something-else")


def test_data_must_name_the_producing_organisation():
    ev = published(organization_id="oulu-social")  # odl claims to publish for the city
    with pytest.raises(EnvelopeError, match="organization_id"):
        check(roundtrip(ev), FED, CONTRACTS)


def test_contract_violation_and_unknown_version_are_refused():
    with pytest.raises(ContractError, match="status"):
        CONTRACTS.validate("fi.yhdistamo.catalogue.service-published.v2", {**published().data, "status": "open"})
    with pytest.raises(ContractError, match="unknown"):
        CONTRACTS.get("fi.yhdistamo.catalogue.service-published.v7")
    with pytest.raises(ContractError):
        parse_type("com.example.whatever")


def requested_v2(**extra) -> dict:
    return {"referral_id": str(uuid.uuid4()), "from_org": "odl", "to_org": "oulu-social",
            "service_id": str(uuid.uuid4()), "requested_at": "2026-11-25T10:00:00Z", "age_band": "18-24",
            "gender": "unknown", "consent_id": str(uuid.uuid4()), "categories": ["identity"],
            "person": "c2VhbGVk", **extra}


def test_unknown_fields_in_event_data_are_refused():
    CONTRACTS.validate("fi.yhdistamo.referral.requested.v2", requested_v2())
    with pytest.raises(ContractError, match="Additional properties"):
        CONTRACTS.validate("fi.yhdistamo.referral.requested.v2", requested_v2(hetu="010199-9034"))


def test_no_referral_or_consent_event_has_room_for_a_person_key_in_plain_text():
    """v1 carried the pathway key in plain text and is withdrawn: unknown, so parked by every consumer."""
    with pytest.raises(ContractError, match="Additional properties"):
        CONTRACTS.validate("fi.yhdistamo.referral.requested.v2", requested_v2(pathway_key="pk1-" + "0" * 40))
    with pytest.raises(ContractError, match="'person' is a required property"):
        CONTRACTS.validate("fi.yhdistamo.referral.requested.v2",
                           {k: v for k, v in requested_v2().items() if k != "person"})
    for c in CONTRACTS:
        if c.name.startswith(("referral.", "consent.")):
            assert "pathway_key" not in c.schema["properties"], c.type
    for name in ("referral.requested", "referral.accepted", "consent.granted", "consent.withdrawn"):
        with pytest.raises(ContractError, match="unknown"):
            CONTRACTS.get(f"fi.yhdistamo.{name}.v1")


def test_catalogue_event_keyed_by_its_organisation_and_service_id_passes():
    ev = roundtrip(published())
    assert ev.partitionkey == f"odl/{ev.data['service_id']}"
    keyed_by(ev, "service_id")


@pytest.mark.parametrize("key", ["{sid}", "oulu-parish/{sid}", "odl/{other}", "odl/", "/{sid}", "odl/{sid}/x",
                                 "ODL/{sid}"])
def test_catalogue_event_under_another_key_is_rejected(key):
    """The bare service id (the key of before), another organisation's key for it, another service's key."""
    sid, other = str(uuid.uuid4()), str(uuid.uuid4())
    data = published_data(sid)
    ev = new_event(source="/orgs/odl/catalogue", type="fi.yhdistamo.catalogue.service-published.v2",
                   key=key.format(sid=sid, other=other), data=data, signing_key=ODL_KEY, topic=TOPIC)
    with pytest.raises(Rejected, match=f"is not 'odl/{sid}'"):
        keyed_by(roundtrip(ev), "service_id")


def test_a_claim_is_keyed_by_the_claimant_not_by_the_owner():
    """A member's record about another organisation's service id passes keyed_by only under the member's own key,
    so it can never share (and compact away) the owner's key."""
    sid = str(uuid.uuid4())
    parish = load_private_key(PROJECT_ROOT / "deploy" / "demo-keys" / "oulu-parish.ed25519.pem")
    for key, ok in ((catalogue_key("odl", sid), False), (catalogue_key("oulu-parish", sid), True)):
        ev = roundtrip(new_event(source="/orgs/oulu-parish/catalogue",
                                 type="fi.yhdistamo.catalogue.service-published.v2", key=key,
                                 data=published_data(sid, "oulu-parish"), signing_key=parish, topic=TOPIC))
        if ok:
            keyed_by(ev, "service_id")
        else:
            with pytest.raises(Rejected):
                keyed_by(ev, "service_id")
