"""Reporting's domain is the indicator maths: counts, suppression of small counts, and who sees which rows."""
from __future__ import annotations

from services.kernel.errors import Forbidden

SUPPRESSION_THRESHOLD = 5  # counts 1..4 of people-related facts are shown as "<5"
# Every event is about people (a referral, a consent, an encounter each concern a young person) except
# the catalogue's, which are about services: a new kind of event is suppressed until it is named here.
NOT_ABOUT_PEOPLE = ("catalogue.",)

REGION_WIDE_ROLES = {"coordinator", "admin"}   # the region's coordinator (and the instance's admin)
ORGANISATION_ROLES = {"manager"}               # an organisation's manager: that organisation's rows only


def suppress(count: int, threshold: int = SUPPRESSION_THRESHOLD) -> int | str:
    """Small counts could identify a young person in a small organisation."""
    return f"<{threshold}" if 0 < count < threshold else count


def about_people(name: str) -> bool:
    return not name.startswith(NOT_ABOUT_PEOPLE)


def shown(name: str, count: int) -> int | str:
    """A count as reporting may show it: suppressed when it counts people."""
    return suppress(count) if about_people(name) else count


def event_name(event_type: str) -> str:
    """fi.yhdistamo.referral.requested.v1 -> referral.requested"""
    return event_type.removeprefix("fi.yhdistamo.").rsplit(".v", 1)[0]


def viewer_scope(role: str, member_org: str | None) -> str | None:
    """Whose rows a user of reporting sees: None for the whole region, else the one organisation's id."""
    if role in REGION_WIDE_ROLES:
        return None
    if role in ORGANISATION_ROLES and member_org:
        return member_org
    if role in ORGANISATION_ROLES:
        raise Forbidden("This manager is not assigned to an organisation at reporting.", code="no-organisation")
    raise Forbidden(f"Role '{role}' does not see reporting; a coordinator or an organisation's manager does.")


def count_table(rows: list[dict], org: str | None = None) -> dict:
    """{org: {event name: shown count}} with people-related counts suppressed; `org`: only its rows."""
    totals: dict[str, dict[str, int]] = {}
    for r in rows:
        if org is None or r["org_id"] == org:
            by_name = totals.setdefault(r["org_id"], {})
            name = event_name(r["event_type"])
            by_name[name] = by_name.get(name, 0) + r["count"]   # versions of one event add up
    return {o: {name: shown(name, n) for name, n in counts.items()} for o, counts in totals.items()}


def region_table(rows: list[dict]) -> dict:
    """{event name: shown count} over the whole region: the public aggregate, suppressed like the rest."""
    totals: dict[str, int] = {}
    for r in rows:
        name = event_name(r["event_type"])
        totals[name] = totals.get(name, 0) + r["count"]
    return {name: shown(name, n) for name, n in sorted(totals.items())}
