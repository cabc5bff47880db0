"""Regional reporting's own encryption key and pseudonym secret: registered in the federation file, found by
the reporting instance (and only by it) from its settings or, in the demo, the federation's demo files."""
from __future__ import annotations

import base64

from services.kernel import sealed
from services.kernel.config import Settings
from services.kernel.context import build_context
from services.kernel.db import UnitOfWork
from services.kernel.federation import Federation

FEDERATION = Federation.load(Settings.federation_file)


def context(org_id: str, **env):
    settings = Settings.from_env("reporting", {"ORG_ID": org_id, "DATABASE_URL": "postgresql://nowhere/none",
                                               "KAFKA_BOOTSTRAP_SERVERS": "nowhere:9092", **env})
    return build_context(settings, uow_class=UnitOfWork, migrations=None, run_migrations=False)


def test_the_registered_reporting_key_is_the_public_half_of_the_demo_key():
    demo = sealed.load_private_key(FEDERATION.reporting_demo_encryption_key_file)
    assert FEDERATION.reporting_encryption_public_key == base64.b64encode(bytes(demo.public_key)).decode()
    assert FEDERATION.reporting_encryption_public_key not in {
        o.encryption_public_key for o in FEDERATION.organisations.values()}


def test_reporting_opens_what_is_sealed_for_it_and_holds_a_pseudonym_secret_no_member_gets():
    region = context(FEDERATION.reporting_org)
    box = sealed.seal({"pathway_key": "pk1-" + "0" * 40}, FEDERATION.reporting_encryption_public_key)
    assert sealed.open_sealed(box, region.encryption_key) == {"pathway_key": "pk1-" + "0" * 40}
    assert len(region.pseudonym_secret) >= 32 and region.pathway_secret is None
    member = context("odl")
    assert member.pseudonym_secret is None and member.pathway_secret is not None
    assert region.pseudonym_secret != member.pathway_secret


def test_the_settings_name_reporting_s_own_files(tmp_path):
    secret = tmp_path / "pseudonym"
    secret.write_text("ab" * 32 + "\n")
    key = tmp_path / "region.x25519"
    public = sealed.generate(key)
    region = context(FEDERATION.reporting_org, REPORTING_PSEUDONYM_SECRET_FILE=str(secret),
                     ENCRYPTION_KEY_FILE=str(key))
    assert region.pseudonym_secret == bytes.fromhex("ab" * 32)
    assert base64.b64encode(bytes(region.encryption_key.public_key)).decode() == public
