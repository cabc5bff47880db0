"""Regenerate the channels, operations and messages of contracts/asyncapi.yaml.

The event schemas (contracts/events), the service list (deploy/services.yaml:
who produces what), the services' handler registries and the topic plan
(deploy/topics.yaml: partitions, retention, compaction, as Kafka channel
bindings) are the truth; this keeps the AsyncAPI document in step with them (the info,
servers and message-trait parts are kept as written). tests/unit/test_contracts.py
fails when they disagree.

    .venv/bin/python contracts/generate_asyncapi.py
"""
from __future__ import annotations

import importlib
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devstack import services as service_list  # noqa: E402
from services.kernel.contracts import ContractRegistry  # noqa: E402

SPECS = service_list.load()
PRODUCERS = {name: spec.name for spec in SPECS.values() for name in spec.produces}  # contract name -> service
DEFINITIONS = tuple(importlib.import_module(f"services.{name}").DEFINITION for name in SPECS)


# what the Kafka channel binding (0.5.0) can say of a topic's configs
BINDING_CONFIGS = {"cleanup.policy": lambda v: v.split(","), "retention.ms": int, "delete.retention.ms": int}


def kafka_binding(address: str, topics: dict) -> dict:
    """The channel's Kafka binding, from deploy/topics.yaml."""
    t = topics["topics"][address]
    configs = {"cleanup.policy": "delete", **t.get("configs", {})}
    return {"topic": address, "partitions": t["partitions"], "replicas": topics["defaults"]["replication_factor"],
            "topicConfiguration": {k: BINDING_CONFIGS[k](str(v)) for k, v in configs.items() if k in BINDING_CONFIGS},
            "bindingVersion": "0.5.0"}


def camel(name: str) -> str:
    parts = name.replace(".", "-").split("-")
    return parts[0] + "".join(p.title() for p in parts[1:])


def render(doc: dict, reg: ContractRegistry, topics: dict) -> dict:
    versions: dict[str, int] = {}
    for c in reg:
        versions[c.name] = versions.get(c.name, 0) + 1
    # a contract with one version is named by its name, one with several (consumers still read an older
    # version during a member's upgrade) by name and version
    key = lambda c: camel(c.name) + (f"V{c.version}" if versions[c.name] > 1 else "")  # noqa: E731
    messages = {key(c): {"name": c.type, "title": c.schema["title"],
                                "traits": [{"$ref": "#/components/messageTraits/cloudevent"}],
                                "payload": {"$ref": f"events/{c.name}/v{c.version}.json"}}
                for c in sorted(reg, key=lambda c: c.type)}
    operations = {}
    for key, channel in doc["channels"].items():
        msgs = [k for k, m in messages.items() if reg.get(m["name"]).topic == channel["address"]]
        channel["messages"] = {k: {"$ref": f"#/components/messages/{k}"} for k in msgs}
        channel["bindings"] = {"kafka": kafka_binding(channel["address"], topics)}
        producers = sorted({PRODUCERS[reg.get(messages[m]["name"]).name] for m in msgs})
        operations[f"{key}Produces"] = {
            "action": "send", "summary": f"Producers of {channel['address']}.", "channel": {"$ref": f"#/channels/{key}"},
            "messages": [{"$ref": f"#/channels/{key}/messages/{m}"} for m in msgs], "x-producers": producers}
        by_consumers: dict[tuple, list] = {}
        for m in msgs:
            consumers = tuple(sorted(d.name for d in DEFINITIONS if messages[m]["name"] in d.handlers.types()))
            by_consumers.setdefault(consumers, []).append(m)
        for i, (consumers, ms) in enumerate(sorted(by_consumers.items()), 1):
            operations[f"{key}Consumed{i}"] = {
                "action": "receive", "summary": f"Consumed by {', '.join(consumers)}.",
                "channel": {"$ref": f"#/channels/{key}"},
                "messages": [{"$ref": f"#/channels/{key}/messages/{m}"} for m in ms], "x-consumers": list(consumers)}
    doc["operations"] = operations
    doc["components"]["messages"] = messages
    return doc


if __name__ == "__main__":
    path = ROOT / "contracts" / "asyncapi.yaml"
    doc = render(yaml.safe_load(path.read_text(encoding="utf-8")), ContractRegistry(ROOT / "contracts"),
                 yaml.safe_load((ROOT / "deploy" / "topics.yaml").read_text(encoding="utf-8")))
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=110), encoding="utf-8")
    print(f"wrote {path}")
