"""Referrals: caseworkers send a client's referral to another organisation's service."""
from pathlib import Path

from services.kernel.worker import ServiceDefinition

from .handlers import handlers
from .uow import ReferralsUnitOfWork

DEFINITION = ServiceDefinition("referrals", ReferralsUnitOfWork, Path(__file__).parent / "migrations", handlers)
