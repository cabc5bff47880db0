"""The outbox stages exactly the contract version a producer names — no I/O."""
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.kernel.contracts import ContractError, ContractRegistry
from services.kernel.events import decode_record
from services.kernel.outbox import EventWriter, Outbox


class RecordingConnection:
    """Stands in for the database connection: keeps the rows the outbox inserts."""

    def __init__(self):
        self.rows = []

    def execute(self, statement, params):
        self.rows.append(params)


def contract(version: int, required: list[str]) -> dict:
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "x-topic": "yhd.demo",
            "x-cloudevents-type": f"fi.yhdistamo.demo.thing-happened.v{version}", "type": "object",
            "additionalProperties": False, "required": required,
            "properties": {"thing_id": {"type": "string"}, "colour": {"type": "string"}}}


def contracts_with(tmp_path, *versions: dict) -> ContractRegistry:
    folder = tmp_path / "events" / "demo.thing-happened"
    folder.mkdir(parents=True)
    for n, schema in enumerate(versions, start=1):
        (folder / f"v{n}.json").write_text(json.dumps(schema), encoding="utf-8")
    return ContractRegistry(tmp_path)


def outbox_for(contracts: ContractRegistry) -> Outbox:
    return Outbox(RecordingConnection(), EventWriter("/orgs/odl/demo", Ed25519PrivateKey.generate(), contracts))


def test_adding_a_v2_contract_does_not_switch_a_producer_that_names_v1(tmp_path):
    contracts = contracts_with(tmp_path, contract(1, ["thing_id"]), contract(2, ["thing_id", "colour"]))
    box = outbox_for(contracts)
    event = box.add("demo.thing-happened.v1", "t-1", {"thing_id": "t-1"})  # valid for v1, not for v2
    assert event.type == "fi.yhdistamo.demo.thing-happened.v1"
    assert event.dataschema.endswith("/demo.thing-happened/v1.json")
    [row] = box.conn.rows
    assert row["event_type"] == "fi.yhdistamo.demo.thing-happened.v1" and row["topic"] == "yhd.demo"
    staged = decode_record([(k, v.encode()) for k, v in row["headers"]], row["key"].encode(), row["value"],
                           topic=row["topic"])
    assert staged.type == "fi.yhdistamo.demo.thing-happened.v1"


def test_a_producer_emits_v2_only_when_it_names_v2(tmp_path):
    contracts = contracts_with(tmp_path, contract(1, ["thing_id"]), contract(2, ["thing_id", "colour"]))
    box = outbox_for(contracts)
    event = box.add("demo.thing-happened.v2", "t-1", {"thing_id": "t-1", "colour": "red"})
    assert event.type == "fi.yhdistamo.demo.thing-happened.v2"
    with pytest.raises(ContractError, match="v2 data invalid"):
        box.add("demo.thing-happened.v2", "t-2", {"thing_id": "t-2"})  # v1's data does not pass as v2
    assert len(box.conn.rows) == 1


@pytest.mark.parametrize("named", ["demo.thing-happened", "demo.thing-happened.v3"])
def test_an_event_without_a_known_version_is_refused(tmp_path, named):
    box = outbox_for(contracts_with(tmp_path, contract(1, ["thing_id"])))
    with pytest.raises(ContractError):
        box.add(named, "t-1", {"thing_id": "t-1"})
    assert box.conn.rows == []
