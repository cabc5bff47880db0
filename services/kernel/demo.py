"""Demo mode: the public demo keys, the demo pathway secret and a derived session secret are for demos only.

An instance refuses to start (one line naming the setting to fix) when it would sign with a demo key,
open sealed data with a demo key, make pathway keys with the demo secret, or sign browser sessions with
a secret that is missing or derived from a key file — unless `YHD_DEMO_MODE=1` says this is a demo.
The embedded stack (`./yhd up`), docker-compose.yml and the test fixtures turn demo mode on. The demo
metrics token (deploy/demo-keys/metrics-token, which docker-compose.yml's Prometheus sends) is refused too.

A demo key is recognised by its public part, wherever the file lies: every key under deploy/demo-keys and
every `demo_*_file` the federation file names.
"""
from __future__ import annotations

import base64
import hashlib
import os
import sys
from functools import lru_cache
from pathlib import Path

from .config import PROJECT_ROOT, Settings

DEMO_KEYS_DIR = PROJECT_ROOT / "deploy" / "demo-keys"
DEMO_MODE_VAR = "YHD_DEMO_MODE"
MIN_SECRET_KEY_LENGTH = 32


BOOT_ERROR = 3   # gunicorn's WORKER_BOOT_ERROR: the arbiter stops instead of booting the worker again


class SettingRefused(SystemExit):
    """A setting the instance cannot start with (a demo one outside demo mode): the process writes the one
    line to stderr and exits with 3 (gunicorn then stops as a whole instead of booting workers again)."""

    def __init__(self, line: str):
        self.line = f"refusing to start: {line}"
        sys.stderr.write(self.line + "\n")
        sys.stderr.flush()
        super().__init__(BOOT_ERROR)

    def __str__(self) -> str:
        return self.line


def demo_mode(env=None) -> bool:
    return (os.environ if env is None else env).get(DEMO_MODE_VAR, "").strip().lower() in ("1", "true", "yes", "on")


def _fingerprint(path: Path) -> str | None:
    """The public part of a key file (Ed25519 PEM or X25519 base64), or the hash of a secret file's value."""
    try:
        raw = Path(path).read_bytes()
    except OSError:
        return None
    if b"PRIVATE KEY" in raw:
        from cryptography.hazmat.primitives import serialization
        try:
            key = serialization.load_pem_private_key(raw, password=None)
        except ValueError:
            return None
        pub = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return "ed25519:" + base64.b64encode(pub).decode()
    text = raw.decode(errors="replace").strip()
    try:
        secret = base64.b64decode(text, validate=True)
        if len(secret) == 32:
            from nacl.public import PrivateKey
            return "x25519:" + base64.b64encode(bytes(PrivateKey(secret).public_key)).decode()
    except (ValueError, TypeError):
        pass
    return "secret:" + hashlib.sha256(text.lower().encode()).hexdigest()


@lru_cache(maxsize=4)
def _demo_fingerprints(extra: tuple[Path, ...]) -> frozenset[str]:
    files = [p for p in DEMO_KEYS_DIR.glob("*") if p.is_file() and p.suffix != ".md"] + list(extra)
    return frozenset(f for f in map(_fingerprint, files) if f)


def _federation_demo_files(federation) -> tuple[Path, ...]:
    files = [getattr(federation, name, None) for name in (
        "demo_pathway_secret_file", "reporting_demo_encryption_key_file", "reporting_demo_pseudonym_secret_file")]
    for org in getattr(federation, "organisations", {}).values():
        files += [getattr(org, "demo_signing_key_file", None), getattr(org, "demo_encryption_key_file", None)]
    return tuple(sorted({Path(f) for f in files if f}))


def is_demo(path: Path, federation=None) -> bool:
    fingerprint = _fingerprint(path)
    return fingerprint is not None and fingerprint in _demo_fingerprints(
        _federation_demo_files(federation) if federation is not None else ())


def refuse_demo_keys(settings: Settings, federation=None, env=None) -> None:
    """Before an instance starts: refuse the demo keys and pathway secret unless demo mode is on.

    A setting left unset is refused where the instance would fall back to a demo file (as
    `build_context` does for an organisation of the federation file)."""
    if demo_mode(env):
        return
    if federation is None:
        from .federation import Federation
        federation = Federation.load(settings.federation_file)
    demo = federation.demo_fallbacks(settings.org_id)
    if settings.rotation_key_paths:
        demo["ENCRYPTION_KEY_FILE"] = None  # the rotation keys are loaded instead of the demo key
    checks = [(name, given, what, demo[name]) for name, given, what in (
        ("SIGNING_KEY_FILE", settings.signing_key_file, "this organisation's own Ed25519 key"),
        ("ENCRYPTION_KEY_FILE", settings.encryption_key_file, "this organisation's own X25519 key"),
        ("PATHWAY_SECRET_FILE", settings.pathway_secret_file, "the federation's own pathway secret"),
        ("REPORTING_PSEUDONYM_SECRET_FILE", settings.pseudonym_secret_file, "reporting's own pseudonym secret"),
    )] + [("ENCRYPTION_KEY_FILES", f, "this organisation's own X25519 keys", None) for f in settings.rotation_key_paths]
    for name, given, what, fallback in checks:
        if given is None and fallback is not None:
            raise SettingRefused(f"{name} is not set, so the public demo file {fallback} would be used; "
                                     f"set {name} to {what}, or {DEMO_MODE_VAR}=1 for a demo")
        if given is not None and is_demo(given, federation):
            raise SettingRefused(f"{name}={given} is a public demo key (deploy/demo-keys); "
                                     f"set {name} to {what}, or {DEMO_MODE_VAR}=1 for a demo")
    from .metrics import metrics_token
    token = metrics_token(env)
    if token and "secret:" + hashlib.sha256(token.lower().encode()).hexdigest() in _demo_fingerprints(()):
        raise SettingRefused("METRICS_TOKEN is the public demo token (deploy/demo-keys/metrics-token); set "
                                 f"METRICS_TOKEN (or METRICS_TOKEN_FILE) to a random value, or {DEMO_MODE_VAR}=1 "
                                 "for a demo")


def refuse_derived_session_secret(env=None) -> None:
    """Browser sessions: SECRET_KEY must be set (at least 32 characters) unless demo mode is on."""
    env = os.environ if env is None else env
    if demo_mode(env):
        return
    secret = env.get("SECRET_KEY", "")
    if not secret:
        raise SettingRefused("SECRET_KEY is not set (a session secret derived from a key file is for demos "
                                 f"only); set SECRET_KEY to a random value of at least {MIN_SECRET_KEY_LENGTH} "
                                 f"characters, or {DEMO_MODE_VAR}=1 for a demo")
    if len(secret) < MIN_SECRET_KEY_LENGTH:
        raise SettingRefused(f"SECRET_KEY is shorter than {MIN_SECRET_KEY_LENGTH} characters; set SECRET_KEY "
                                 f"to a longer random value (e.g. python -c 'import secrets;print(secrets.token_urlsafe(32))')")
