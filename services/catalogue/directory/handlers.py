"""The federation read model: every organisation's catalogue events, with provenance."""
from services.kernel.consumer import Handlers
from services.kernel.events import keyed_by

handlers = Handlers()


@handlers.on("fi.yhdistamo.catalogue.service-published.v2")
def service_published(uow, event):
    keyed_by(event, "service_id")
    uow.directory.apply_published(event.data, event.id)


@handlers.on("fi.yhdistamo.catalogue.service-withdrawn.v1")
def service_withdrawn(uow, event):
    keyed_by(event, "service_id")
    uow.directory.apply_withdrawn(event.data, event.id)
