"""Reporting: regional indicators for managers and funders, from the federation's events."""
from pathlib import Path

from services.kernel.worker import ServiceDefinition

from .handlers import handlers
from .repositories import ReportingUnitOfWork

DEFINITION = ServiceDefinition("reporting", ReportingUnitOfWork, Path(__file__).parent / "migrations", handlers)
