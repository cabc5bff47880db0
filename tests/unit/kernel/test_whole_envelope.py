"""The signature covers the whole envelope and the topic (no I/O): a genuine event re-published under another
key, on another topic, or with any attribute changed, added or removed does not verify."""
import json
import uuid

import pytest

from services.kernel.config import PROJECT_ROOT
from services.kernel.events import CloudEvent, EnvelopeError, decode_record, new_event, verify
from services.kernel.federation import Federation
from services.kernel.keys import load_private_key

FED = Federation.load(PROJECT_ROOT / "deploy" / "federation.yaml")
ODL_KEY = load_private_key(PROJECT_ROOT / "deploy" / "demo-keys" / "odl.ed25519.pem")
TOPIC = "yhd.referrals"
RID = str(uuid.uuid4())


def genuine() -> CloudEvent:
    data = {"referral_id": RID, "from_org": "odl", "to_org": "oulu-social", "service_id": str(uuid.UUID(int=1)),
            "age_band": "18-24", "gender": "unknown", "by_org": "odl", "state": "cancelled",
            "reason_code": "sent-in-error", "at": "2026-12-02T10:00:00Z"}
    return new_event(source="/orgs/odl/referrals", type="fi.yhdistamo.referral.cancelled.v2", key=RID, data=data,
                     signing_key=ODL_KEY, topic=TOPIC, subject=f"referral/{RID}",
                     dataschema="https://yhdistamo.fi/contracts/events/referral.cancelled/v2.json",
                     extensions={"recipient": "oulu-social"})


def headers_with(ev, **changes):
    """The event's headers with `changes` (header name with `_` for `-`; None removes it, a new name adds it)."""
    h = {k: v.decode() for k, v in ev.headers()}
    for name, value in changes.items():
        name = name.replace("content_type", "content-type")
        if value is None:
            h.pop(name, None)
        else:
            h[name] = value
    return [(k, v.encode()) for k, v in h.items()]


OTHER = str(uuid.uuid4())
TAMPERED = {  # name: (headers changes, Kafka key, topic read from)
    "re-keyed (key and partitionkey)": ({"ce_partitionkey": OTHER}, OTHER, TOPIC),
    "on another topic": ({}, RID, "yhd.attendance"),
    "on the same topic of another namespace": ({}, RID, "t0123456789." + TOPIC),
    "on the dead-letter topic": ({}, RID, TOPIC + ".DLT"),
    "recipient changed": ({"ce_recipient": "oulu-parish"}, RID, TOPIC),
    "recipient removed": ({"ce_recipient": None}, RID, TOPIC),
    "extension added": ({"ce_priority": "high"}, RID, TOPIC),
    "subject changed": ({"ce_subject": f"referral/{OTHER}"}, RID, TOPIC),
    "subject removed": ({"ce_subject": None}, RID, TOPIC),
    "dataschema changed": ({"ce_dataschema": "https://example.org/other.json"}, RID, TOPIC),
    "dataschema removed": ({"ce_dataschema": None}, RID, TOPIC),
    "time changed": ({"ce_time": "2026-12-02T10:00:00.000000Z"}, RID, TOPIC),
    "id changed": ({"ce_id": str(uuid.uuid4())}, RID, TOPIC),
    "type changed": ({"ce_type": "fi.yhdistamo.referral.rejected.v2"}, RID, TOPIC),
    "content type changed": ({"content_type": "application/json; charset=latin-1"}, RID, TOPIC),
    "content type removed": ({"content_type": None}, RID, TOPIC),
}


def test_the_genuine_event_verifies_on_its_own_topic():
    ev = genuine()
    verify(decode_record(ev.headers(), RID.encode(), ev.data_bytes, topic=TOPIC), FED)


@pytest.mark.parametrize("case", list(TAMPERED))
def test_a_genuine_event_changed_in_any_part_of_its_envelope_does_not_verify(case):
    changes, key, topic = TAMPERED[case]
    ev = genuine()
    got = decode_record(headers_with(ev, **changes), key.encode(), ev.data_bytes, topic=topic)
    with pytest.raises(EnvelopeError, match="does not verify"):
        verify(got, FED)


def test_other_data_bytes_of_equal_json_do_not_verify():
    ev = genuine()
    spaced = json.dumps(ev.data, indent=1).encode()  # the same JSON value, other bytes
    with pytest.raises(EnvelopeError, match="does not verify"):
        verify(decode_record(ev.headers(), RID.encode(), spaced, topic=TOPIC), FED)


def test_the_signing_input_is_unambiguous_where_a_newline_join_was_not():
    base = dict(source="/orgs/odl/referrals", type="fi.yhdistamo.referral.cancelled.v2", partitionkey="k",
                data={}, data_bytes=b"{}", topic=TOPIC)
    a = CloudEvent(id="x\n2026-12-02T10:00:00Z", time="", **base)
    b = CloudEvent(id="x", time="\n2026-12-02T10:00:00Z", **base)
    assert a.signing_input() != b.signing_input()
    for name in ("subject", "signaturekid", "signature", "datacontenttype", "Recipient"):
        with pytest.raises(ValueError, match="extension"):  # one namespace: no extension stands for another
            new_event(source=base["source"], type=base["type"], key="k", data={}, signing_key=ODL_KEY, topic=TOPIC,
                      extensions={name: "x"})


def test_a_header_given_twice_is_refused_rather_than_guessed():
    ev = genuine()
    with pytest.raises(EnvelopeError, match="more than once: ce_recipient"):
        decode_record(ev.headers() + [("ce_recipient", b"oulu-parish")], RID.encode(), ev.data_bytes, topic=TOPIC)


@pytest.mark.parametrize("name", ["ce_Recipient", "ce_recipient-org", "ce_averyveryverylongattributename"])
def test_a_header_that_is_no_cloudevents_attribute_name_is_refused(name):
    ev = genuine()
    with pytest.raises(EnvelopeError, match="not CloudEvents attribute names"):
        decode_record(ev.headers() + [(name, b"x")], RID.encode(), ev.data_bytes, topic=TOPIC)


def test_an_event_is_signed_for_a_topic():
    with pytest.raises(TypeError):
        new_event(source="/orgs/odl/referrals", type="fi.yhdistamo.referral.cancelled.v2", key="k", data={},
                  signing_key=ODL_KEY)  # noqa: the topic is required


@pytest.mark.parametrize("name", ["ce_data", "ce_datacontenttype"])
def test_a_header_standing_for_the_value_or_its_content_type_is_refused(name):
    ev = genuine()
    with pytest.raises(EnvelopeError, match="not CloudEvents attribute names"):
        decode_record(ev.headers() + [(name, b"text/plain")], RID.encode(), ev.data_bytes, topic=TOPIC)


def test_an_attribute_without_a_value_is_refused_rather_than_taken_for_absent():
    ev = genuine()
    with pytest.raises(EnvelopeError, match="without a value: priority"):
        decode_record(ev.headers() + [("ce_priority", b"")], RID.encode(), ev.data_bytes, topic=TOPIC)


def test_an_event_signed_for_another_topic_than_its_type_travels_on_is_refused():
    """A member signing, say, a referral event for the compacted catalogue topic (where it would be kept for good,
    beyond the replay window): the signature verifies, the check does not."""
    from services.kernel.contracts import ContractRegistry
    from services.kernel.events import check
    contracts = ContractRegistry(PROJECT_ROOT / "contracts")
    ev = genuine()
    misplaced = new_event(source=ev.source, type=ev.type, key=RID, data=ev.data, signing_key=ODL_KEY,
                          topic="yhd.catalogue")
    got = decode_record(misplaced.headers(), RID.encode(), misplaced.data_bytes, topic="yhd.catalogue")
    verify(got, FED)
    with pytest.raises(EnvelopeError, match="travels on 'yhd.referrals', not on 'yhd.catalogue'"):
        check(got, FED, contracts)
    check(decode_record(ev.headers(), RID.encode(), ev.data_bytes, topic=TOPIC), FED, contracts)
