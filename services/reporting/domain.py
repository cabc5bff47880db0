"""Reporting's domain is the indicator maths: counts, suppression of small counts, who sees which
rows, and the second pseudonym under which reporting alone recognises a young person across
organisations."""
from __future__ import annotations

import hashlib
import hmac
import re

from services.kernel.errors import Forbidden, Rejected

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
    """fi.yhdistamo.referral.requested.v2 -> referral.requested"""
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


PUBLIC_STEP = 5  # public people totals move in steps of five


def public_total(name: str, count: int) -> int | str:
    """A region total as anyone may see it: a people-related one 1–4 as "<5", and from 5 up rounded down to
    a multiple of five. Exact public totals would undo the suppression: an organisation's manager, knowing
    its own exact count, would subtract it from the region's and learn the small count of the rest, and
    anyone polling the public view would see each single new referral or encounter."""
    if not about_people(name) or count == 0:
        return count
    return suppress(count) if count < SUPPRESSION_THRESHOLD else count - count % PUBLIC_STEP


def region_table(rows: list[dict]) -> dict:
    """{event name: shown count} over the whole region: the public aggregate (see `public_total`)."""
    totals: dict[str, int] = {}
    for r in rows:
        name = event_name(r["event_type"])
        totals[name] = totals.get(name, 0) + r["count"]
    return {name: public_total(name, n) for name, n in sorted(totals.items())}


PATHWAY_KEY = re.compile(r"^pk1-[0-9a-f]{40}$")


def person_key(opened, *, referral_id: str, signer: str, to_org: str) -> str:
    """The pathway key in the box a member sealed for reporting, if the box is bound to this event (its
    referral, signed by its sender, to its receiver); otherwise Rejected: a box copied from another event
    would count a person where they never were."""
    expected = {"referral_id": referral_id, "from_org": signer, "to_org": to_org}
    bound = opened.get("bound") if isinstance(opened, dict) else None
    if bound != expected:
        got = {k: bound.get(k) for k in expected} if isinstance(bound, dict) else None
        raise Rejected(f"the person sealed for reporting in referral {referral_id} is bound to {got}, "
                       f"not to {expected}")
    key = opened.get("pathway_key")
    if not isinstance(key, str) or not PATHWAY_KEY.match(key):
        raise Rejected(f"the person sealed for reporting in referral {referral_id} holds no pathway key")
    return key


def pseudonym(pathway_key: str, secret: bytes) -> str:
    """Reporting's own pseudonym of a person key (HMAC-SHA-256 under a secret only reporting holds): what
    is stored, never the pathway key, so that a member who can compute pathway keys from identity codes
    still cannot find a person in reporting's database."""
    return "rp1-" + hmac.new(secret, pathway_key.encode(), hashlib.sha256).hexdigest()[:40]


def people_table(rows: list[dict], org: str | None = None) -> dict:
    """Young people referred, each counted once across organisations, and per referring organisation;
    1–4 shown as "<5". `org`: only the people that organisation referred."""
    rows = [r for r in rows if org is None or r["org_id"] == org]
    total = len({r["pseudonym"] for r in rows})
    per_org: dict[str, int] = {}
    for r in rows:
        per_org[r["org_id"]] = per_org.get(r["org_id"], 0) + 1
    return {"people": suppress(total), "by_org": {org: suppress(n) for org, n in sorted(per_org.items())}}
