"""Attendance: encounters at drop-in places (often anonymous), groups, guidance and home visits."""
from pathlib import Path

from services.kernel.worker import ServiceDefinition

from .handlers import handlers
from .repositories import AttendanceUnitOfWork

DEFINITION = ServiceDefinition("attendance", AttendanceUnitOfWork, Path(__file__).parent / "migrations", handlers)
