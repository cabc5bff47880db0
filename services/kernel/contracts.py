"""Event contracts: one versioned JSON Schema per event type in contracts/events.

contracts/events/<name>/v<N>.json describes the `data` of CloudEvents of type
`fi.yhdistamo.<name>.v<N>`; its `x-topic` names the Kafka topic it travels on, and
`x-producer-field` the data field that must name the producing organisation
(an organisation cannot publish facts on another's behalf).
Released versions are never edited: a change is a new version file.

A contract's `maxLength` counts characters, and a record on the broker counts
bytes; `string_sizes` gives what publishing needs: the UTF-8 bytes of each
string of an event's data and the bytes it may take (`x-max-bytes` where a
contract states it, none where `maxLength` bounds it, UNBOUNDED_STRING_BYTES for
a string the contract leaves unbounded, such as an email address).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from jsonschema import Draft202012Validator, FormatChecker

TYPE_PREFIX = "fi.yhdistamo."
UNBOUNDED_STRING_BYTES = 1024  # a string without maxLength: addresses, ids, codes and times are far shorter
TYPE_RE = re.compile(r"^fi\.yhdistamo\.(?P<name>[a-z][a-z0-9-]*(?:\.[a-z][a-z0-9-]*)+)\.v(?P<version>[1-9][0-9]*)$")


class ContractError(ValueError):
    """The event does not match any contract, or breaks its contract."""


@dataclass(frozen=True)
class StringSize:
    """One string of an event's data: where it is ("service.description.fi"), its UTF-8 bytes, and the
    bytes it may take (None: its contract's maxLength bounds it)."""
    field: str
    size: int
    limit: int | None

    @property
    def too_large(self) -> bool:
        return self.limit is not None and self.size > self.limit


@dataclass(frozen=True)
class Contract:
    name: str
    version: int
    topic: str
    producer_field: str | None
    schema: dict
    validator: Draft202012Validator

    @property
    def type(self) -> str:
        return f"{TYPE_PREFIX}{self.name}.v{self.version}"

    @property
    def dataschema(self) -> str:
        return f"https://yhdistamo.fi/contracts/events/{self.name}/v{self.version}.json"

    def string_sizes(self, data) -> list[StringSize]:
        """Every string in `data` (valid for this contract), in document order; the schema is followed
        through `properties`, `items` and this document's `$ref`s, which is all the contracts use."""
        out: list[StringSize] = []
        self._walk(self.schema, data, (), out)
        return out

    def _walk(self, schema: dict, value, path: tuple, out: list[StringSize]) -> None:
        schema = self._resolve(schema)
        if isinstance(value, str):
            limit = schema.get("x-max-bytes") or (None if "maxLength" in schema else UNBOUNDED_STRING_BYTES)
            out.append(StringSize(".".join(map(str, path)), len(value.encode()), limit))
        elif isinstance(value, dict):
            properties = schema.get("properties", {})
            for k, v in value.items():
                self._walk(properties.get(k, {}), v, path + (k,), out)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                self._walk(schema.get("items", {}), v, path + (i,), out)

    def _resolve(self, schema: dict) -> dict:
        """Follow this document's own references ("#/$defs/text")."""
        while "$ref" in schema:
            node = self.schema
            for part in schema["$ref"].removeprefix("#/").split("/"):
                node = node[part]
            schema = node
        return schema


def parse_type(event_type: str) -> tuple[str, int]:
    m = TYPE_RE.match(event_type or "")
    if not m:
        raise ContractError(f"event type {event_type!r} is not of the form fi.yhdistamo.<name>.v<N>")
    return m["name"], int(m["version"])


class ContractRegistry:
    def __init__(self, contracts_dir: Path, topic_prefix: str = ""):
        self._contracts: dict[str, Contract] = {}
        for path in sorted((Path(contracts_dir) / "events").glob("*/v*.json")):
            schema = json.loads(path.read_text(encoding="utf-8"))
            Draft202012Validator.check_schema(schema)
            contract = Contract(
                name=path.parent.name,
                version=int(path.stem[1:]),
                topic=topic_prefix + schema["x-topic"],
                producer_field=schema.get("x-producer-field"),
                schema=schema,
                validator=Draft202012Validator(schema, format_checker=FormatChecker()),
            )
            self._contracts[contract.type] = contract

    def __iter__(self):
        return iter(self._contracts.values())

    def get(self, event_type: str) -> Contract:
        parse_type(event_type)
        try:
            return self._contracts[event_type]
        except KeyError:
            raise ContractError(f"unknown event type or version: {event_type}") from None

    def validate(self, event_type: str, data) -> Contract:
        contract = self.get(event_type)
        errors = sorted(contract.validator.iter_errors(data), key=lambda e: list(e.absolute_path))
        if errors:
            e = errors[0]
            where = "/".join(str(p) for p in e.absolute_path) or "(root)"
            raise ContractError(f"{event_type} data invalid at {where}: {e.message}")
        return contract

    def topics(self) -> set[str]:
        return {c.topic for c in self._contracts.values()}


@lru_cache(maxsize=8)
def registry(contracts_dir: str, topic_prefix: str = "") -> ContractRegistry:
    return ContractRegistry(Path(contracts_dir), topic_prefix)
