"""Outside demo mode, reporting's and a rotation's key settings are refused like the members' (the real
entry points are started in tests/integration/kernel/test_demo_mode.py)."""
from __future__ import annotations

import secrets

import pytest

from services.kernel import keys, sealed
from services.kernel.config import PROJECT_ROOT, Settings
from services.kernel.demo import SettingRefused, refuse_demo_keys

DEMO = PROJECT_ROOT / "deploy" / "demo-keys"
OFF = {}  # an environment without YHD_DEMO_MODE


def settings(org: str, **env) -> Settings:
    return Settings.from_env("reporting" if org == "region" else "referrals",
                             {"ORG_ID": org, "DATABASE_URL": "postgresql://x/y", "KAFKA_BOOTSTRAP_SERVERS": "k:9092",
                              **{k: str(v) for k, v in env.items()}})


@pytest.fixture
def own(tmp_path):
    sealed.generate(tmp_path / "region.x25519")
    (tmp_path / "pseudonym").write_text(secrets.token_hex(32) + "\n")
    return {"ENCRYPTION_KEY_FILE": tmp_path / "region.x25519", "REPORTING_PSEUDONYM_SECRET_FILE": tmp_path / "pseudonym"}


@pytest.mark.parametrize("change, says", [
    ({"REPORTING_PSEUDONYM_SECRET_FILE": None}, "REPORTING_PSEUDONYM_SECRET_FILE is not set"),
    ({"REPORTING_PSEUDONYM_SECRET_FILE": DEMO / "reporting-pseudonym-secret"}, "REPORTING_PSEUDONYM_SECRET_FILE="),
    ({"ENCRYPTION_KEY_FILE": None}, "ENCRYPTION_KEY_FILE is not set"),
    ({"ENCRYPTION_KEY_FILE": DEMO / "region.x25519"}, "ENCRYPTION_KEY_FILE="),
])
def test_reporting_refuses_its_demo_key_and_pseudonym_secret(own, change, says):
    env = {k: v for k, v in {**own, **change}.items() if v is not None}
    with pytest.raises(SettingRefused, match=says):
        refuse_demo_keys(settings("region", **env), env=OFF)


def test_reporting_starts_on_its_own_key_and_secret(own):
    refuse_demo_keys(settings("region", **own), env=OFF)


def test_a_demo_key_among_the_rotation_keys_is_refused(tmp_path):
    keys.generate(tmp_path / "odl.pem")
    sealed.generate(tmp_path / "odl.x25519")
    (tmp_path / "pathway").write_text(secrets.token_hex(32) + "\n")
    s = settings("odl", SIGNING_KEY_FILE=tmp_path / "odl.pem", ENCRYPTION_KEY_FILE=tmp_path / "odl.x25519",
                 PATHWAY_SECRET_FILE=tmp_path / "pathway")
    refuse_demo_keys(s, env=OFF)
    s = settings("odl", SIGNING_KEY_FILE=tmp_path / "odl.pem", ENCRYPTION_KEY_FILE=tmp_path / "odl.x25519",
                 PATHWAY_SECRET_FILE=tmp_path / "pathway", ENCRYPTION_KEY_FILES=DEMO / "odl.x25519")
    with pytest.raises(SettingRefused, match="ENCRYPTION_KEY_FILES="):
        refuse_demo_keys(s, env=OFF)
