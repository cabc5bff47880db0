import uuid
from dataclasses import dataclass

import pytest
from sqlalchemy import create_engine

from services.attendance.app import create_app
from services.attendance.service import AttendanceConfig
from services.attendance.tables import own_service
from services.kernel.auth import new_token, upsert_user
from services.kernel.config import Settings, sqlalchemy_url
from tests.support.directory import KnownClients

ROLES = ("caseworker", "manager", "registrar")


@dataclass
class Org:
    """One organisation's attendance app on its own database, a user per role, its catalogue services."""
    org: str
    app: object
    url: str
    tokens: dict
    clients: KnownClients
    service_id: uuid.UUID
    location_id: uuid.UUID

    def call(self, method: str, path: str, role: str = "caseworker", **kw):
        headers = {**kw.pop("headers", {}), **({"Authorization": f"Bearer {self.tokens[role]}"} if role else {})}
        return self.app.test_client().open(path, method=method, headers=headers, **kw)

    def ok(self, method: str, path: str, role: str = "caseworker", **kw):
        r = self.call(method, path, role, **kw)
        assert r.status_code in (200, 201), (r.status_code, r.get_json())
        return r.get_json()

    def engine(self):
        return create_engine(self.url)


def attendance_of(pg, kafka, org: str, config: AttendanceConfig | None = None) -> Org:
    url = sqlalchemy_url(pg.create_database(f"att_{org.replace('-', '_')}_{uuid.uuid4().hex[:8]}"))
    clients = KnownClients()
    app = create_app(Settings(org_id=org, service="attendance", database_url=url,
                              kafka_bootstrap_servers=kafka.bootstrap),
                     directory=clients, config=config or AttendanceConfig(no_show_after=2))
    tokens, service_id, location_id = {}, uuid.uuid4(), uuid.uuid4()
    eng = create_engine(url)
    with eng.begin() as conn:
        for role in ROLES:
            tokens[role] = new_token()
            upsert_user(conn, f"{role}@{org}", role, tokens[role])
        # what the organisation's catalogue announced (the bus test checks the handler that writes it)
        conn.execute(own_service.insert().values(
            service_id=service_id, organization_id=org, name={"fi": "Kohtaamispaikka HELMI"},
            locations=[{"id": str(location_id), "name": {"fi": "HELMI-kahvila"}}], status="active", version=1))
    eng.dispose()
    return Org(org, app, url, tokens, clients, service_id, location_id)


@pytest.fixture
def odl(pg, kafka):
    return attendance_of(pg, kafka, "odl")


@pytest.fixture
def parish(pg, kafka):
    return attendance_of(pg, kafka, "oulu-parish")
