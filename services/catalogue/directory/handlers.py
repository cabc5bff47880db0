"""The federation read model: every organisation's catalogue events, with provenance."""
from services.kernel.consumer import Handlers

handlers = Handlers()


@handlers.on("fi.yhdistamo.catalogue.service-published.v2")
def service_published(uow, event):
    uow.directory.apply_published(event.data, event.id)


@handlers.on("fi.yhdistamo.catalogue.service-withdrawn.v1")
def service_withdrawn(uow, event):
    uow.directory.apply_withdrawn(event.data, event.id)
