"""Regional reporting on real PostgreSQL and Kafka counts a young person once across organisations, under
its own pseudonym (its own module: its own topics, so it counts only the referrals sent here)."""
from __future__ import annotations

import pytest
from marshmallow import EXCLUDE
from sqlalchemy import select

from services import referrals, reporting
from services.referrals import service as rs
from services.referrals.domain.identity import pathway_key
from services.reporting import service as reporting_service
from services.reporting.domain import pseudonym
from services.reporting.tables import person_seen
from services.kernel.auth import Actor, Role
from services.referrals.schemas import ConsentIn
from tests.support.people import consent_to, synthetic_client

pytestmark = pytest.mark.integration
ODL = Actor("caseworker@odl", "Demo", Role.CASEWORKER, "odl")
PARISH = Actor("caseworker@oulu-parish", "Demo", Role.CASEWORKER, "oulu-parish")


def refer(inst, actor, target, person):
    client = rs.register_client(inst.ctx.uow, actor, person)
    rs.record_consent(inst.ctx.uow, actor, client.id, ConsentIn(unknown=EXCLUDE).load(consent_to("oulu-social")))
    return rs.send_referral(inst.ctx.uow, actor, client.id, target, None, None)


def stored(inst) -> list[tuple[str, str]]:
    with inst.ctx.engine.connect() as c:
        return [tuple(r) for r in c.execute(select(person_seen.c.pseudonym, person_seen.c.org_id))]


def test_reporting_counts_a_person_referred_by_two_organisations_once(pair, instance):
    odl, city, target = pair
    parish = instance(referrals.DEFINITION, "oulu-parish")
    region = instance(reporting.DEFINITION, "region")
    parish.consume_until(lambda: any(t["service_id"] == target for t in rs.list_targets(parish.ctx.uow)))
    people = [synthetic_client(seed=100 + i) for i in range(6)]
    for p in people[:5]:
        refer(odl, ODL, target, p)
    for p in people:  # the same five, and one more
        refer(parish, PARISH, target, p)
    odl.publish(), parish.publish()

    region.consume_until(lambda: len(stored(region)) == 11)
    assert reporting_service.people(region.ctx.uow) == {"people": 6, "by_org": {"odl": 5, "oulu-parish": 6}}
    keys = {pathway_key(p["identity_code"], odl.ctx.pathway_secret) for p in people}
    pseudonyms = {p for p, _ in stored(region)}
    assert pseudonyms == {pseudonym(k, region.ctx.pseudonym_secret) for k in keys}
    assert not pseudonyms & keys  # never the pathway key itself
    counts = reporting_service.counts(region.ctx.uow)
    assert counts["odl"]["referral.requested"] == 5 and counts["oulu-parish"]["referral.requested"] == 6
