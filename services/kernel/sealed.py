"""Payload parts only the receiving organisation can read: X25519 sealed boxes (libsodium).

The sender encrypts to the receiver's current public encryption key from the
federation; neither other organisations (whose consumers read the same topics)
nor the broker's operator can open it.

A sealed payload names the key it was sealed for, so that the receiver opens it
with the right private key and can hold the old and the new one while it
rotates (README, "Signing keys and rotation"). Its text is the base64 of

    b"YSB1" | one byte: n | n bytes: the encryption kid (ASCII) | the sealed box

The kid is the key's thumbprint (`x25519-<16 hex digits of SHA-256>`, as for
signing keys in keys.py), so a private key names itself and nothing has to be
configured beside the key files. The kid is not secret and is not what makes
the box safe: a box opens only with its key.
"""
from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Iterable, Mapping

from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox

FORMAT = b"YSB1"  # Yhdistämö sealed box, format 1


class SealedError(ValueError):
    pass


def encryption_kid(public_key: PublicKey | str) -> str:
    """The kid of an X25519 public key (a PublicKey, or base64 as in the federation file)."""
    raw = base64.b64decode(public_key) if isinstance(public_key, str) else bytes(public_key)
    return f"x25519-{hashlib.sha256(raw).hexdigest()[:16]}"  # as keys.thumbprint_kid


def public_key_b64(key: PrivateKey | PublicKey) -> str:
    pub = key.public_key if isinstance(key, PrivateKey) else key
    return base64.b64encode(bytes(pub)).decode()


def seal(data: dict, recipient_public_key_b64: str) -> str:
    """`data` as JSON, sealed for the recipient's public key (base64, as the federation lists it)."""
    public = PublicKey(base64.b64decode(recipient_public_key_b64))
    kid = encryption_kid(public).encode("ascii")
    box = SealedBox(public).encrypt(json.dumps(data, ensure_ascii=False).encode())
    return base64.b64encode(FORMAT + bytes([len(kid)]) + kid + box).decode()


def sealed_for(sealed_b64: str) -> str:
    """The kid of the key a payload was sealed for; SealedError when it is not a sealed payload."""
    return _frame(sealed_b64)[0]


def open_sealed(sealed_b64: str, keys: PrivateKey | Mapping[str, PrivateKey] | Iterable[PrivateKey]) -> dict:
    """Open a payload sealed for one of `keys` (a private key, several, or a keyring: kid -> key)."""
    kid, box = _frame(sealed_b64)
    key = keyring(keys).get(kid)
    if key is None:
        raise SealedError(f"sealed for encryption key {kid}, which this instance does not hold")
    try:
        return json.loads(SealedBox(key).decrypt(box))
    except (CryptoError, ValueError) as e:
        raise SealedError(f"cannot open the sealed payload: {e}") from None


def keyring(keys: PrivateKey | Mapping[str, PrivateKey] | Iterable[PrivateKey] | None) -> dict[str, PrivateKey]:
    """kid -> private key."""
    if keys is None:
        return {}
    if isinstance(keys, PrivateKey):
        keys = [keys]
    if isinstance(keys, Mapping):
        return dict(keys)
    return {encryption_kid(k.public_key): k for k in keys}


def _frame(sealed_b64: str) -> tuple[str, bytes]:
    try:
        raw = base64.b64decode(sealed_b64, validate=True)
    except (ValueError, TypeError):
        raise SealedError("the sealed payload is not base64") from None
    n = raw[len(FORMAT)] if len(raw) > len(FORMAT) else 0
    if not raw.startswith(FORMAT) or n == 0 or len(raw) < len(FORMAT) + 1 + n:
        raise SealedError("not a sealed payload of format YSB1 (no encryption key id)")
    kid = raw[len(FORMAT) + 1:len(FORMAT) + 1 + n].decode("ascii", errors="replace")
    return kid, raw[len(FORMAT) + 1 + n:]


def load_private_key(path: Path) -> PrivateKey:
    return PrivateKey(base64.b64decode(Path(path).read_text().strip()))


def load_keyring(paths: Iterable[Path]) -> dict[str, PrivateKey]:
    """The private keys in these files (each base64 of the raw key), by kid."""
    return keyring([load_private_key(p) for p in paths])


def generate_key(path: Path) -> PrivateKey:
    key = PrivateKey.generate()
    Path(path).write_text(base64.b64encode(bytes(key)).decode() + "\n")
    Path(path).chmod(0o600)
    return key


def generate(path: Path) -> str:
    """A new private key in `path`; returns its public key (base64)."""
    return public_key_b64(generate_key(path))
