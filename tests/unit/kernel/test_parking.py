"""The dead-letter copy of any record fits the outbox and the broker; raw bytes survive the outbox's JSONB."""
from __future__ import annotations

import hashlib
import json
from collections import namedtuple

import pytest

from services.kernel import parking

Rec = namedtuple("Rec", "topic partition offset timestamp key value headers")


def rec(key=b"k", value=b"{}", headers=()):
    return Rec("yhd.referrals", 3, 41, 1764700000000, key, value, list(headers) if headers is not None else None)


def stored(parked: parking.DeadLetter):
    """Through JSON as PostgreSQL's JSONB would store it (it refuses \\u0000 in text)."""
    text = json.dumps(parking.encode_headers(parked.headers))
    assert "\\u0000" not in text
    return parking.decode_headers(json.loads(text))


@pytest.mark.parametrize("raw", [b"\x00\xff", b"\xff\xfe", "ääkköset".encode(), b"", None, b"plain"])
def test_header_values_survive_the_outbox_exactly(raw):
    assert parking.decode_headers(json.loads(json.dumps(parking.encode_headers([("h", raw)])))) == [("h", raw)]


@pytest.mark.parametrize("key", [b"k" * 201, bytes(range(256)), None, b"a\x00b", b"\xff"])
def test_a_key_unfit_for_text_is_replaced_by_its_digest_and_kept_in_a_header(key):
    parked = parking.dead_letter(rec(key=key), group="g", reason="EnvelopeError", error="bad")
    h = dict(stored(parked))
    assert parked.key == "sha256:" + hashlib.sha256(key or b"").hexdigest()
    assert h["dlt_key_length"] == str(-1 if key is None else len(key)).encode()
    assert h.get("dlt_key", b"") == (key or b"")


def test_a_short_text_key_is_kept():
    assert parking.dead_letter(rec(key="ä".encode() * 200), group="g", reason="r", error="e").key == "ä" * 200


def test_null_headers_become_empty_and_are_noted():
    parked = parking.dead_letter(rec(headers=[("ce_id", None)]), group="g", reason="r", error="e")
    assert ("ce_id", b"") in stored(parked) and ("dlt_header_null", b"ce_id") in stored(parked)


def test_a_record_at_the_size_limit_is_cut_to_the_budget_with_its_digest():
    value, header = b"v" * 1_040_000, b"\xff" * 600_000
    parked = parking.dead_letter(rec(value=value, headers=[("big", header)] * 70), group="g", reason="r",
                                 error="x" * 10_000)
    h = dict(stored(parked))
    assert parked.size <= parking.RECORD_BUDGET
    assert h["dlt_value_cut"] == b"1040000" and h["dlt_value_sha256"] == hashlib.sha256(value).hexdigest().encode()
    assert value.startswith(parked.value)
    assert h["dlt_headers_dropped"] == b"6" and len(h["big"]) == parking.MAX_HEADER_VALUE_BYTES
    assert len(h["dlt_error"]) <= parking.MAX_ERROR_CHARS + 2  # the ellipsis is 3 bytes in UTF-8


def test_no_headers_and_no_value_still_give_a_record_that_says_why():
    parked = parking.dead_letter(rec(value=None, headers=None), group="oulu-social.referrals",
                                 reason="EnvelopeError", error="record has no data\x00")
    h = dict(stored(parked))
    assert parked.value == b"" and h["dlt_value_null"] == b"true"
    assert h["dlt_error"] == b"record has no data\\x00" and h["dlt_consumer_group"] == b"oulu-social.referrals"
    assert (h["dlt_topic"], h["dlt_partition"], h["dlt_offset"]) == (b"yhd.referrals", b"3", b"41")


def test_a_parked_genuine_event_verifies_for_the_topic_it_was_read_from_and_not_for_the_dead_letter_topic():
    """Nothing consumes a DLT; whoever republishes a parked record to its original topic (`dlt_topic`) sends
    an event signed for that topic, while the same record taken as an event of the DLT itself does not verify."""
    from services.kernel.config import PROJECT_ROOT
    from services.kernel.events import EnvelopeError, decode_record, new_event, verify
    from services.kernel.federation import Federation
    from services.kernel.keys import load_private_key
    fed = Federation.load(PROJECT_ROOT / "deploy" / "federation.yaml")
    ev = new_event(source="/orgs/odl/attendance", type="fi.yhdistamo.attendance.encounter-recorded.v1", key="e-1",
                   data={"encounter_id": "e-1"}, topic="yhd.referrals",
                   signing_key=load_private_key(PROJECT_ROOT / "deploy" / "demo-keys" / "odl.ed25519.pem"))
    parked = parking.dead_letter(rec(key=b"e-1", value=ev.data_bytes, headers=ev.headers()), group="g",
                                 reason="Rejected", error="not a party")
    headers = stored(parked)
    original = dict(headers)["dlt_topic"].decode()
    verify(decode_record(headers, parked.key.encode(), parked.value, topic=original), fed)
    with pytest.raises(EnvelopeError, match="does not verify"):
        verify(decode_record(headers, parked.key.encode(), parked.value, topic=original + ".DLT"), fed)
