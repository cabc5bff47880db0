import pytest

from tests.support.instances import make_instance


@pytest.fixture
def instance(new_database, kafka):
    """Factory: make_instance(DEFINITION, org_id) on a fresh database and the session's broker."""
    made = []

    def make(defn, org_id):
        inst = make_instance(defn, org_id, new_database(f"{org_id}_{defn.name}"), kafka.bootstrap)
        made.append(inst)
        return inst
    yield make
    for inst in made:
        inst.close()
