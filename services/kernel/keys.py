"""Ed25519 signing keys: load, generate, and print the public part."""
from __future__ import annotations

import base64
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


def load_private_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key


def public_key_b64(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def generate(path: Path) -> Ed25519PrivateKey:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    Path(path).write_bytes(pem)
    Path(path).chmod(0o600)
    return key


if __name__ == "__main__":  # python -m services.kernel.keys generate FILE
    if len(sys.argv) != 3 or sys.argv[1] not in ("generate", "public"):
        sys.exit("usage: python -m services.kernel.keys generate|public KEYFILE")
    k = generate(Path(sys.argv[2])) if sys.argv[1] == "generate" else load_private_key(Path(sys.argv[2]))
    print(public_key_b64(k))
