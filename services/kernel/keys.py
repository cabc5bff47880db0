"""Ed25519 signing keys: load, generate, print the public part and the key id.

A key id (`kid`) is derived from the public key (a thumbprint, as JWK's RFC
7638 does): `ed25519-<16 hex digits of SHA-256(raw public key)>` for a signing
key, `x25519-…` for an encryption key (sealed.py). Nobody has to choose or
copy one, and a kid cannot name another key than its own: the federation file
states each key's kid and `Federation.load` checks it against the key.
"""
from __future__ import annotations

import base64
import hashlib
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


def thumbprint_kid(algorithm: str, raw_public_key: bytes) -> str:
    return f"{algorithm}-{hashlib.sha256(raw_public_key).hexdigest()[:16]}"


def raw_public(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def signing_kid(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The key id of an Ed25519 key (its public part's thumbprint)."""
    return thumbprint_kid("ed25519", raw_public(key))


def load_private_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key


def public_key_b64(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    return base64.b64encode(raw_public(key)).decode()


def generate(path: Path) -> Ed25519PrivateKey:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    Path(path).write_bytes(pem)
    Path(path).chmod(0o600)
    return key


USAGE = """usage: python -m services.kernel.keys generate|public KEYFILE             (Ed25519 signing key)
       python -m services.kernel.keys generate-encryption|public-encryption KEYFILE   (X25519)
prints the federation file's entry for the key: its kid and public key"""


def main(argv: list[str]) -> int:
    from . import sealed
    if len(argv) != 2 or argv[0] not in ("generate", "public", "generate-encryption", "public-encryption"):
        print(USAGE, file=sys.stderr)
        return 2
    cmd, path = argv[0], Path(argv[1])
    if cmd in ("generate", "public"):
        k = generate(path) if cmd == "generate" else load_private_key(path)
        kid, public, where = signing_kid(k), public_key_b64(k), "signing_keys"
    else:
        k = sealed.generate_key(path) if cmd == "generate-encryption" else sealed.load_private_key(path)
        kid, public, where = sealed.encryption_kid(k.public_key), sealed.public_key_b64(k), "encryption_keys"
    print(f"# the organisation's entry under {where} in the federation file:")
    print(f"- kid: {kid}")
    print(f'  public_key: "{public}"')
    return 0


if __name__ == "__main__":  # python -m services.kernel.keys generate FILE
    sys.exit(main(sys.argv[1:]))
