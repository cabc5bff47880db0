"""Rotating an organisation's signing and encryption keys, step by step as the README's procedure has it (no I/O
beyond key and federation files in a temporary directory).

Signing: add the new key to the federation (first) → deploy the file everywhere → the instance signs with the
new key → after the retention window remove the old one. Encryption: the instance holds the new private key
beside the old → add the new public key to the federation (first) → senders seal for it → after the window
remove the old public key and private key.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import yaml

from services.kernel import sealed
from services.kernel.config import PROJECT_ROOT, Settings
from services.kernel.context import encryption_key_files
from services.kernel.events import EnvelopeError, decode_record, new_event, verify
from services.kernel.federation import Federation
from services.kernel.keys import generate, load_private_key, public_key_b64, signing_kid
from services.kernel.outbox import EventWriter, Outbox
from services.kernel.contracts import ContractRegistry
from tests.unit.test_outbox import RecordingConnection

FEDERATION = yaml.safe_load((PROJECT_ROOT / "deploy" / "federation.yaml").read_text(encoding="utf-8"))
TOPIC = "yhd.attendance"
ODL_SIGNING = load_private_key(PROJECT_ROOT / "deploy" / "demo-keys" / "odl.ed25519.pem")


def federation(tmp_path, phase: str, *, signing: list, encryption: list) -> Federation:
    """The demo federation with odl's key lists replaced: [(private key, not_after or None)]."""
    raw = yaml.safe_load(yaml.safe_dump(FEDERATION))
    odl = raw["organisations"]["odl"]
    odl["signing_keys"] = [{"kid": signing_kid(k), "public_key": public_key_b64(k),
                            **({"not_after": after} if after else {})} for k, after in signing]
    odl["encryption_keys"] = [{"kid": sealed.encryption_kid(k.public_key), "public_key": sealed.public_key_b64(k),
                               **({"not_after": after} if after else {})} for k, after in encryption]
    path = tmp_path / f"federation-{phase}.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return Federation.load(path)


def encounter(key, at_topic=TOPIC):
    return new_event(source="/orgs/odl/attendance", type="fi.yhdistamo.attendance.encounter-recorded.v1",
                     key="e-1", data={"encounter_id": "e-1"}, signing_key=key, topic=at_topic)


def received(ev):
    return decode_record(ev.headers(), ev.partitionkey.encode(), ev.data_bytes, topic=TOPIC)


def test_a_signing_key_rotation(tmp_path):
    old, new = generate(tmp_path / "old.pem"), generate(tmp_path / "new.pem")
    before = federation(tmp_path, "before", signing=[(old, None)], encryption=[])
    signed_old = received(encounter(old))
    verify(signed_old, before)
    with pytest.raises(EnvelopeError, match="is not a key of organisation 'odl'"):
        verify(received(encounter(new)), before)  # why the federation file goes out first

    # 1. the new key is added, first; 2. the file is deployed everywhere: both verify
    overlap = federation(tmp_path, "overlap", signing=[(new, None), (old, None)], encryption=[])
    verify(signed_old, overlap)  # events signed before the switch, still on the bus or re-published
    # 3. the instance signs with the new key (SIGNING_KEY_FILE): its events name the new kid
    contracts = ContractRegistry(PROJECT_ROOT / "contracts")
    writer = EventWriter("/orgs/odl/attendance", load_private_key(tmp_path / "new.pem"), contracts)
    staged = Outbox(RecordingConnection(), writer).add(
        "attendance.encounter-recorded.v1", "e-2", {"encounter_id": "00000000-0000-4000-8000-000000000002",
                                                    "organization_id": "odl", "kind": "drop-in", "anonymous": True,
                                                    "participants": 2, "occurred_at": "2026-12-01T10:00:00Z"})
    assert staged.kid == signing_kid(new) != signing_kid(old)
    verify(received(staged), overlap)
    assert overlap.public_key("odl") is overlap.get("odl").signing_keys[0].key  # the current one: the new key

    # 4. after the retention window the old key is removed: what it signed is refused, with the reason
    after = federation(tmp_path, "after", signing=[(new, None)], encryption=[])
    verify(received(staged), after)
    with pytest.raises(EnvelopeError, match=f"signing key '{signing_kid(old)}' is not a key of organisation 'odl'"):
        verify(signed_old, after)


def test_a_key_past_its_not_after_verifies_only_what_it_signed_before(tmp_path):
    old, new = generate(tmp_path / "old.pem"), generate(tmp_path / "new.pem")
    cutoff = (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat()
    fed = federation(tmp_path, "cut", signing=[(new, None), (old, cutoff)], encryption=[])
    with pytest.raises(EnvelopeError, match="after its not_after"):
        verify(received(encounter(old)), fed)  # signed now, a minute after the old key's end
    verify(received(encounter(new)), fed)


def test_an_encryption_key_rotation(tmp_path):
    keys = tmp_path / "odl-keys"
    keys.mkdir()
    old = sealed.generate_key(keys / "2026-01.x25519")
    before = federation(tmp_path, "before", signing=[(ODL_SIGNING, None)], encryption=[(old, None)])
    sealed_old = sealed.seal({"name": "Testi Henkilö"}, before.get("odl").encryption_public_key)
    assert sealed.sealed_for(sealed_old) == sealed.encryption_kid(old.public_key)

    # 1. the receiver holds the new private key beside the old (a directory in ENCRYPTION_KEY_FILES)
    new = sealed.generate_key(keys / "2026-12.x25519")
    settings = Settings.from_env("referrals", {"ORG_ID": "odl", "DATABASE_URL": "postgresql://x/y",
                                               "KAFKA_BOOTSTRAP_SERVERS": "k:9092",
                                               "ENCRYPTION_KEY_FILES": f"{keys}"})
    ring = sealed.load_keyring(encryption_key_files(settings, before))
    assert set(ring) == {sealed.encryption_kid(old.public_key), sealed.encryption_kid(new.public_key)}
    # 2. the new public key is listed first, the file deployed: senders seal for the new key
    overlap = federation(tmp_path, "overlap", signing=[(ODL_SIGNING, None)], encryption=[(new, None), (old, None)])
    assert overlap.get("odl").encryption_public_key == sealed.public_key_b64(new)
    sealed_new = sealed.seal({"name": "Uusi Henkilö"}, overlap.get("odl").encryption_public_key)
    assert sealed.sealed_for(sealed_new) == sealed.encryption_kid(new.public_key)
    # both open during the overlap
    assert sealed.open_sealed(sealed_old, ring) == {"name": "Testi Henkilö"}
    assert sealed.open_sealed(sealed_new, ring) == {"name": "Uusi Henkilö"}

    # 3. after the window the old private key goes: what was sealed for it no longer opens, with the reason
    (keys / "2026-01.x25519").unlink()
    ring = sealed.load_keyring(encryption_key_files(settings, overlap))
    assert sealed.open_sealed(sealed_new, ring) == {"name": "Uusi Henkilö"}
    with pytest.raises(sealed.SealedError, match=f"sealed for encryption key {sealed.encryption_kid(old.public_key)}"
                                                 ", which this instance does not hold"):
        sealed.open_sealed(sealed_old, ring)


def test_senders_do_not_seal_for_an_encryption_key_past_its_not_after(tmp_path):
    old, new = sealed.generate_key(tmp_path / "old.x25519"), sealed.generate_key(tmp_path / "new.x25519")
    past = (datetime.now(timezone.utc) - timedelta(days=1)).isoformat()
    fed = federation(tmp_path, "cut", signing=[(ODL_SIGNING, None)], encryption=[(old, past), (new, None)])
    assert fed.get("odl").encryption_public_key == sealed.public_key_b64(new)


def test_a_federation_entry_whose_kid_is_not_its_keys_is_refused_at_load(tmp_path):
    raw = yaml.safe_load(yaml.safe_dump(FEDERATION))
    raw["organisations"]["odl"]["signing_keys"][0]["kid"] = "ed25519-0000000000000000"
    path = tmp_path / "federation.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError, match="that public key's kid is 'ed25519-79d593e8cfbe4d15'"):
        Federation.load(path)


def test_the_demo_federation_states_the_kid_of_every_key():
    for org_id, org in FEDERATION["organisations"].items():
        entries = org["signing_keys"] + org["encryption_keys"]
        assert entries and all("kid" in e for e in entries), org_id  # Federation.load checks each against its key


def test_a_sealed_payload_without_a_key_id_is_refused():
    import base64

    from nacl.public import PrivateKey, SealedBox
    key = PrivateKey.generate()
    legacy = base64.b64encode(SealedBox(key.public_key).encrypt(b"{}")).decode()  # the format before key ids
    with pytest.raises(sealed.SealedError, match="no encryption key id"):
        sealed.open_sealed(legacy, key)


@pytest.mark.parametrize("command", ["generate", "generate-encryption"])
def test_the_keys_command_prints_the_federation_entry_of_a_new_key(tmp_path, capsys, command):
    from services.kernel import keys
    assert keys.main([command, str(tmp_path / "k")]) == 0
    entry = yaml.safe_load(capsys.readouterr().out)[0]
    if command == "generate":
        assert entry == {"kid": signing_kid(load_private_key(tmp_path / "k")),
                         "public_key": public_key_b64(load_private_key(tmp_path / "k"))}
    else:
        key = sealed.load_private_key(tmp_path / "k")
        assert entry == {"kid": sealed.encryption_kid(key.public_key), "public_key": sealed.public_key_b64(key)}
    assert (tmp_path / "k").stat().st_mode & 0o077 == 0  # private to its owner
