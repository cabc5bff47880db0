"""The federation registry: organisations, their services and public keys."""
from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .config import PROJECT_ROOT


@dataclass(frozen=True)
class Organisation:
    id: str
    kind: str
    name: dict
    services: tuple[str, ...]
    signing_public_key: Ed25519PublicKey
    demo_signing_key_file: Path | None
    encryption_public_key: str | None = None  # X25519, base64: seals personal data for this organisation
    demo_encryption_key_file: Path | None = None
    description: dict | None = None  # public, in fi (sv, en): the catalogue's HSDS organization
    website: str | None = None

    def display_name(self, lang: str = "fi") -> str:
        return self.name.get(lang) or self.name.get("fi") or self.id


@dataclass(frozen=True)
class Federation:
    name: str
    organisations: dict[str, Organisation]
    reporting_org: str
    demo_pathway_secret_file: Path | None = None
    reporting_encryption_public_key: str | None = None   # X25519, base64: seals each referral's person key
    reporting_demo_encryption_key_file: Path | None = None
    reporting_demo_pseudonym_secret_file: Path | None = None

    def get(self, org_id: str) -> Organisation | None:
        return self.organisations.get(org_id)

    def public_key(self, org_id: str) -> Ed25519PublicKey | None:
        org = self.organisations.get(org_id)
        return org.signing_public_key if org else None

    @classmethod
    def load(cls, path: Path | str) -> "Federation":
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        orgs = {}
        for org_id, o in raw["organisations"].items():
            key_file = o.get("demo_signing_key_file")
            enc_file = o.get("demo_encryption_key_file")
            orgs[org_id] = Organisation(
                id=org_id,
                kind=o["kind"],
                name=o["name"],
                services=tuple(o["services"]),
                signing_public_key=Ed25519PublicKey.from_public_bytes(
                    base64.b64decode(o["signing_public_key"])),
                demo_signing_key_file=(PROJECT_ROOT / key_file) if key_file else None,
                encryption_public_key=o.get("encryption_public_key"),
                demo_encryption_key_file=(PROJECT_ROOT / enc_file) if enc_file else None,
                description=o.get("description"),
                website=o.get("website"),
            )
        secret = raw.get("demo_pathway_secret_file")
        region = raw["region_reporting"]
        enc_file, pseudonym_file = region.get("demo_encryption_key_file"), region.get("demo_pseudonym_secret_file")
        return cls(name=raw["federation"], organisations=orgs, reporting_org=region["org"],
                   demo_pathway_secret_file=(PROJECT_ROOT / secret) if secret else None,
                   reporting_encryption_public_key=region.get("encryption_public_key"),
                   reporting_demo_encryption_key_file=(PROJECT_ROOT / enc_file) if enc_file else None,
                   reporting_demo_pseudonym_secret_file=(PROJECT_ROOT / pseudonym_file) if pseudonym_file else None)
