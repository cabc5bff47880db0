import pytest

from services import catalogue, referrals
from services.kernel.auth import Actor, Role
from services.referrals import service as rs
from tests.support.catalogue import publish_service

CITY_PUBLISHER = Actor("caseworker@oulu-social", "Demo", Role.CASEWORKER, "oulu-social")


@pytest.fixture
def pair(instance):
    """ODL (sender) and the city (receiver) with a published target service: (odl, city, service id)."""
    city_cat = instance(catalogue.DEFINITION, "oulu-social")
    odl, city = instance(referrals.DEFINITION, "odl"), instance(referrals.DEFINITION, "oulu-social")
    target = publish_service(city_cat.ctx.uow, CITY_PUBLISHER, "Kuntouttava työtoiminta",
                             "rehabilitative-work-activity")
    city_cat.publish()
    odl.consume_until(lambda: any(t["service_id"] == target.id for t in rs.list_targets(odl.ctx.uow)))
    return odl, city, target.id
