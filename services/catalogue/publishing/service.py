"""Catalogue use cases: one function per user action, each one transaction with its events."""
from services.kernel.auth import Actor
from services.kernel.errors import Conflict

from .domain import CatalogueService, Location

PUBLISHED, WITHDRAWN = "catalogue.service-published.v2", "catalogue.service-withdrawn.v1"


def _announce(uow, s: CatalogueService, *, was_public: bool = True) -> None:
    """Stage the event that tells the federation about this version of the service (outbox);
    a draft withdrawn before it was ever published is nobody else's business."""
    if s.public:
        locations = uow.locations.many(s.location_ids)
        uow.outbox.add(PUBLISHED, s.key, s.published_event(locations))
    elif s.status == "withdrawn" and was_public:
        uow.outbox.add(WITHDRAWN, s.key, s.withdrawn_event())


def create_service(uow_factory, actor: Actor, document: dict, status: str = "active") -> CatalogueService:
    with uow_factory() as uow:
        uow.locations.many(document.get("location_ids", []))  # only the organisation's own locations
        s = CatalogueService.create(actor.org_id, document, status)
        uow.services.add(s)
        _announce(uow, s)
        uow.commit()
    return s


def update_service(uow_factory, actor: Actor, service_id, document: dict) -> CatalogueService:
    with uow_factory() as uow:
        s = uow.services.get(service_id)
        uow.locations.many(document.get("location_ids", []))
        s.update(document)
        uow.services.save(s)
        _announce(uow, s)
        uow.commit()
    return s


def change_status(uow_factory, actor: Actor, service_id, action: str, reason: dict | None = None):
    with uow_factory() as uow:
        s = uow.services.get(service_id)
        was_public = s.public
        s.transition(action, reason)
        uow.services.save(s)
        _announce(uow, s, was_public=was_public)
        uow.commit()
    return s


def own_services(uow_factory, status: str | None = None):
    with uow_factory() as uow:
        return uow.services.list(status)


def get_service(uow_factory, service_id):
    with uow_factory() as uow:
        return uow.services.get(service_id, for_update=False)


def create_location(uow_factory, actor: Actor, document: dict) -> Location:
    with uow_factory() as uow:
        loc = Location.create(actor.org_id, document)
        uow.locations.add(loc)
        uow.commit()
    return loc


def update_location(uow_factory, actor: Actor, location_id, document: dict) -> Location:
    """A changed address reaches every public service given there: each is announced again."""
    with uow_factory() as uow:
        loc = uow.locations.get(location_id)
        loc.update(document)
        uow.locations.save(loc)
        for s in uow.services.at_location(loc.id):
            if s.public:
                s.touch()
                uow.services.save(s)
                _announce(uow, s)
        uow.commit()
    return loc


def remove_location(uow_factory, actor: Actor, location_id) -> None:
    """A location no public service or draft is given at any more can go; otherwise 409 naming them."""
    with uow_factory() as uow:
        loc = uow.locations.get(location_id)
        in_use = [s for s in uow.services.at_location(loc.id) if s.status != "withdrawn"]
        if in_use:
            raise Conflict(f"Services are still given at this location: "
                           f"{', '.join(s.document['name']['fi'] for s in in_use)}.", code="location-in-use")
        uow.locations.remove(loc.id)
        uow.commit()


def own_locations(uow_factory):
    with uow_factory() as uow:
        return uow.locations.list()


def get_location(uow_factory, location_id):
    with uow_factory() as uow:
        return uow.locations.get(location_id, for_update=False)


def reannounce(uow_factory) -> int:
    """Announce every public service again, at its present version; returns how many. After a signing key
    rotation, before the old key is removed: the compacted catalogue then keeps a record of each service signed
    with the new key, for members that join later (those that hold the version already change nothing)."""
    with uow_factory() as uow:
        public = [s for s in uow.services.list() if s.public]
        for s in public:
            _announce(uow, s)
        uow.commit()
    return len(public)
