"""deploy/services.yaml, the one list of services, agrees with each service's own definition."""
from __future__ import annotations

import importlib

import pytest

from devstack import services as service_list
from services.kernel.config import PROJECT_ROOT
from services.kernel.contracts import ContractRegistry

SPECS = service_list.load()
CONTRACTS = ContractRegistry(PROJECT_ROOT / "contracts")


def definition(name):
    return importlib.import_module(f"services.{name}").DEFINITION


def test_every_service_package_is_listed_and_every_listed_one_exists():
    packages = {p.name for p in (PROJECT_ROOT / "services").iterdir()
                if (p / "__init__.py").exists() and (p / "app.py").exists()}
    assert packages == set(SPECS)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_the_listed_topics_are_the_ones_its_handlers_read(name):
    assert set(SPECS[name].consumes) == set(definition(name).handlers.topics(CONTRACTS))


@pytest.mark.parametrize("name", sorted(SPECS))
def test_a_consumer_process_runs_where_there_are_handlers_or_jobs(name):
    defn = definition(name)
    assert SPECS[name].consumes_events == bool(defn.handlers.types() or defn.jobs)


def test_every_contract_has_exactly_one_listed_producer():
    produced = [c for spec in SPECS.values() for c in spec.produces]
    assert sorted(produced) == sorted({c.name for c in CONTRACTS})


def test_ports_of_an_organisation_and_of_the_region_never_collide():
    ports = [spec.port(8100, org) for org in range(5) for spec in SPECS.values() if not spec.regional]
    ports += [spec.port(8100, None) for spec in SPECS.values() if spec.regional]
    assert len(ports) == len(set(ports))
