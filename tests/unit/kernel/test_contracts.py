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


def test_asyncapi_headers_describe_what_a_producer_sends():
    """Every header an event of the outbox carries is described by the CloudEvents message trait, and the
    required ones are there."""
    from jsonschema import Draft202012Validator as V

    from services.kernel.events import new_event
    from services.kernel.keys import load_private_key
    trait = ASYNCAPI["components"]["messageTraits"]["cloudevent"]["headers"]
    ev = new_event(source="/orgs/odl/referrals", type="fi.yhdistamo.referral.cancelled.v1", key="r-1", data={},
                   signing_key=load_private_key(PROJECT_ROOT / "deploy" / "demo-keys" / "odl.ed25519.pem"),
                   topic="yhd.referrals", subject="referral/r-1", dataschema="https://yhdistamo.fi/x.json",
                   extensions={"recipient": "oulu-social"})
    headers = {k: v.decode() for k, v in ev.headers()}
    assert set(headers) <= set(trait["properties"]), set(headers) - set(trait["properties"])
    assert list(V(trait, format_checker=V.FORMAT_CHECKER).iter_errors(headers)) == []
