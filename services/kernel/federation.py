"""The federation registry: organisations, their services and public keys.

Each organisation lists its signing keys (Ed25519: they verify its events) and
its encryption keys (X25519: personal data is sealed for it with them), each
with its `kid` and optionally `not_after`. Two keys can be listed at once while
an organisation rotates (README, "Signing keys and rotation"): every listed
signing key verifies, by the kid an event names (`ce_signaturekid`); senders
seal for the first listed encryption key that has not passed its `not_after`.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .config import PROJECT_ROOT
from .keys import signing_kid
from .sealed import encryption_kid


@dataclass(frozen=True)
class SigningKeyEntry:
    kid: str
    key: Ed25519PublicKey
    not_after: datetime | None = None  # events whose time is later are refused with this key


@dataclass(frozen=True)
class EncryptionKeyEntry:
    kid: str
    public_key: str                    # X25519, base64
    not_after: datetime | None = None  # no longer sealed for after this


def current_key(entries, now: datetime | None = None):
    """The first listed key entry that has not passed its not_after (a rotation lists the new key first)."""
    now = now or datetime.now(timezone.utc)
    return next((k for k in entries if k.not_after is None or k.not_after > now), None)


@dataclass(frozen=True)
class Organisation:
    id: str
    kind: str
    name: dict
    services: tuple[str, ...]
    signing_keys: tuple[SigningKeyEntry, ...]
    demo_signing_key_file: Path | None
    encryption_keys: tuple[EncryptionKeyEntry, ...] = ()
    demo_encryption_key_file: Path | None = None
    description: dict | None = None  # public, in fi (sv, en): the catalogue's HSDS organization
    website: str | None = None

    def display_name(self, lang: str = "fi") -> str:
        return self.name.get(lang) or self.name.get("fi") or self.id

    def signing_key(self, kid: str) -> SigningKeyEntry | None:
        return next((k for k in self.signing_keys if k.kid == kid), None)

    @property
    def signing_public_key(self) -> Ed25519PublicKey:
        """The first listed signing key (the current one, by the rotation procedure)."""
        return self.signing_keys[0].key

    def current_encryption_key(self, now: datetime | None = None) -> EncryptionKeyEntry | None:
        """What senders seal for: the first listed encryption key that has not passed its not_after."""
        return current_key(self.encryption_keys, now)

    @property
    def encryption_public_key(self) -> str | None:
        """The current encryption key (base64), for `sealed.seal`."""
        current = self.current_encryption_key()
        return current.public_key if current else None


@dataclass(frozen=True)
class Federation:
    name: str
    organisations: dict[str, Organisation]
    reporting_org: str
    demo_pathway_secret_file: Path | None = None
    reporting_encryption_keys: tuple = ()  # EncryptionKeyEntry: regional reporting's, seal each person key
    reporting_demo_encryption_key_file: Path | None = None
    reporting_demo_pseudonym_secret_file: Path | None = None

    def get(self, org_id: str) -> Organisation | None:
        return self.organisations.get(org_id)

    def demo_fallbacks(self, org_id: str) -> dict[str, Path | None]:
        """Setting -> the public demo file an instance of `org_id` falls back to when the setting is unset
        (only in demo mode: services/kernel/demo.py refuses it otherwise). A member has its own signing and
        encryption key and the pathway secret; regional reporting its own encryption key and pseudonym secret."""
        org = self.organisations.get(org_id)
        reporting = org_id == self.reporting_org
        return {"SIGNING_KEY_FILE": org.demo_signing_key_file if org else None,
                "ENCRYPTION_KEY_FILE": org.demo_encryption_key_file if org else (
                    self.reporting_demo_encryption_key_file if reporting else None),
                "PATHWAY_SECRET_FILE": self.demo_pathway_secret_file if org else None,
                "REPORTING_PSEUDONYM_SECRET_FILE": self.reporting_demo_pseudonym_secret_file if reporting else None}

    @property
    def reporting_encryption_public_key(self) -> str | None:
        """Regional reporting's current encryption key (base64): the first listed, not past its not_after."""
        current = current_key(self.reporting_encryption_keys)
        return current.public_key if current else None

    def public_key(self, org_id: str) -> Ed25519PublicKey | None:
        """The organisation's current signing key."""
        org = self.organisations.get(org_id)
        return org.signing_public_key if org else None

    def signing_key(self, org_id: str, kid: str) -> SigningKeyEntry | None:
        """The organisation's signing key `kid`, if listed."""
        org = self.organisations.get(org_id)
        return org.signing_key(kid) if org else None

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
                signing_keys=_signing_keys(org_id, o),
                demo_signing_key_file=(PROJECT_ROOT / key_file) if key_file else None,
                encryption_keys=_encryption_keys(org_id, o),
                demo_encryption_key_file=(PROJECT_ROOT / enc_file) if enc_file else None,
                description=o.get("description"),
                website=o.get("website"),
            )
        secret = raw.get("demo_pathway_secret_file")
        region = raw["region_reporting"]
        enc_file, pseudonym_file = region.get("demo_encryption_key_file"), region.get("demo_pseudonym_secret_file")
        return cls(name=raw["federation"], organisations=orgs, reporting_org=region["org"],
                   demo_pathway_secret_file=(PROJECT_ROOT / secret) if secret else None,
                   reporting_encryption_keys=_encryption_keys(region["org"], region),
                   reporting_demo_encryption_key_file=(PROJECT_ROOT / enc_file) if enc_file else None,
                   reporting_demo_pseudonym_secret_file=(PROJECT_ROOT / pseudonym_file) if pseudonym_file else None)


def _entries(org_id: str, o: dict, listed: str, single: str) -> list[dict]:
    """`listed` ([{kid, public_key, not_after}]), or the one key of the older `single` field."""
    if listed in o:
        return list(o[listed] or [])
    return [{"public_key": o[single]}] if o.get(single) else []


def _signing_keys(org_id: str, o: dict) -> tuple[SigningKeyEntry, ...]:
    out = []
    for e in _entries(org_id, o, "signing_keys", "signing_public_key"):
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(e["public_key"]))
        out.append(SigningKeyEntry(_kid(org_id, e, signing_kid(key)), key, _time(e.get("not_after"))))
    if not out:
        raise ValueError(f"federation: organisation {org_id} lists no signing key")
    return tuple(out)


def _encryption_keys(org_id: str, o: dict) -> tuple[EncryptionKeyEntry, ...]:
    return tuple(EncryptionKeyEntry(_kid(org_id, e, encryption_kid(e["public_key"])), e["public_key"],
                                    _time(e.get("not_after")))
                 for e in _entries(org_id, o, "encryption_keys", "encryption_public_key"))


def _kid(org_id: str, entry: dict, derived: str) -> str:
    """The kid is the key's thumbprint; a stated one must be it (a copy-paste slip is caught at start-up)."""
    stated = entry.get("kid", derived)
    if stated != derived:
        raise ValueError(f"federation: organisation {org_id} lists key {stated!r}, but that public key's kid "
                         f"is {derived!r} (python -m services.kernel.keys public KEYFILE prints it)")
    return stated


def _time(value) -> datetime | None:
    if value is None:
        return None
    t = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)
