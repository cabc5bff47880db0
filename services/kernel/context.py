"""Everything a service instance needs at run time, built once from Settings."""
from __future__ import annotations

from dataclasses import dataclass, field
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
    encryption_key: object | None = None   # nacl PrivateKey: the first of encryption_keys
    encryption_keys: dict = field(default_factory=dict)  # kid -> nacl PrivateKey: open what is sealed for them
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
    demo = federation.demo_fallbacks(settings.org_id)
    key_file = settings.signing_key_file or demo["SIGNING_KEY_FILE"]
    writer = EventWriter(settings.source, load_private_key(key_file), contracts) if key_file else None
    encryption_keys = sealed.load_keyring(encryption_key_files(settings, federation))
    secret_file = settings.pathway_secret_file or demo["PATHWAY_SECRET_FILE"]
    pseudonym_file = settings.pseudonym_secret_file or demo["REPORTING_PSEUDONYM_SECRET_FILE"]
    return ServiceContext(settings, make_engine(settings.database_url, pool_size), federation, contracts,
                          writer, uow_class,
                          encryption_key=next(iter(encryption_keys.values()), None), encryption_keys=encryption_keys,
                          pathway_secret=_hex(secret_file), pseudonym_secret=_hex(pseudonym_file))


def _hex(path: Path | None) -> bytes | None:
    return bytes.fromhex(path.read_text().strip()) if path else None


def encryption_key_files(settings: Settings, federation: Federation) -> list[Path]:
    """ENCRYPTION_KEY_FILE, then each of ENCRYPTION_KEY_FILES (a directory stands for its *.x25519 files);
    the demo key when neither is set (regional reporting's own, for reporting). While the organisation
    rotates its encryption key it holds both."""
    files = ([settings.encryption_key_file] if settings.encryption_key_file else []) + settings.rotation_key_paths
    demo = federation.demo_fallbacks(settings.org_id)["ENCRYPTION_KEY_FILE"]
    return files or ([demo] if demo else [])
