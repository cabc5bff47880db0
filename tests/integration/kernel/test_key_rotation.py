"""A signing key rotation on a real broker and real databases, as the README's procedure has it: the new key is
added to the federation file (first) and deployed, the producer switches to it, and after the window the old key
is removed; the consumer then parks what the old key signed, with the reason."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest
import yaml
from sqlalchemy import select

from services import attendance, reporting
from services.attendance import service as attendance_service
from services.kernel.auth import Actor, Role
from services.kernel.config import PROJECT_ROOT
from services.kernel.keys import generate, public_key_b64, signing_kid
from services.kernel.tables import inbox, outbox
from services.kernel.worker import context_for
from tests.integration.kernel.test_replay import parked
from tests.support.instances import Instance, make_instance

pytestmark = pytest.mark.integration
ODL = Actor("caseworker@odl", "Demo", Role.CASEWORKER, "odl")


def federation_file(tmp_path, name: str, keys: list) -> str:
    """The demo federation with odl's signing keys replaced by `keys`."""
    raw = yaml.safe_load((PROJECT_ROOT / "deploy" / "federation.yaml").read_text(encoding="utf-8"))
    raw["organisations"]["odl"]["signing_keys"] = [{"kid": signing_kid(k), "public_key": public_key_b64(k)}
                                                   for k in keys]
    path = tmp_path / f"federation-{name}.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def started(kafka, topic_prefix):
    """Factory: an instance on database `url` with these settings; (re)starting one is making another."""
    made = []

    def start(defn, org, url, **settings) -> Instance:
        base = make_instance(defn, org, url, kafka.bootstrap, topic_prefix)
        base.close()
        inst = Instance(defn, context_for(defn, dataclasses.replace(base.ctx.settings, **settings)))
        made.append(inst)
        return inst
    yield start
    for inst in made:
        inst.close()


def record(inst) -> str:
    e = attendance_service.record_encounter(inst.ctx.uow, ODL, {"kind": "drop-in", "count": 2,
                                            "occurred_at": datetime.now(timezone.utc) - timedelta(hours=1)})[0]
    assert inst.publish() == 1
    with inst.ctx.engine.connect() as c:
        return c.execute(select(outbox.c.event_id).order_by(outbox.c.seq.desc()).limit(1)).scalar()


def kid_of(inst, event_id) -> str:
    with inst.ctx.engine.connect() as c:
        headers = c.execute(select(outbox.c.headers).where(outbox.c.event_id == event_id)).scalar()
    return dict(headers)["ce_signaturekid"]


def applied(inst, event_id) -> bool:
    with inst.ctx.engine.connect() as c:
        return c.execute(select(inbox.c.event_id).where(inbox.c.event_id == event_id)).first() is not None


def parked_here(inst, event_id) -> bool:
    """The instance has staged the event's record for its dead-letter topic (in its consumer's transaction)."""
    with inst.ctx.engine.connect() as c:
        rows = c.execute(select(outbox.c.headers).where(outbox.c.topic.like("%.DLT"))).scalars()
        return any(dict(h).get("ce_id") == event_id for h in rows)


def test_a_signing_key_rotation_with_the_overlap_and_the_removal(tmp_path, new_database, started, kafka):
    old_file, new_file = tmp_path / "odl-old.pem", tmp_path / "odl-new.pem"
    old, new = generate(old_file), generate(new_file)
    before = federation_file(tmp_path, "before", [old])
    overlap = federation_file(tmp_path, "overlap", [new, old])
    after = federation_file(tmp_path, "after", [new])
    odl_db, region_db = new_database("odl_attendance"), new_database("region_reporting")

    odl = started(attendance.DEFINITION, "odl", odl_db, federation_file=before, signing_key_file=old_file)
    region = started(reporting.DEFINITION, "region", region_db, federation_file=before)
    signed_old = record(odl)
    region.consume_until(lambda: applied(region, signed_old))

    # 1–2. the new key is added (first) and the file deployed everywhere: every instance restarts with it
    region.close()
    region = started(reporting.DEFINITION, "region", region_db, federation_file=overlap)
    still_old = record(odl)  # not switched yet: still signs with the old key, which still verifies
    region.consume_until(lambda: applied(region, still_old))
    # 3. odl switches its instances to the new key: its events name the new kid
    odl.close()
    odl = started(attendance.DEFINITION, "odl", odl_db, federation_file=overlap, signing_key_file=new_file)
    signed_new = record(odl)
    assert (kid_of(odl, signed_old), kid_of(odl, signed_new)) == (signing_kid(old), signing_kid(new))
    region.consume_until(lambda: applied(region, signed_new))

    # 4. after the window the old key is removed everywhere: an event it signed (here: one the old key still
    # signs, as a stolen key would) is parked with the reason; the new key's events go on
    region.close()
    region = started(reporting.DEFINITION, "region", region_db, federation_file=after)
    thief = started(attendance.DEFINITION, "odl", new_database("thief"), federation_file=overlap,
                    signing_key_file=old_file)
    stolen = record(thief)
    later = record(odl)
    region.consume_until(lambda: applied(region, later) and parked_here(region, stolen))  # two partitions: both
    assert not applied(region, stolen)
    region.publish()
    topic = region.topic("yhd.attendance")
    reasons = [h["dlt_error"] for h in parked(kafka.bootstrap, topic, region.ctx.settings.consumer_group).values()]
    assert any(f"signing key '{signing_kid(old)}' is not a key of organisation 'odl'" in r for r in reasons), reasons


def test_the_compacted_catalogue_is_announced_again_before_the_old_key_goes(tmp_path, new_database, started):
    """Catalogue records stay on the compacted topic for good: before the old key is removed, the organisation
    announces its public services again with the new key, so a member joining after the removal still learns
    them (the old key's records it parks), and a member that has them changes nothing."""
    from services import catalogue
    from services.catalogue.publishing import service as catalogue_service
    from tests.integration.kernel.test_replay import directory_row
    from tests.support.catalogue import publish_service
    editor = Actor("editor@odl", "Demo", Role.MANAGER, "odl")
    old_file, new_file = tmp_path / "odl-old.pem", tmp_path / "odl-new.pem"
    old, new = generate(old_file), generate(new_file)
    overlap = federation_file(tmp_path, "overlap", [new, old])
    after = federation_file(tmp_path, "after", [new])
    odl_db = new_database("odl_catalogue")

    odl = started(catalogue.DEFINITION, "odl", odl_db, federation_file=overlap, signing_key_file=old_file)
    s = publish_service(odl.ctx.uow, editor, "Velkaneuvonta")
    odl.publish()
    member = started(catalogue.DEFINITION, "oulu-social", new_database("social"), federation_file=overlap)
    member.consume_until(lambda: directory_row(member, s.id) == ("odl", "Velkaneuvonta", 1))
    odl.close()
    odl = started(catalogue.DEFINITION, "odl", odl_db, federation_file=overlap, signing_key_file=new_file)
    assert catalogue_service.reannounce(odl.ctx.uow) == 1
    odl.publish()
    marker = publish_service(odl.ctx.uow, editor, "Ruoka-apu")  # after the re-announcement on the log
    odl.publish()
    member.consume_until(lambda: directory_row(member, marker.id))
    assert tuple(directory_row(member, s.id)) == ("odl", "Velkaneuvonta", 1)  # the same version: nothing changes

    late = started(catalogue.DEFINITION, "oulu-parish", new_database("late"), federation_file=after)
    late.consume_until(lambda: directory_row(late, marker.id))
    assert tuple(directory_row(late, s.id)) == ("odl", "Velkaneuvonta", 1)
