"""Which routes of the referrals app touch client data, and under which access-log action.

Every route that reads or changes a client's data is listed here; its use case writes the access-log
row in the same transaction as the read (a read whose row cannot be written returns nothing). A role
refusal of one of these routes (`requires`, before any use case runs) is written here too, in its own
transaction, naming the subject when the address names one. Routes without client data are listed in
the test that keeps this table complete (tests/integration/referrals/test_read_logging.py).
"""
from __future__ import annotations

import uuid

from flask import current_app, request

from services.kernel.auth import Actor
from services.kernel.db import log_refusal
from services.kernel.errors import Forbidden
from services.kernel.http_app import request_purpose

# endpoint -> access-log action ("{action}": the address's action, e.g. referral.accept)
ROUTE_ACTIONS = {
    "referrals.register_client": "client.create",
    "referrals.list_clients": "client.list",
    "referrals.get_client": "client.read",
    "referrals.list_consents": "consent.list",
    "referrals.record_consent": "consent.record",
    "referrals.withdraw_consent": "consent.withdraw",
    "referrals.data_report": "client.report",
    "referrals.send": "referral.send",
    "referrals.list_referrals": "referral.list",
    "referrals.get_referral": "referral.read",
    "referrals.referral_history": "referral.history.read",
    "referrals.act": "referral.{action}",
    "referrals.record_outcome": "referral.outcome",
    "referrals.inbox": "inbox.read",
    "pages.home": "page.inbox.view",
    "pages.clients": "page.clients.list",
    "pages.new_client": "client.create",
    "pages.client": "page.client.view",
    "pages.record_consent": "consent.record",
    "pages.withdraw_consent": "consent.withdraw",
    "pages.client_report": "page.client.report",
    "pages.new_referral": "page.referral.new",
    "pages.referrals": "page.referrals.list",
    "pages.referral": "page.referral.view",
    "pages.act": "referral.{action}",
    "pages.record_outcome": "referral.outcome",
}

# Every action an access-log row of this service can name (the pages translate each: access-action.*).
ACTIONS = frozenset({
    "client.create", "client.read", "client.list", "client.report",
    "consent.list", "consent.record", "consent.withdraw",
    "referral.send", "referral.read", "referral.list", "referral.history.read", "referral.outcome",
    "referral.accept", "referral.reject", "referral.start", "referral.hold", "referral.complete", "referral.fail",
    "referral.cancel", "referral.restrict", "inbox.read",
    "page.inbox.view", "page.clients.list", "page.client.view", "page.client.report", "page.referral.new",
    "page.referrals.list", "page.referral.view",
})


def subject_of_request() -> str | None:
    """Whose data the refused address is about, when it names one."""
    args = request.view_args or {}
    if "client_id" in args:
        return f"client:{args['client_id']}"
    if "referral_id" in args:
        return f"referral:{args['referral_id']}"
    try:
        return f"client:{uuid.UUID(request.args.get('client', ''))}"   # /referrals/new?client=
    except ValueError:
        return None


def log_role_refusal(actor: Actor, refusal: Forbidden) -> None:
    """`requires`' hook (auth.ON_REFUSAL): a refused attempt on client data is committed before the 403."""
    action = ROUTE_ACTIONS.get(request.endpoint)
    if action is None:
        return
    action = action.format(**{k: str(v) for k, v in (request.view_args or {}).items()})
    log_refusal(current_app.extensions["yhd"].uow, actor, subject_of_request(), action, request_purpose(),
                refusal.code)
