"""Referrals: caseworkers send a client's referral to another organisation's service."""
import os
from pathlib import Path

from services.kernel.worker import Job, ServiceDefinition

from .handlers import handlers
from .repositories import ReferralsUnitOfWork


def _escalate(ctx):
    from .service import escalate_unanswered
    return escalate_unanswered(ctx.uow, ctx.settings.org_id, int(os.environ.get("REFERRAL_ESCALATION_WORKING_DAYS", 3)))


def _expire(ctx):
    from .service import announce_expired_consents
    return announce_expired_consents(ctx.uow, ctx.settings.org_id)


DEFINITION = ServiceDefinition("referrals", ReferralsUnitOfWork, Path(__file__).parent / "migrations", handlers,
                               jobs=(Job("escalate-unanswered", 300, _escalate),
                                     Job("announce-expired-consents", 300, _expire)))
