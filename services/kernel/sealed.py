"""Payload parts only the receiving organisation can read: X25519 sealed boxes (libsodium).

The sender encrypts to the receiver's public encryption key from the
federation; neither other organisations (whose consumers read the same topics)
nor the broker's operator can open it.
"""
from __future__ import annotations

import base64
import json
from pathlib import Path

from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox


class SealedError(ValueError):
    pass


def seal(data: dict, recipient_public_key_b64: str) -> str:
    box = SealedBox(PublicKey(base64.b64decode(recipient_public_key_b64)))
    return base64.b64encode(box.encrypt(json.dumps(data, ensure_ascii=False).encode())).decode()


def open_sealed(sealed_b64: str, private_key: PrivateKey) -> dict:
    try:
        return json.loads(SealedBox(private_key).decrypt(base64.b64decode(sealed_b64)))
    except (CryptoError, ValueError) as e:
        raise SealedError(f"cannot open the sealed payload: {e}") from None


def load_private_key(path: Path) -> PrivateKey:
    return PrivateKey(base64.b64decode(Path(path).read_text().strip()))


def generate(path: Path) -> str:
    key = PrivateKey.generate()
    Path(path).write_text(base64.b64encode(bytes(key)).decode() + "\n")
    Path(path).chmod(0o600)
    return base64.b64encode(bytes(key.public_key)).decode()
