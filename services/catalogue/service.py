"""Catalogue use cases: one function per user action, each one transaction."""
from services.kernel.auth import Actor

from .domain import CatalogueService

PUBLISHED, WITHDRAWN = "catalogue.service-published", "catalogue.service-withdrawn"


def publish_service(uow_factory, actor: Actor, name: dict, description: dict | None, category: str | None):
    with uow_factory() as uow:
        s = CatalogueService.create(actor.org_id, name, description, category)
        uow.services.add(s)
        uow.outbox.add(PUBLISHED, str(s.id), s.published_event())
        uow.commit()
    return s


def withdraw_service(uow_factory, actor: Actor, service_id):
    with uow_factory() as uow:
        s = uow.services.get(service_id)
        s.withdraw()
        uow.services.save(s)
        uow.outbox.add(WITHDRAWN, str(s.id), s.withdrawn_event())
        uow.commit()
    return s


def own_services(uow_factory):
    with uow_factory() as uow:
        return uow.services.list()


def get_service(uow_factory, service_id):
    with uow_factory() as uow:
        return uow.services.get(service_id)


def directory(uow_factory):
    with uow_factory() as uow:
        return uow.directory.list()
