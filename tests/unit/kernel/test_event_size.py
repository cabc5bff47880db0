"""Events too large to publish are refused when they are staged, naming the field — no I/O."""
import json
import uuid

import pytest

from services.kernel.config import PROJECT_ROOT
from services.kernel.contracts import UNBOUNDED_STRING_BYTES, ContractRegistry
from services.kernel.errors import Invalid
from services.kernel.keys import load_private_key
from services.kernel.outbox import MAX_EVENT_BYTES, EventTooLarge, EventWriter, Outbox
from tests.support.catalogue import published_data

CONTRACTS = ContractRegistry(PROJECT_ROOT / "contracts")
PUBLISHED = CONTRACTS.get("fi.yhdistamo.catalogue.service-published.v2")
ODL_KEY = load_private_key(PROJECT_ROOT / "deploy" / "demo-keys" / "odl.ed25519.pem")
EMOJI = "\N{SMILING FACE WITH SMILING EYES}"  # four bytes in UTF-8, one character for maxLength


class RecordingConnection:
    """Stands in for the database connection: Outbox.add's only I/O is its one INSERT."""

    def __init__(self):
        self.inserted = []

    def execute(self, stmt, params=None):
        self.inserted.append(params)


def outbox(contracts=CONTRACTS) -> Outbox:
    return Outbox(RecordingConnection(), EventWriter("/orgs/odl/catalogue", ODL_KEY, contracts))


def text(chars: str) -> dict:
    return {"fi": chars, "sv": chars, "en": chars}


def exceptions(n: int, reason: dict) -> list[dict]:
    return [{"starts_on": "2026-12-24", "ends_on": "2026-12-26", "closed": True, "reason": reason}
            for _ in range(n)]


def test_string_sizes_count_utf8_bytes_and_know_which_strings_the_contract_bounds():
    data = published_data(str(uuid.uuid4()), description={"fi": "Ääniä ja " + EMOJI}, email="info@example.fi")
    sizes = {s.field: s for s in PUBLISHED.string_sizes(data)}
    assert sizes["service.description.fi"].size == len("Ääniä ja ".encode()) + 4
    assert sizes["service.description.fi"].limit is None        # maxLength 500 (characters) bounds it
    assert sizes["service.email"].limit == UNBOUNDED_STRING_BYTES  # the contract leaves it unbounded
    assert sizes["service.categories.0"].size == len("individual-guidance")


def test_a_service_within_every_character_limit_but_too_many_bytes_is_refused_naming_the_longest_text():
    # 100 exceptions with a 500-character reason in three languages: what the contract and the API allow
    data = published_data(str(uuid.uuid4()), exceptions=exceptions(100, text(EMOJI * 500)))
    CONTRACTS.validate(PUBLISHED.type, data)
    box = outbox()
    with pytest.raises(EventTooLarge) as refused:
        box.add("catalogue.service-published.v2", data["service_id"], data)
    e = refused.value
    assert isinstance(e, Invalid) and e.status == 422 and e.code == "event-too-large"
    assert e.extra["field"] == "service.exceptions.0.reason.fi"
    assert e.extra["bytes"] > MAX_EVENT_BYTES and e.extra["limit"] == MAX_EVENT_BYTES
    assert "service.exceptions.0.reason.fi (2.0 KiB)" in e.detail
    assert box.conn.inserted == []  # nothing staged


def test_the_longest_text_is_named_wherever_it_is():
    data = published_data(str(uuid.uuid4()), description=text(EMOJI * 500),
                          exceptions=exceptions(90, text("ä" * 500)))
    with pytest.raises(EventTooLarge) as refused:
        outbox().add("catalogue.service-published.v2", data["service_id"], data)
    assert refused.value.extra["field"] == "service.description.fi"


def test_a_string_the_contract_leaves_unbounded_may_take_a_kilobyte():
    box = outbox()
    ok = published_data(str(uuid.uuid4()), email="a" * (UNBOUNDED_STRING_BYTES - len("@example.fi")) + "@example.fi")
    box.add("catalogue.service-published.v2", ok["service_id"], ok)
    assert len(box.conn.inserted) == 1
    long = published_data(str(uuid.uuid4()), email="a" * 5000 + "@example.fi")
    with pytest.raises(EventTooLarge) as refused:
        box.add("catalogue.service-published.v2", long["service_id"], long)
    assert refused.value.extra["field"] == "service.email" and refused.value.extra["limit"] == UNBOUNDED_STRING_BYTES
    assert len(box.conn.inserted) == 1


def test_a_usual_event_is_staged_with_its_headers_and_value_within_the_budget():
    data = published_data(str(uuid.uuid4()), description=text("Matalan kynnyksen kohtaamispaikka " * 10))
    box = outbox()
    event = box.add("catalogue.service-published.v2", data["service_id"], data)
    (row,) = box.conn.inserted
    assert row["event_id"] == event.id and row["value"] == event.data_bytes
    assert len(row["value"]) < MAX_EVENT_BYTES


def test_a_later_contract_version_can_state_a_byte_limit_of_its_own(tmp_path):
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "x-topic": "yhd.catalogue",
              "type": "object", "additionalProperties": False, "required": ["note"],
              "properties": {"note": {"type": "string", "maxLength": 1000, "x-max-bytes": 1200}}}
    (tmp_path / "events" / "test.noted").mkdir(parents=True)
    (tmp_path / "events" / "test.noted" / "v1.json").write_text(json.dumps(schema))
    contracts = ContractRegistry(tmp_path)
    box = outbox(contracts)
    box.add("test.noted.v1", "k", {"note": "ä" * 600})  # 1,200 bytes
    with pytest.raises(EventTooLarge) as refused:
        box.add("test.noted.v1", "k", {"note": "ä" * 601})
    assert refused.value.extra["field"] == "note" and refused.value.extra["limit"] == 1200
