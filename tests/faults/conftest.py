import os

import pytest

from tests.support.parts import KAFKA_LIBS, free_port_range, unavailable
from tests.faults.harness import start_federation


@pytest.fixture
def federation(tmp_path):
    """Factory: start_federation(...) on a PostgreSQL and broker of this test's own."""
    os.environ.setdefault("YHD_KAFKA_LIBS", str(KAFKA_LIBS))
    made = []

    def make(**kw):
        try:
            fed = start_federation(tmp_path / f"fed{len(made)}", free_port_range(60), **kw)
        except Exception as e:
            unavailable("the fault-test federation (PostgreSQL, Kafka, services)", repr(e))
        made.append(fed)
        return fed
    yield make
    for fed in made:
        fed.close()
