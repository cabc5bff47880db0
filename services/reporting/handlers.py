"""Reporting counts every federation event it may see, per organisation and type."""
from services.kernel.consumer import Handlers

handlers = Handlers()
COUNTED = (
    "fi.yhdistamo.catalogue.service-published.v1",
    "fi.yhdistamo.catalogue.service-withdrawn.v1",
    "fi.yhdistamo.referral.requested.v1",
    "fi.yhdistamo.referral.received.v1",
    "fi.yhdistamo.attendance.encounter-recorded.v1",
)


def count(uow, event):
    uow.counts.increment(event.org, event.type, event.time)


for _type in COUNTED:
    handlers.on(_type)(count)
