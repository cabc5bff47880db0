"""deploy/services.yaml: which services exist, what each runs, produces and consumes.

Only PyYAML is needed, so the compose generator can read it with any Python that has it.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SERVICES_FILE = ROOT / "deploy" / "services.yaml"
PROCESSES = ("web", "relay", "consumer")


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    scope: str                   # "organisation" or "region"
    port_slot: int
    processes: tuple[str, ...]
    produces: tuple[str, ...]    # contract names
    consumes: tuple[str, ...]    # topics

    @property
    def regional(self) -> bool:
        return self.scope == "region"

    @property
    def consumes_events(self) -> bool:
        return "consumer" in self.processes

    def port(self, base_port: int, org_position: int | None) -> int:
        """Host port: organisation at 0-based `org_position`, or the region's (None)."""
        return base_port + self.port_slot + (0 if org_position is None else 10 * (org_position + 1))


@lru_cache(maxsize=4)
def load(path: Path = SERVICES_FILE) -> dict[str, ServiceSpec]:
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))["services"]
    specs = {}
    for name, s in raw.items():
        spec = ServiceSpec(name, s["scope"], int(s["port_slot"]), tuple(s["processes"]),
                           tuple(s.get("produces") or ()), tuple(s.get("consumes") or ()))
        unknown = set(spec.processes) - set(PROCESSES)
        if spec.scope not in ("organisation", "region") or unknown or "web" not in spec.processes:
            raise ValueError(f"{path}: service {name!r} is not well described")
        specs[name] = spec
    return specs


def organisation_services() -> tuple[str, ...]:
    """Services an organisation may run, in port-slot order."""
    return tuple(s.name for s in sorted(load().values(), key=lambda s: s.port_slot) if not s.regional)


def regional_services() -> tuple[str, ...]:
    return tuple(s.name for s in load().values() if s.regional)
