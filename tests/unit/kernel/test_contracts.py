"""contracts/ is the only truth about events: schemas, AsyncAPI and code agree."""
import json

import yaml
from jsonschema import Draft202012Validator

from services import attendance, catalogue, referrals, reporting
from services.kernel.config import PROJECT_ROOT
from services.kernel.contracts import ContractRegistry

CONTRACTS = ContractRegistry(PROJECT_ROOT / "contracts")
ASYNCAPI = yaml.safe_load((PROJECT_ROOT / "contracts" / "asyncapi.yaml").read_text())
TOPICS = yaml.safe_load((PROJECT_ROOT / "deploy" / "topics.yaml").read_text())
SERVICES = {d.name: d for d in (catalogue.DEFINITION, referrals.DEFINITION, attendance.DEFINITION,
                                reporting.DEFINITION)}


def test_every_contract_is_a_valid_strict_schema_on_a_configured_topic():
    assert len(list(CONTRACTS)) >= 5
    for c in CONTRACTS:
        Draft202012Validator.check_schema(c.schema)
        assert c.schema["additionalProperties"] is False, c.type
        assert c.schema["x-cloudevents-type"] == c.type
        assert c.topic in TOPICS["topics"], c.type


def test_asyncapi_lists_exactly_the_contracted_event_types():
    messages = ASYNCAPI["components"]["messages"]
    assert {m["name"] for m in messages.values()} == {c.type for c in CONTRACTS}
    for m in messages.values():
        contract = CONTRACTS.get(m["name"])
        path = PROJECT_ROOT / "contracts" / m["payload"]["$ref"]
        assert json.loads(path.read_text()) == contract.schema
    addresses = {ch["address"] for ch in ASYNCAPI["channels"].values()}
    assert addresses == set(TOPICS["topics"])


def test_asyncapi_consumers_match_the_handlers_in_code():
    consumed: dict[str, set] = {}
    for op in ASYNCAPI["operations"].values():
        if op["action"] != "receive":
            continue
        for ref in op["messages"]:
            chan, _, msg = ref["$ref"].split("/")[2:5]
            name = ASYNCAPI["components"]["messages"][msg]["name"]
            consumed.setdefault(name, set()).update(op["x-consumers"])
    in_code: dict[str, set] = {}
    for name, d in SERVICES.items():
        for t in d.handlers.types():
            in_code.setdefault(t, set()).add(name)
    assert consumed == in_code


def test_asyncapi_channel_bindings_say_what_the_topic_plan_sets():
    from services.kernel.broker import topic_plan
    plan = {t.name: t for t in topic_plan(PROJECT_ROOT / "deploy" / "topics.yaml")}
    for ch in ASYNCAPI["channels"].values():
        kafka, t = ch["bindings"]["kafka"], plan[ch["address"]]
        assert (kafka["topic"], kafka["partitions"], kafka["replicas"]) == \
            (t.name, t.num_partitions, t.replication_factor)
        assert kafka["topicConfiguration"]["cleanup.policy"] == \
            t.topic_configs.get("cleanup.policy", "delete").split(",")
        for key in ("retention.ms", "delete.retention.ms"):
            assert str(kafka["topicConfiguration"].get(key)) == t.topic_configs.get(key, "None"), (t.name, key)
