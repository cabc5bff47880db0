"""Catalogue: "Löydä oma palvelusi" — each organisation publishes its services; every
instance keeps a read model of the whole federation's offer.

    publishing/   the organisation's own services and locations (domain, use cases, API, repository)
    directory/    the federation's read model: the events that feed it, its rows, its search
    hsds/         the directory as HSDS 3.0 (API, tabular export) and the import of HSDS packages
    profile/      the Finnish profile of HSDS: taxonomies, term ids, labels
    web/          the public pages
"""
from pathlib import Path

from services.kernel.db import UnitOfWork
from services.kernel.worker import ServiceDefinition

from .directory.handlers import handlers
from .directory.repository import Directory
from .publishing.repository import Locations, Services


class CatalogueUnitOfWork(UnitOfWork):
    def on_enter(self):
        self.services = Services(self.conn, self.org_id)
        self.locations = Locations(self.conn, self.org_id)
        self.directory = Directory(self.conn)


DEFINITION = ServiceDefinition("catalogue", CatalogueUnitOfWork, Path(__file__).parent / "migrations", handlers)
