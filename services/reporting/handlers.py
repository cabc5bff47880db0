"""Reporting counts every contracted federation event, per organisation and type."""
from services.kernel.config import PROJECT_ROOT
from services.kernel.consumer import Handlers
from services.kernel.contracts import registry

handlers = Handlers()


def count(uow, event):
    uow.counts.increment(event.org, event.type, event.time)


for _contract in registry(str(PROJECT_ROOT / "contracts")):
    handlers.on(_contract.type)(count)
