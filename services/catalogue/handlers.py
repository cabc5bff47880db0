"""The federation read model: every organisation's catalogue events, with provenance."""
from services.kernel.consumer import Handlers

handlers = Handlers()


@handlers.on("fi.yhdistamo.catalogue.service-published.v1")
def service_published(uow, event):
    d = event.data
    uow.directory.apply(dict(service_id=d["service_id"], organization_id=event.org, name=d["name"],
                             description=d.get("description", {}), category=d.get("category"),
                             status=d["status"], version=d["version"], published_at=d["published_at"],
                             source_event_id=event.id))


@handlers.on("fi.yhdistamo.catalogue.service-withdrawn.v1")
def service_withdrawn(uow, event):
    d = event.data
    uow.directory.apply(dict(service_id=d["service_id"], organization_id=event.org, name={}, description={},
                             category=None, status="withdrawn", version=d["version"],
                             published_at=d["withdrawn_at"], source_event_id=event.id))
