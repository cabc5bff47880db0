"""Intensity and follow-up: a client in individual guidance with no contact for more than N days (default 7,
"at least weekly") is on the caseworker's list, with the sessions missed since the last contact."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from services.kernel.errors import Invalid

DEFAULT_DAYS = 7


@dataclass(frozen=True)
class Followed:
    client_id: uuid.UUID
    since: date                       # in guidance from
    worker: str | None
    last_contact: datetime | None     # the latest encounter the client attended (any kind, group sessions too)
    missed_since: int = 0             # appointments and sessions missed after it


@dataclass(frozen=True)
class Overdue:
    client: Followed
    days_without: int                 # since the last contact, or since guidance began if none yet


def check_days(days: int) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 365:
        raise Invalid("days is a whole number from 1 to 365.", code="bad-days", field="days")
    return days


def overdue(clients: list[Followed], *, today: date, days: int = DEFAULT_DAYS) -> list[Overdue]:
    """Those with more than `days` days without contact, the longest wait first."""
    check_days(days)
    out = []
    for c in clients:
        last = c.last_contact.date() if c.last_contact else c.since
        waited = (today - last).days
        if waited > days:
            out.append(Overdue(c, waited))
    return sorted(out, key=lambda o: (-o.days_without, str(o.client.client_id)))
