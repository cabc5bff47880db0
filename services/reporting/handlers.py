"""Reporting counts every contracted federation event, per organisation and type, and each young person
referred once across organisations (under its own pseudonym, never the pathway key)."""
from services.kernel.config import PROJECT_ROOT
from services.kernel.consumer import Handlers
from services.kernel.contracts import registry
from services.kernel.errors import Rejected
from services.kernel.sealed import SealedError, open_sealed

from .domain import person_key, pseudonym

handlers = Handlers()


def count(uow, event):
    uow.counts.increment(event.org, event.type, event.time)


for _contract in registry(str(PROJECT_ROOT / "contracts")):
    handlers.on(_contract.type)(count)


@handlers.on("fi.yhdistamo.referral.requested.v2")
def referral_requested(uow, event):
    """Open the person sealed for reporting, check its binding, and keep only reporting's own pseudonym."""
    count(uow, event)
    d, ctx = event.data, uow.ctx
    if not ctx.encryption_keys or ctx.pseudonym_secret is None:
        raise RuntimeError("reporting needs ENCRYPTION_KEY_FILE and REPORTING_PSEUDONYM_SECRET_FILE")
    try:
        opened = open_sealed(d["person"], ctx.encryption_keys)
    except SealedError as e:  # not sealed for reporting's key: no retry opens it
        raise Rejected(f"referral {d['referral_id']}: the person box: {e}") from None
    key = person_key(opened, referral_id=d["referral_id"], signer=event.org, to_org=d["to_org"])
    uow.people.seen(pseudonym(key, ctx.pseudonym_secret), event.org, event.time)
