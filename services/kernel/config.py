"""Settings, built once from the environment and passed explicitly."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Settings:
    org_id: str
    service: str
    database_url: str
    kafka_bootstrap_servers: str
    federation_file: Path = PROJECT_ROOT / "deploy" / "federation.yaml"
    signing_key_file: Path | None = None
    encryption_key_file: Path | None = None        # the key sealed payloads are opened with, and
    encryption_key_files: tuple[Path, ...] = ()    # more of them (files or directories of *.x25519) in a rotation
    pathway_secret_file: Path | None = None
    pseudonym_secret_file: Path | None = None  # reporting only: its second pseudonymisation of person keys
    contracts_dir: Path = PROJECT_ROOT / "contracts"
    topics_file: Path = PROJECT_ROOT / "deploy" / "topics.yaml"
    topic_prefix: str = ""   # a namespace before every topic name (e.g. one per test module); none in production
    outbox_retention_hours: float = 24 * 7
    outbox_stall_seconds: float = 120.0  # /healthz fails when the first row in line has waited longer
    consumer_max_retries: int = 5
    consumer_stall_seconds: float = 120.0  # /healthz: a partition behind at one offset this long is a stall
    kafka_client_timeout_ms: int = 10_000
    extra: dict = field(default_factory=dict)

    @property
    def rotation_key_paths(self) -> list[Path]:
        """The files of ENCRYPTION_KEY_FILES, a directory standing for its *.x25519 files."""
        out: list[Path] = []
        for p in map(Path, self.encryption_key_files):
            out += sorted(p.glob("*.x25519")) if p.is_dir() else [p]
        return out

    @property
    def consumer_group(self) -> str:
        """Each organisation's service instance is its own consumer group."""
        return f"{self.org_id}.{self.service}"

    @property
    def source(self) -> str:
        """CloudEvents `source` of everything this instance produces."""
        return f"/orgs/{self.org_id}/{self.service}"

    @classmethod
    def from_env(cls, service: str, env: dict | None = None) -> "Settings":
        env = dict(os.environ if env is None else env)
        missing = [k for k in ("ORG_ID", "DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS") if not env.get(k)]
        if missing:
            raise RuntimeError(f"missing required settings: {', '.join(missing)}")
        key = env.get("SIGNING_KEY_FILE")
        enc, secret = env.get("ENCRYPTION_KEY_FILE"), env.get("PATHWAY_SECRET_FILE")
        pseudonym = env.get("REPORTING_PSEUDONYM_SECRET_FILE")
        more = [p.strip() for p in env.get("ENCRYPTION_KEY_FILES", "").split(",") if p.strip()]
        return cls(
            org_id=env["ORG_ID"],
            service=service,
            database_url=sqlalchemy_url(env["DATABASE_URL"]),
            kafka_bootstrap_servers=env["KAFKA_BOOTSTRAP_SERVERS"],
            federation_file=Path(env.get("FEDERATION_FILE", PROJECT_ROOT / "deploy" / "federation.yaml")),
            signing_key_file=Path(key) if key else None,
            encryption_key_file=Path(enc) if enc else None,
            encryption_key_files=tuple(Path(p) for p in more),
            pathway_secret_file=Path(secret) if secret else None,
            pseudonym_secret_file=Path(pseudonym) if pseudonym else None,
            topics_file=Path(env.get("TOPICS_FILE", PROJECT_ROOT / "deploy" / "topics.yaml")),
            topic_prefix=env.get("TOPIC_PREFIX", ""),
            outbox_retention_hours=float(env.get("OUTBOX_RETENTION_HOURS", 24 * 7)),
            outbox_stall_seconds=float(env.get("OUTBOX_STALL_SECONDS", 120)),
            consumer_max_retries=int(env.get("CONSUMER_MAX_RETRIES", 5)),
            consumer_stall_seconds=float(env.get("CONSUMER_STALL_SECONDS", 120)),
            kafka_client_timeout_ms=int(env.get("KAFKA_CLIENT_TIMEOUT_MS", 10_000)),
        )


def sqlalchemy_url(url: str) -> str:
    """Accept plain `postgresql://` URLs and use the psycopg 3 driver."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("postgres://"):
        return "postgresql+psycopg://" + url[len("postgres://"):]
    return url
