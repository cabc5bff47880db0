"""Catalogue: "Löydä oma palvelusi" — each organisation publishes its services; every
instance keeps a read model of the whole federation's offer."""
from pathlib import Path

from services.kernel.worker import ServiceDefinition

from .handlers import handlers
from .repositories import CatalogueUnitOfWork

DEFINITION = ServiceDefinition("catalogue", CatalogueUnitOfWork, Path(__file__).parent / "migrations", handlers)
