"""Everything a service instance needs at run time, built once from Settings."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from .config import Settings
from .contracts import ContractRegistry, registry
from .db import UnitOfWork, make_engine, migrate
from .federation import Federation
from .keys import load_private_key
from . import sealed
from .outbox import EventWriter


@dataclass
class ServiceContext:
    settings: Settings
    engine: Engine
    federation: Federation
    contracts: ContractRegistry
    writer: EventWriter | None
    uow_class: type[UnitOfWork]
    encryption_key: object | None = None   # nacl PrivateKey: opens payloads sealed for this organisation
    pathway_secret: bytes | None = None
    pseudonym_secret: bytes | None = None  # reporting only: its second pseudonymisation of person keys

    def uow(self) -> UnitOfWork:
        uow = self.uow_class(self.engine, self.writer, self.settings.org_id)
        uow.ctx = self
        return uow

    def dispose(self):
        self.engine.dispose()


def build_context(settings: Settings, *, uow_class: type[UnitOfWork], migrations: Path,
                  pool_size: int = 5, run_migrations: bool = True) -> ServiceContext:
    if run_migrations:
        migrate(settings.database_url, migrations)
    federation = Federation.load(settings.federation_file)
    contracts = registry(str(settings.contracts_dir), settings.topic_prefix)
    writer = None
    key_file = settings.signing_key_file
    if key_file is None:
        org = federation.get(settings.org_id)
        key_file = org.demo_signing_key_file if org else None
    if key_file is not None:
        writer = EventWriter(settings.source, load_private_key(key_file), contracts)
    org = federation.get(settings.org_id)
    reporting = settings.org_id == federation.reporting_org
    enc_file = settings.encryption_key_file or (org.demo_encryption_key_file if org else None) or (
        federation.reporting_demo_encryption_key_file if reporting else None)
    secret_file = settings.pathway_secret_file or (federation.demo_pathway_secret_file if org else None)
    pseudonym_file = settings.pseudonym_secret_file or (
        federation.reporting_demo_pseudonym_secret_file if reporting else None)
    return ServiceContext(settings, make_engine(settings.database_url, pool_size), federation, contracts,
                          writer, uow_class,
                          encryption_key=sealed.load_private_key(enc_file) if enc_file else None,
                          pathway_secret=_hex(secret_file), pseudonym_secret=_hex(pseudonym_file))


def _hex(path: Path | None) -> bytes | None:
    return bytes.fromhex(path.read_text().strip()) if path else None
